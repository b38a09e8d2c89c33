"""The home directory layout (SPEC §2)."""

from __future__ import annotations

import os
from pathlib import Path

import attrs


@attrs.frozen
class Home:
    root: Path

    @classmethod
    def resolve(cls, path: str | os.PathLike[str] | None = None) -> Home:
        """``path``, else ``$PSTT_HOME``, else the current directory."""
        chosen = path or os.environ.get("PSTT_HOME") or os.getcwd()
        return cls(Path(chosen).expanduser().resolve())

    @property
    def connections(self) -> Path:
        return self.root / "connections.json"

    @property
    def dotenv(self) -> Path:
        return self.root / ".env"

    @property
    def exports(self) -> Path:
        return self.root / "exports"

    @property
    def schedules(self) -> Path:
        return self.exports / "schedules.json"

    @property
    def history(self) -> Path:
        return self.exports / "scheduler_history.json"

    @property
    def scheduler_metrics(self) -> Path:
        return self.exports / "scheduler_metrics.json"

    @property
    def watermarks(self) -> Path:
        return self.exports / "watermarks.json"

    @property
    def instances(self) -> Path:
        """The scheduler processes' heartbeats (:mod:`pstt_core.presence`)."""
        return self.exports / "instances.json"

    @property
    def state_files(self) -> tuple[Path, ...]:
        """The core's state files (plugins add theirs, see ``Pstt.state_files``); the run
        journal and the locks are directories, see :attr:`private_dirs`."""
        return (self.schedules, self.history, self.scheduler_metrics, self.watermarks,
                self.instances)

    @property
    def journal(self) -> Path:
        """Records of runs in progress, and final records the history could not take yet.

        Beside the history it stands in for, inside ``exports/``: the upgrade procedure users
        follow (the release notes' ``robocopy /MIR … /XD .venv exports logs``, the
        ``rsync --delete`` of docs/DEPLOYMENT.md) keeps ``exports/`` and would delete a
        directory of its own at the home root, and with it records that exist nowhere else.
        """
        return self.exports / ".journal"

    @property
    def claims(self) -> Path:
        """Fire claims of the files backend (see :mod:`pstt_core.claims`)."""
        return self.locks / "claims"

    @property
    def logs(self) -> Path:
        return self.root / "logs"

    @property
    def locks(self) -> Path:
        """Lock files (state-file updates, running schedules); kept out of the export root."""
        return self.root / ".locks"

    @property
    def private_dirs(self) -> tuple[Path, ...]:
        """Directories that hold PSTT's own bookkeeping: no sink may write into them."""
        return (self.journal, self.locks)
