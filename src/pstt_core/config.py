"""``connections.json``: databases plus sections claimed by plugins."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

import attrs

from .converter import structure
from .envsubst import MissingVariable, substitute
from .errors import ConfigError
from .models import NAME_RE, Database


@attrs.frozen
class ConfigSection:
    """A top-level list in ``connections.json`` owned by a plugin.

    :param name: the key, e.g. ``kafka_connections``.
    :param model: attrs class of one entry (must have a ``name`` field).
    :param secret_fields: fields masked wherever the entry is shown.
    :param validate: optional ``validate(entry, file, path)`` for cross-field rules.
    :param test: optional ``test(env, name)`` (``env``: the plugin's
        :class:`~pstt_core.PluginEnv`) → ``{"name", "success", "latency_ms", "error"}``; pages
        show a "Test" button and ``POST /api/connections/<section>/<name>/test`` calls it.
    :param label: heading for the settings page (e.g. "Kafka clusters").
    """

    name: str
    model: type
    secret_fields: tuple[str, ...] = ()
    description: str = ""
    validate: Callable[[Any, str, str], None] | None = None
    test: Callable[[Any, str], dict[str, Any]] | None = None
    label: str = ""


@attrs.define
class Config:
    databases: dict[str, Database]
    sections: dict[str, dict[str, Any]]
    raw: dict[str, Any]
    file: str
    # Every string substituted from ${VAR}: the log filter masks these values.
    secrets: set[str] = attrs.field(factory=set)
    # ${VAR}s left unresolved (only when loaded with ``lenient``): nothing may connect then.
    missing: list[MissingVariable] = attrs.field(factory=list)

    def unresolved(self, path_prefix: str) -> list[str]:
        """Names of the missing variables used under ``path_prefix`` (``$.databases[1]``)."""
        return sorted({m.name for m in self.missing
                       if m.path == path_prefix or m.path.startswith((path_prefix + ".",
                                                                      path_prefix + "["))})

    def database(self, name: str) -> Database:
        try:
            return self.databases[name]
        except KeyError:
            known = ", ".join(sorted(self.databases)) or "none"
            raise ConfigError(f"unknown database connection {name!r}; configured: {known}",
                              file=self.file) from None

    def section(self, name: str) -> dict[str, Any]:
        """Entries of a plugin section by name (empty if the section is absent)."""
        return self.sections.get(name, {})


def load_config(path: Path, sections: dict[str, ConfigSection],
                lookup: Callable[[str], str | None], *, lenient: bool = False) -> Config:
    """Read ``connections.json``. Missing ``${VAR}``s are one error naming them all, or with
    ``lenient`` they stay as written and are listed in ``Config.missing`` (for commands that
    read schedules and history but connect to nothing)."""
    file = str(path)
    if not path.exists():
        return Config({}, {name: {} for name in sections}, {}, file)
    try:
        raw = json.loads(path.read_text(encoding="utf-8-sig"))
    except json.JSONDecodeError as exc:
        raise ConfigError(f"invalid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})",
                          file=file) from None
    if not isinstance(raw, dict):
        raise ConfigError("the top level must be an object", file=file, path="$")
    secrets: set[str] = set()

    def tracking(name: str) -> str | None:
        value = lookup(name)
        if value:
            secrets.update({value, quote(value, safe="")})  # as written into a URL, too
        return value

    missing: list[MissingVariable] | None = [] if lenient else None
    data = substitute(raw, tracking, file=file, missing=missing)
    databases = _entries(data.get("databases", []), Database, file, "$.databases")
    for db in databases.values():
        if not db.url and not db.driver:
            raise ConfigError(f"database {db.name!r} needs either 'url' or 'driver' (+ host, database …)",
                              file=file, path=f"$.databases[{db.name}]")
        if db.password:
            secrets.add(db.password)
    parsed: dict[str, dict[str, Any]] = {}
    for name, section in sections.items():
        entries = _entries(data.get(name, []), section.model, file, f"$.{name}")
        if section.validate:
            for i, entry in enumerate(entries.values()):
                section.validate(entry, file, f"$.{name}[{i}]")
        for entry in entries.values():
            for field in section.secret_fields:
                value = getattr(entry, field, None)
                if value:
                    secrets.add(str(value))
            if attrs.has(type(entry)):
                secrets |= nested_secrets(attrs.asdict(entry))
        parsed[name] = entries
    return Config(databases, parsed, raw, file, secrets, missing or [])


def _entries(items: Any, model: type, file: str, path: str) -> dict[str, Any]:
    if not isinstance(items, list):
        raise ConfigError("must be a list", file=file, path=path)
    out: dict[str, Any] = {}
    for i, item in enumerate(items):
        entry: Any = structure(item, model, file=file, path=f"{path}[{i}]")
        name = getattr(entry, "name", None)
        if not isinstance(name, str) or not NAME_RE.fullmatch(name):
            raise ConfigError(f"name {name!r} must be 1-64 characters of letters, digits, '.', '_' or '-'",
                              file=file, path=f"{path}[{i}].name")
        if name in out:
            raise ConfigError(f"duplicate name {name!r}", file=file, path=f"{path}[{i}].name")
        out[name] = entry
    return out


_SECRET_WORDS = re.compile(r"pass(word|wd|phrase)?|secret|token|credential", re.IGNORECASE)
# a name with "key" in it that holds no secret: a path, a column, a class name
_NOT_SECRET_KEY = re.compile(r"(file|location|path|field|serializer|format)$", re.IGNORECASE)


def secret_looking(name: str) -> bool:
    """A key that reads like it holds a secret (``sasl.password``, ``api_key``, ``token``);
    paths of key files (``ssl_keyfile``, ``ssl.key.location``) are not secrets."""
    if _SECRET_WORDS.search(name):
        return True
    return "key" in name.lower() and not _NOT_SECRET_KEY.search(name)


def _mask_nested(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: ("********" if secret_looking(str(k)) and v not in (None, "", [], {})
                    and not isinstance(v, bool | dict | list) else _mask_nested(v))
                for k, v in value.items()}
    if isinstance(value, list):
        return [_mask_nested(v) for v in value]
    return value


def nested_secrets(value: Any) -> set[str]:
    """The values under secret-looking keys anywhere in ``value`` (for the log redactor)."""
    found: set[str] = set()
    if isinstance(value, dict):
        for k, v in value.items():
            plain = isinstance(v, str | int | float) and not isinstance(v, bool)
            if secret_looking(str(k)) and plain and str(v):
                found.add(str(v))
            else:
                found |= nested_secrets(v)
    elif isinstance(value, list):
        for v in value:
            found |= nested_secrets(v)
    return found


def mask(entry: Any, secret_fields: tuple[str, ...]) -> dict[str, Any]:
    """An entry as a dict for display: its declared secret fields and every value under a
    secret-looking key (``producer.extra["sasl.password"]``) replaced by ``********``."""
    data = attrs.asdict(entry) if attrs.has(type(entry)) else dict(entry)
    for field in secret_fields:
        if data.get(field):
            data[field] = "********"
    return {k: v if v == "********" else _mask_nested({k: v})[k] for k, v in data.items()}
