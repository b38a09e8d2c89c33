"""Settings from the environment and ``.env``: one declarative table, core and plugins alike.

Each setting is a :class:`Setting` (name, type, default, allowed values, description). The
core declares the ``PSTT_*`` ones below; plugins add theirs through the ``register_settings``
hook. Values come from the process environment first, then from ``<home>/.env``. A bad value
is a :class:`ConfigError` that names the variable and what it accepts.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import attrs
from dotenv import dotenv_values

from .errors import ConfigError
from .values import parse_bool


@attrs.frozen
class Setting:
    name: str
    type: type | str  # str, int, float, bool, or "choice"
    default: Any
    description: str
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None
    secret: bool = False
    group: str = "core"
    # Maps equivalent spellings onto one canonical value (e.g. KAFKA_ACKS "-1" → "all").
    aliases: Mapping[str, str] = attrs.field(factory=dict)

    def parse(self, raw: str, source: str) -> Any:
        """The typed value of ``raw``; ``source`` ("environment" or the .env path) is named
        in the error together with the variable and what it accepts."""
        text = raw.strip()

        def bad(problem: str) -> ConfigError:
            return ConfigError(f"{self.name}={raw!r} {problem}", file=source)

        if self.type == "choice":
            value = self.aliases.get(text.lower(), text.lower())
            if value not in self.choices:
                raise bad(f"is not allowed; use one of: {', '.join(self.choices)}")
            return value
        if self.type is bool:
            flag = parse_bool(text)
            if flag is None:
                raise bad("is not a boolean; use true or false")
            return flag
        if self.type in (int, float):
            try:
                number = self.type(text)
            except ValueError:
                raise bad("is not " + ("a whole number" if self.type is int else "a number")) from None
            if self.minimum is not None and number < self.minimum:
                raise bad(f"is below the minimum {self.minimum:g}")
            if self.maximum is not None and number > self.maximum:
                raise bad(f"is above the maximum {self.maximum:g}")
            return number
        return text


CORE_SETTINGS: tuple[Setting, ...] = (
    Setting("PSTT_HOME", str, "", "Home directory (connections.json, exports/, logs/). Default: the current directory."),
    Setting("PSTT_HOST", str, "127.0.0.1", "Address `pstt serve` binds to. A non-loopback address requires PSTT_API_TOKEN."),
    Setting("PSTT_ALLOWED_HOSTS", str, "", "Comma-separated extra host names the service answers to (the public name behind a reverse proxy; `.example.com` allows its sub-domains; `*` turns the Host check off). localhost, 127.0.0.1, [::1] and the bind address are always allowed; any other Host gets 400."),
    Setting("PSTT_PORT", int, 8000, "Port `pstt serve` listens on.", minimum=1, maximum=65535),
    Setting("PSTT_API_TOKEN", str, "", "Bearer token for the API and password of the login page. Empty: no authentication (loopback only).", secret=True),
    Setting("PSTT_SECRET_KEY", str, "", "Key that signs session cookies. Empty: derived from PSTT_API_TOKEN.", secret=True),
    Setting("PSTT_LOG_LEVEL", "choice", "info", "Minimum level written to logs/app_YYYYMMDD.log.", choices=("debug", "info", "warning", "error")),
    Setting("PSTT_LOG_RETENTION_DAYS", int, 30, "Daily log files older than this are deleted.", minimum=1),
    Setting("PSTT_EXPORT_ROOT", str, "", "Directory sinks write files under (default: <home>/exports); the filesystem sink refuses paths escaping it. A relative path is relative to the home."),
    Setting("PSTT_HISTORY_MAX_RECORDS", int, 10000, "Run records kept in exports/scheduler_history.json (oldest dropped first).", minimum=10),
    Setting("PSTT_DEFAULT_BATCH_SIZE", int, 10000, "Rows fetched from the database per batch when a schedule sets none.", minimum=1, maximum=1_000_000),
    Setting("PSTT_COLUMNAR", "choice", "auto", "auto: runs the columnar path can serve read Arrow batches (needs pstt[fast]; SQLite, PostgreSQL; see docs/FILESYSTEM.md); off: every run takes the row path.", choices=("auto", "off")),
    Setting("PSTT_RUN_TIMEOUT_SEC", float, 0.0, "Default run timeout in seconds; 0 disables it. A schedule's timeout_sec overrides it.", minimum=0),
    Setting("PSTT_MAX_CONCURRENT_RUNS", int, 4, "Runs executed at the same time (scheduler worker threads).", minimum=1, maximum=64),
    Setting("PSTT_SCHEDULES_RELOAD_SEC", int, 5, "How often the scheduler checks exports/schedules.json for hand edits (seconds; 0 disables).", minimum=0, maximum=3600),
    Setting("PSTT_STALENESS_CHECK_SEC", int, 30, "How often the scheduler checks schedules with max_staleness_sec for a last success that is too old (seconds; 0 disables the watchdog).", minimum=0, maximum=3600),
    Setting("PSTT_MISFIRE_GRACE_SEC", int, 300, "Default misfire grace time for schedules that set none.", minimum=1),
    Setting("PSTT_MAX_REQUEST_BYTES", int, 1_048_576, "Largest HTTP request body accepted.", minimum=1024),
    Setting("PSTT_HEALTH_CACHE_SEC", int, 15, "How long GET /api/health (and the status page) and GET /api/kafka/health reuse the result of their health checks, which connect to every database and broker; concurrent callers share one run of the checks. 0: run them for every call (one at a time).", minimum=0, maximum=3600),
    Setting("PSTT_DISABLED_PLUGINS", str, "", "Comma-separated plugin names not to load."),
    Setting("PSTT_DISPLAY_TIMEZONE", str, "", "Time zone (IANA name, e.g. Europe/Rome) of every time shown on pages and by the CLI. Empty: the server's zone. Stored times keep their UTC offset."),
    Setting("PSTT_STATE_URL", str, "", "Database shared by every instance for the run history, counters, plugin state and fire claims (postgresql+psycopg://user:pass@host/db, or sqlite:///path for one host). Empty: the home's files. Create or upgrade its tables with `pstt state upgrade`.", secret=True),
    Setting("PSTT_LEASE_TTL_SEC", float, 30.0, "Heartbeats are sent every third of this. A scheduler process without a heartbeat for this long is no longer alive (/api/health, pstt_instance_up). SQL state backend: a run's lease expires this long after its instance's last heartbeat; then the run is recorded interrupted (instance lost) and the schedule runs again elsewhere.", minimum=1, maximum=3600),
    Setting("PSTT_MISSED_FIRES_LOOKBACK_SEC", int, 86400, "When a scheduler starts and no other is alive, the fires since the last one stopped (at most this far back) are recorded skipped, \"missed: no instance was running\" (the latest 100 per schedule); a schedule with catchup: latest runs the latest one. 0: not recorded. At most two days, as long as fire claims are kept.", minimum=0, maximum=2 * 86400),
    Setting("PSTT_INSTANCE_NAME", str, "", "This instance's name in run records and fire claims (`instance` is `<host>/<name>`). Empty: home-<8 hex digits> derived from the home's path."),
    Setting("PSTT_SCHEDULER_ENABLED", bool, True, "Start the scheduler with `pstt serve` (false: API and pages only)."),
)


class Settings(Mapping[str, Any]):
    """Effective settings: a read-only mapping from variable name to typed value."""

    def __init__(self, specs: Iterable[Setting], values: dict[str, Any], sources: dict[str, str]):
        self.specs = {s.name: s for s in specs}
        self._values = values
        self.sources = sources

    def __getitem__(self, key: str) -> Any:
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def masked(self) -> list[dict[str, Any]]:
        """Rows for pages and the API: secrets are never shown, only whether they are set."""
        rows = []
        for name, spec in self.specs.items():
            value = self._values[name]
            if spec.secret:
                value = "********" if value else ""
            rows.append({"name": name, "value": value, "default": "" if spec.secret else spec.default,
                         "source": self.sources.get(name, "default"), "group": spec.group,
                         "description": spec.description})
        return rows

    @classmethod
    def load(cls, specs: Iterable[Setting], home: Path | None = None,
             environ: Mapping[str, str] | None = None,
             dotenv: Mapping[str, str | None] | None = None) -> Settings:
        specs = list(specs)
        env = os.environ if environ is None else environ
        if dotenv is None:
            dotenv = read_dotenv(home) if home else {}
        values: dict[str, Any] = {}
        sources: dict[str, str] = {}
        for spec in specs:
            if spec.name in env:
                raw, source = env[spec.name], "environment"
            elif dotenv.get(spec.name) is not None:
                raw, source = str(dotenv[spec.name]), ".env"
            else:
                values[spec.name] = spec.default
                continue
            where = str(home / ".env") if source == ".env" and home else source
            values[spec.name] = spec.parse(raw, where)
            sources[spec.name] = source
        return cls(specs, values, sources)


def read_dotenv(home: Path) -> dict[str, str | None]:
    path = home / ".env"
    return dict(dotenv_values(path)) if path.is_file() else {}


def lookup_env(dotenv: Mapping[str, str | None],
               environ: Mapping[str, str] | None = None) -> Callable[[str], str | None]:
    """Variable lookup for ``${VAR}``: the environment (default ``os.environ``) first, then
    the already-read ``.env`` values."""
    env = os.environ if environ is None else environ

    def get(name: str) -> str | None:
        if name in env:
            return env[name]
        return dotenv.get(name)

    return get
