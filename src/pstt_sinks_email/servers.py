"""The ``smtp_servers`` section of ``connections.json``: model, cross-field rules, TLS."""

from __future__ import annotations

import ipaddress
import ssl
from email.headerregistry import Address
from pathlib import Path
from typing import Any

import attrs

from pstt_core import ConfigError, ConfigSection, NotFoundError, PluginEnv

from .addresses import check_header_text, parse_address

SECTION = "smtp_servers"
SECURITY = ("none", "starttls", "tls")
DEFAULT_PORTS = {"none": 25, "starttls": 587, "tls": 465}


@attrs.define
class SmtpServer:
    """One SMTP server (relay) the e-mail sink and the failure notices can use."""

    name: str
    host: str
    from_address: str
    port: int | None = None
    security: str = "starttls"
    username: str | None = None
    password: str | None = attrs.field(default=None, repr=False)
    timeout: float = 30.0
    ca_file: str | None = None
    validate_certs: bool = True
    # Shown in the From header ("PSTT reports <pstt@example.com>").
    from_name: str | None = None
    # Label for pages, as for databases and Kafka connections.
    display_name: str | None = None
    description: str | None = None
    # Name sent in EHLO; default: the host's fully qualified name.
    local_hostname: str | None = None
    # Allow AUTH over an unencrypted connection to a non-loopback host (password in clear).
    allow_insecure_auth: bool = False

    @property
    def effective_port(self) -> int:
        return self.port or DEFAULT_PORTS.get(self.security, 25)

    @property
    def where(self) -> str:
        return f"{self.host}:{self.effective_port}"

    def sender(self) -> Address:
        """The From address; ``from_name`` overrides a name given in ``from_address``."""
        address = parse_address(self.from_address, "from_address")
        if self.from_name:
            return Address(display_name=self.from_name, addr_spec=address.addr_spec)
        return address

    def tls_context(self) -> ssl.SSLContext | None:
        if self.security == "none":
            return None
        ctx = ssl.create_default_context(cafile=self.ca_file or None)
        if not self.validate_certs:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        return ctx


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def validate_server(entry: SmtpServer, file: str, path: str) -> None:
    """Cross-field rules; every error names the JSON path of the bad value."""
    def fail(field: str, message: str) -> ConfigError:
        return ConfigError(message, file=file, path=f"{path}.{field}")

    if not entry.host.strip() or any(c.isspace() for c in entry.host):
        raise fail("host", f"host {entry.host!r} must be a host name or IP address without spaces")
    if entry.security not in SECURITY:
        raise fail("security", f"must be one of {', '.join(SECURITY)} (got {entry.security!r})")
    if entry.port is not None and not 1 <= entry.port <= 65535:
        raise fail("port", f"port {entry.port} must be between 1 and 65535")
    if entry.timeout <= 0:
        raise fail("timeout", "must be a positive number of seconds")
    try:
        parse_address(entry.from_address, "from_address")
    except ConfigError as exc:
        raise fail("from_address", exc.message) from None
    for field in ("from_name", "local_hostname"):
        try:
            check_header_text(getattr(entry, field) or "", field)
        except ConfigError as exc:
            raise fail(field, exc.message) from None
    if entry.username and not entry.password:
        raise fail("password", "a username is set but no password (use \"${SMTP_PASSWORD}\")")
    if entry.password and not entry.username:
        raise fail("username", "a password is set but no username")
    if (entry.username and entry.security == "none" and not entry.allow_insecure_auth
            and not _is_loopback(entry.host)):
        raise fail("security", "login over an unencrypted connection would send the password "
                               "in clear; use \"starttls\" or \"tls\" (or set allow_insecure_auth)")
    if entry.ca_file:
        if entry.security == "none":
            raise fail("ca_file", "ca_file is only used with security \"starttls\" or \"tls\"")
        if not entry.validate_certs:
            raise fail("ca_file", "ca_file has no effect with validate_certs false; remove one")
        # A relative path means relative to connections.json, wherever the process runs.
        ca = Path(entry.ca_file)
        if not ca.is_absolute():
            ca = Path(file).parent / ca
        if not ca.is_file():
            raise fail("ca_file", f"CA file {str(ca)!r} does not exist")
        entry.ca_file = str(ca)


def get_server(env: PluginEnv, name: str) -> SmtpServer:
    servers = env.section(SECTION)
    try:
        return servers[name]
    except KeyError:
        known = ", ".join(sorted(servers)) or "none configured"
        raise NotFoundError(f"unknown SMTP server {name!r} (connections.json → {SECTION}: "
                            f"{known})") from None


def test_server(env: PluginEnv, name: str) -> dict[str, Any]:
    """Connect, EHLO, STARTTLS/TLS and log in; never raises."""
    from .smtp import probe

    try:
        server = get_server(env, name)
    except NotFoundError as exc:
        return {"name": name, "success": False, "latency_ms": None, "error": str(exc)}
    return {"name": name, **probe(server)}


SMTP_SECTION = ConfigSection(
    name=SECTION, model=SmtpServer, secret_fields=("password",),
    description="SMTP servers used by the e-mail sharing mode and by failure notices.",
    validate=validate_server, test=test_server, label="SMTP servers")
