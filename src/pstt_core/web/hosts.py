"""Which ``Host`` and ``Origin`` values the app answers (the defence against DNS rebinding).

A web page on ``http://evil.example`` whose name is re-pointed to 127.0.0.1 reaches the
service with ``Host: evil.example``; its requests are refused because that name is not one
the service is known by. Known names: ``localhost``, ``127.0.0.1`` and ``[::1]`` (any port),
the address ``pstt serve`` binds to, and the names listed in ``PSTT_ALLOWED_HOSTS`` (the
public name behind a reverse proxy). When the service binds to every address (``0.0.0.0``,
``::``) an IP address literal and this machine's own names are accepted too: rebinding needs
a name, and such a bind requires the token anyway.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

LOOPBACK_NAMES = frozenset({"localhost", "localhost.localdomain", "127.0.0.1", "::1"})
WILDCARD_BINDS = frozenset({"0.0.0.0", "::", ""})


def split_host(value: str) -> str | None:
    """The host name of a ``Host`` header (``name``, ``name:port``, ``[v6]:port``), lower
    case, without brackets or a trailing dot; ``None`` when it is not a host at all."""
    text = value.strip().lower()
    if not text or any(c in text for c in "/\\@?# \t"):
        return None
    try:
        parsed = urlsplit(f"//{text}")
        host = parsed.hostname
        _ = parsed.port  # raises ValueError for a port that is not a number
    except ValueError:
        return None
    return host.rstrip(".") if host else None


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


class AllowedHosts:
    """The names this app answers to. ``*`` in ``PSTT_ALLOWED_HOSTS`` turns the check off (an
    outer application that checks ``Host`` itself); a name starting with ``.`` allows every
    sub-domain (``.example.com``)."""

    def __init__(self, configured: str = ""):
        self.names: set[str] = set(LOOPBACK_NAMES)
        self.suffixes: list[str] = []
        self.any = False
        self.any_ip = False
        self.listed: set[str] = set()
        for item in configured.split(","):
            name = item.strip().lower().rstrip(".")
            if name == "*":
                self.any = True
            elif name.startswith("."):
                self.suffixes.append(name)
            elif name:
                host = split_host(name) or name
                self.names.add(host)
                self.listed.add(host)

    def add_bind(self, host: str) -> None:
        """Also answer to the address ``pstt serve`` listens on."""
        name = host.strip().strip("[]").lower()
        if name in WILDCARD_BINDS:
            self.any_ip = True
            for own in (socket.gethostname(), socket.getfqdn()):
                if own:
                    self.names.add(own.lower().rstrip("."))
        else:
            self.names.add(name)

    def allows(self, host: str | None) -> bool:
        if self.any:
            return True
        if host is None:
            return False
        if host in self.names or any(host.endswith(s) or host == s[1:] for s in self.suffixes):
            return True
        return self.any_ip and _is_ip(host)

    def allows_origin(self, origin: str, host_header: str) -> bool:
        """An ``Origin`` is allowed when it is the request's own origin (same host and port
        as ``Host``) or its host is one listed in ``PSTT_ALLOWED_HOSTS``; ``null`` never is."""
        if self.any:
            return True
        try:
            parts = urlsplit(origin.strip())
            host = parts.hostname
            port = parts.port
        except ValueError:
            return False
        if parts.scheme not in ("http", "https") or not host:
            return False
        own = host_header.strip().lower()
        netloc = parts.netloc.lower()
        if netloc == own or (port is None and own == f"{host}:{80 if parts.scheme == 'http' else 443}"):
            return True
        host = host.rstrip(".")
        return host in self.listed or any(host.endswith(s) or host == s[1:] for s in self.suffixes)
