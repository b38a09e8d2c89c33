"""Shared CLI helpers: the facade from the context, and error → exit code translation."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import click

from ..errors import ConfigError, ConflictError, NotFoundError, PsttError, RecordNotWrittenError

if TYPE_CHECKING:
    from ..facade import Pstt

EXIT_OK, EXIT_FAILED, EXIT_CONFIG, EXIT_CONFLICT = 0, 1, 2, 3
# The run ended but its record is not in the history yet (kept in the run journal).
EXIT_UNRECORDED = 4


def get_pstt(ctx: click.Context | None = None, *, logs: bool = False,
             lenient_env: bool = False, **kwargs: Any) -> Pstt:
    """The :class:`~pstt_core.Pstt` for ``--home``, created once per invocation and closed
    when the command ends (whatever a command opened through it is released).

    The home must exist and hold ``connections.json`` (``pstt init`` makes one). Commands
    write no log file unless they ask for one (``run`` and ``serve`` do), so a command that
    only reads creates no file or directory.

    :param lenient_env: missing ``${VAR}``s of ``connections.json`` are printed as a warning
        instead of stopping the command (for commands that connect to nothing).
    """
    ctx = ctx or click.get_current_context()
    root = ctx.find_root()
    root.ensure_object(dict)
    if "pstt" not in root.obj:
        from ..facade import Pstt

        home = require_home(root.obj.get("home"))
        pstt = Pstt(home.root, logs=logs, lenient_env=lenient_env, **kwargs)
        if pstt.config.missing:
            from ..envsubst import missing_error

            click.echo(f"warning: {missing_error(pstt.config.missing, pstt.config.file)}; "
                       "commands that connect to a database or server refuse to run until "
                       "they are set", err=True)
        root.obj["pstt"] = pstt
        root.call_on_close(pstt.close)
    return root.obj["pstt"]


def require_home(path: str | None) -> Any:
    """The :class:`~pstt_core.home.Home` for ``path`` if it is one (has ``connections.json``),
    else a ConfigError telling how to make it one."""
    from ..home import Home

    home = Home.resolve(path)
    if not home.connections.is_file():
        why = "does not exist" if not home.root.exists() else "has no connections.json"
        raise ConfigError(f"not a PSTT home: {home.root} {why}; run "
                          f"`pstt --home {home.root} init` to create one")
    return home


def echo_json(data: Any) -> None:
    """``--json`` output: indented, with dates and other values as text."""
    import json

    click.echo(json.dumps(data, indent=2, default=str))


@contextlib.contextmanager
def cli_errors() -> Iterator[None]:
    """Print PSTT errors as one line on stderr with a meaningful exit code, no traceback."""
    try:
        yield
    except PsttError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(_exit_code(exc))
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)


def _exit_code(exc: PsttError) -> int:
    if isinstance(exc, (ConfigError, NotFoundError)):
        return EXIT_CONFIG
    if isinstance(exc, ConflictError):
        return EXIT_CONFLICT
    if isinstance(exc, RecordNotWrittenError):
        return EXIT_UNRECORDED
    return EXIT_FAILED


def echo_table(headers: list[str], rows: list[list[str]]) -> None:
    """A plain-text table: a header line, then one line per row, columns padded to fit."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)]
    for line in (headers, *rows):
        click.echo("  ".join(str(cell).ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip())
