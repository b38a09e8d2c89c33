"""``${VAR}`` substitution inside JSON data, with errors that name the JSON path."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from .errors import ConfigError

_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def substitute(data: Any, lookup: Callable[[str], str | None], *, file: str,
               path: str = "$") -> Any:
    """Replace ``${VAR}`` (or ``${VAR:-default}``) in every string of ``data``.

    A variable that is neither set nor given a default is an error naming the key, never an
    empty string silently used as a password.
    """
    if isinstance(data, dict):
        return {k: substitute(v, lookup, file=file, path=f"{path}.{k}") for k, v in data.items()}
    if isinstance(data, list):
        return [substitute(v, lookup, file=file, path=f"{path}[{i}]") for i, v in enumerate(data)]
    if isinstance(data, str) and "${" in data:
        def repl(match: re.Match[str]) -> str:
            name, default = match.group(1), match.group(2)
            value = lookup(name)
            if value is None:
                if default is not None:
                    return default
                raise ConfigError(
                    f"environment variable ${{{name}}} is not set (define it in the environment or in .env)",
                    file=file, path=path)
            return value
        return _VAR.sub(repl, data)
    return data
