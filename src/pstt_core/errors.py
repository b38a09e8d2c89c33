"""Exceptions that carry enough context for a user to fix the problem."""

from __future__ import annotations

from typing import Any


class PsttError(Exception):
    """Base class of every error PSTT raises on purpose."""


class ConfigError(PsttError):
    """Bad configuration: says which file, which JSON path and what is wrong."""

    def __init__(self, message: str, *, file: str | None = None, path: str | None = None,
                 problems: list[tuple[str | None, str]] | None = None):
        self.message = message
        self.file = file
        self.path = path
        # Every problem found, as (JSON path, message): a form shows each next to its field.
        self.problems = problems or [(path, message)]
        super().__init__(self.__str__())

    def __str__(self) -> str:
        where = ""
        if self.file:
            where = str(self.file)
        if self.path:
            where = f"{where} at {self.path}" if where else self.path
        return f"{where}: {self.message}" if where else self.message

    def to_dict(self) -> dict[str, str | None]:
        return {"error": str(self), "file": self.file, "path": self.path}

    @classmethod
    def collect(cls, problems: list[tuple[str | None, str]], *,
                file: str | None = None) -> ConfigError:
        """One error for several problems: the first names its path, the message counts the
        rest (``… (and 2 more problem(s): $.a: …; $.b: …)``), ``problems`` holds them all."""
        (path, message), rest = problems[0], problems[1:]
        if rest:
            message += f" (and {len(rest)} more problem(s): " + "; ".join(
                f"{p}: {m}" if p else m for p, m in rest) + ")"
        return cls(message, file=file, path=path, problems=list(problems))


class NotFoundError(PsttError):
    """A named thing (schedule, connection, sink) does not exist."""


class ConflictError(PsttError):
    """The request conflicts with current state (e.g. a schedule is already running)."""


class StateUnavailableError(PsttError):
    """The state database cannot be reached (or refused the operation): nothing that needs
    it was done — a run is not started, a change not made."""


class SinkError(PsttError):
    """A sink could not deliver. ``transient`` says whether a retry may help."""

    def __init__(self, message: str, *, transient: bool = False):
        self.transient = transient
        super().__init__(message)


class StateFileError(ConfigError):
    """A state file (history, counters, schedules, a plugin's file) cannot be understood.

    It is never rewritten or reset: what reads it fails with this error until the user
    repairs it (``pstt state repair FILE``).
    """

    def __str__(self) -> str:
        return f"{super().__str__()} (the file is left as it is; see `pstt state repair`)"


class RecordNotWrittenError(PsttError):
    """A run finished (or was refused) but its record could not be written to the history.

    :param record: the run's record (a ``RunRecord``).
    :param kept_at: where the record was kept instead; it is added to the history as soon
        as the history can be written again.
    """

    def __init__(self, message: str, *, record: Any, kept_at: str | None):
        self.record = record
        self.kept_at = kept_at
        super().__init__(message)
