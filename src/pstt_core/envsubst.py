"""``${VAR}`` substitution inside JSON data, with errors that name the JSON path."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import attrs

from .errors import ConfigError

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


@attrs.frozen
class MissingVariable:
    """A ``${VAR}`` that is neither set nor given a default, and the JSON path using it."""

    name: str
    path: str

    def __str__(self) -> str:
        return f"${{{self.name}}} at {self.path}"


def substitute(data: Any, lookup: Callable[[str], str | None], *, file: str,
               path: str = "$", missing: list[MissingVariable] | None = None) -> Any:
    """Replace ``${VAR}`` (or ``${VAR:-default}``) in every string of ``data``.

    A variable that is neither set nor given a default is never silently an empty string
    (an empty password). Without ``missing`` they are all reported in one
    :class:`ConfigError`; with a list, each is appended to it and the ``${VAR}`` text is kept
    as it is, for commands that only read the file and connect to nothing.
    """
    found: list[MissingVariable] = [] if missing is None else missing
    out = _walk(data, lookup, path, found)
    if missing is None and found:
        raise missing_error(found, file)
    return out


def missing_error(missing: list[MissingVariable], file: str) -> ConfigError:
    """All missing variables in one error (the first one's path is the error's path)."""
    hint = "define it in the environment or in .env"
    if len(missing) == 1:
        message = f"environment variable ${{{missing[0].name}}} is not set ({hint})"
    else:
        message = (f"{len(missing)} environment variables are not set: "
                   + ", ".join(str(m) for m in missing) + f"; {hint.replace('it', 'them')}")
    return ConfigError(message, file=file, path=missing[0].path,
                       problems=[(m.path, f"environment variable ${{{m.name}}} is not set")
                                 for m in missing])


def _walk(data: Any, lookup: Callable[[str], str | None], path: str,
          missing: list[MissingVariable]) -> Any:
    if isinstance(data, dict):
        return {k: _walk(v, lookup, f"{path}.{k}", missing) for k, v in data.items()}
    if isinstance(data, list):
        return [_walk(v, lookup, f"{path}[{i}]", missing) for i, v in enumerate(data)]
    if isinstance(data, str) and "${" in data:
        userinfo = _userinfo_span(data)

        def repl(match: re.Match[str]) -> str:
            name, default = match.group(1), match.group(2)
            value = lookup(name)
            if value is None:
                if default is not None:
                    return default
                missing.append(MissingVariable(name, path))
                return match.group(0)
            if userinfo[0] <= match.start() < userinfo[1]:
                # user or password of a URL: '@', ':' or '/' in it would be read as syntax
                return quote(value, safe="")
            return value
        return _VAR.sub(repl, data)
    return data


def _userinfo_span(text: str) -> tuple[int, int]:
    """Where the ``user:password`` part of a URL (``scheme://user:password@host``) is in
    ``text``, as it is written (with its ``${VAR}``s); (0, 0) when it has none."""
    start = text.find("://")
    if start < 0:
        return (0, 0)
    start += 3
    # the authority ends at the first '/', '?' or '#' outside a ${...}
    plain = _VAR.sub(lambda m: "x" * len(m.group(0)), text)
    end = len(plain)
    for sep in "/?#":
        pos = plain.find(sep, start)
        if pos >= 0:
            end = min(end, pos)
    at = plain.rfind("@", start, end)
    return (start, at) if at >= 0 else (0, 0)
