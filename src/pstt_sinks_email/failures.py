"""What went wrong talking SMTP, in words a user can act on, and whether to retry."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from pstt_core import SinkError

if TYPE_CHECKING:
    import ssl

    from .servers import SmtpServer


class TooLarge(Exception):
    """The message exceeds the size the server announced (ESMTP SIZE)."""


class SmtpFailure(SinkError):
    """Delivery failed; ``delivered``/``refused`` say what happened to whom before that."""

    def __init__(self, message: str, *, transient: bool = False, delivered: Sequence[str] = (),
                 refused: dict[str, str] | None = None, attempts: int = 0):
        super().__init__(message, transient=transient)
        self.delivered = list(delivered)
        self.refused = dict(refused or {})
        self.attempts = attempts


def _cert_error(exc: BaseException) -> ssl.SSLError | None:
    import ssl

    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, ssl.SSLError):
            return current
        current = current.__cause__ or current.__context__
    return None


def classify(exc: BaseException, server: SmtpServer) -> tuple[bool, str]:
    """(transient?, message naming the server) for an exception of one attempt."""
    import asyncio
    import ssl

    import aiosmtplib

    where = f"SMTP server {server.name!r} ({server.where})"
    if isinstance(exc, TooLarge):
        return False, f"{where}: {exc}"
    if isinstance(exc, aiosmtplib.SMTPAuthenticationError):
        return False, (f"{where}: authentication failed for user {server.username!r}: "
                       f"{exc.code} {exc.message}")
    tls = _cert_error(exc)
    if tls is not None or "CERTIFICATE_VERIFY_FAILED" in str(exc):
        if isinstance(tls, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in str(exc):
            detail = getattr(tls, "verify_message", None) or str(exc)
            return False, (f"{where}: TLS failed: certificate verify failed: {detail} (set "
                           "ca_file to the CA that signed the server certificate, or check host)")
        reason = getattr(tls, "reason", None) or str(tls or exc)
        return False, f"{where}: TLS failed: {reason} (check the security mode and the port)"
    if isinstance(exc, aiosmtplib.SMTPResponseException):
        transient = 400 <= exc.code < 500
        kind = "temporary" if transient else "permanent"
        return transient, f"{where}: {kind} error {exc.code} {exc.message}"
    if isinstance(exc, (aiosmtplib.SMTPTimeoutError, asyncio.TimeoutError, TimeoutError)):
        return True, f"{where}: timed out after {server.timeout:g} s ({exc})"
    if isinstance(exc, (aiosmtplib.SMTPServerDisconnected, aiosmtplib.SMTPConnectError,
                        ConnectionError, OSError)):
        return True, f"{where}: connection failed: {exc}"
    if isinstance(exc, aiosmtplib.SMTPException):  # STARTTLS/AUTH not offered, …
        return False, f"{where}: {exc}"
    return False, f"{where}: {type(exc).__name__}: {exc}"
