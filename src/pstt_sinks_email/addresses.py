"""E-mail addresses and header text: parsed strictly, CR/LF refused (header injection)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from email.headerregistry import Address
from email.utils import getaddresses

from pstt_core import ConfigError

# Characters that end a header line or smuggle one in; refused in any header value.
_BREAKS = ("\r", "\n", "\x00", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029")
_LOCAL = re.compile(r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,64}$")
_LABEL = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$")


def check_header_text(value: str, path: str, what: str = "value") -> str:
    """Refuse line breaks: a newline in a header would let the text add its own headers."""
    for ch in _BREAKS:
        if ch in value:
            raise ConfigError(f"{what} must not contain line breaks or control characters "
                              f"(found {ch!r}); they could inject e-mail headers", path=path)
    return value


def _check_addr_spec(addr: str, raw: str, path: str) -> None:
    local, sep, domain = addr.rpartition("@")
    if not sep or not local or not domain:
        raise ConfigError(f"{raw!r} is not an e-mail address (expected name@domain)", path=path)
    if not addr.isascii():
        raise ConfigError(f"{raw!r}: only ASCII addresses are supported", path=path)
    if not _LOCAL.fullmatch(local) or local.startswith(".") or local.endswith(".") or ".." in local:
        raise ConfigError(f"{raw!r}: invalid characters before '@'", path=path)
    labels = domain.rstrip(".").split(".")
    if not all(_LABEL.fullmatch(label) for label in labels):
        raise ConfigError(f"{raw!r}: invalid domain {domain!r}", path=path)


def parse_address(raw: str, path: str) -> Address:
    """One address, ``a@b.example`` or ``Name <a@b.example>``; anything else is refused."""
    if not isinstance(raw, str) or not raw.strip():
        raise ConfigError("an e-mail address must be a non-empty string", path=path)
    check_header_text(raw, path, "an e-mail address")
    parsed = getaddresses([raw])
    if len(parsed) != 1 or not parsed[0][1]:
        raise ConfigError(f"{raw!r} must be exactly one e-mail address (one per list item)",
                          path=path)
    name, addr = parsed[0]
    if "<" in raw and not raw.rstrip().endswith(">"):
        raise ConfigError(f"{raw!r}: text after the address", path=path)
    _check_addr_spec(addr, raw, path)
    try:
        return Address(display_name=name, addr_spec=addr)
    except (ValueError, IndexError) as exc:
        raise ConfigError(f"{raw!r} is not a valid address: {exc}", path=path) from None


def parse_list(values: Sequence[str], path: str) -> list[Address]:
    if isinstance(values, str):
        raise ConfigError("must be a list of addresses, e.g. [\"ops@example.com\"]", path=path)
    return [parse_address(v, f"{path}[{i}]") for i, v in enumerate(values)]


def split_setting(text: str) -> list[str]:
    """A comma-separated setting value as a list (``a@x, Name <b@y>``)."""
    return [a.strip() for a in re.split(r"[,;](?=(?:[^\"]*\"[^\"]*\")*[^\"]*$)", text) if a.strip()]


def envelope(addresses: Iterable[Address]) -> list[str]:
    """Unique envelope recipients (case-insensitive), first spelling kept, order kept."""
    seen: set[str] = set()
    out = []
    for a in addresses:
        key = a.addr_spec.lower()
        if key not in seen:
            seen.add(key)
            out.append(a.addr_spec)
    return out
