"""Talking SMTP through aiosmtplib: error classification, retries, at-most-once delivery.

Delivery is *at most once per recipient*:

- a failure before the message content is handed over (connect, TLS, login, MAIL, RCPT, or
  a 4xx reply to DATA) leaves nothing delivered, so the attempt is repeated after a backoff
  when the failure is transient (4xx, connection lost, timeout);
- once the server accepted the content (250 after DATA) those recipients are done; only
  recipients it refused with a 4xx are tried again, in a new transaction to them alone;
- if the connection drops *while* the content is being transferred, the server may or may
  not have queued it: the message is not sent again (no duplicates) and the failure says
  delivery is uncertain.

aiosmtplib is imported inside functions so the plugin loads without it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import time
from collections.abc import Callable, Coroutine, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import attrs

from .failures import SmtpFailure, TooLarge, classify

if TYPE_CHECKING:
    from .servers import SmtpServer

T = TypeVar("T")
MAX_BACKOFF_SEC = 60.0


@attrs.define
class Delivery:
    delivered: list[str]
    refused: dict[str, str]
    attempts: int


@attrs.define
class _Phase:
    content_sent: bool = False


def run_coro(factory: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine from synchronous code, also when this thread already runs a loop."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(factory())
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(factory())).result()


def _client(server: SmtpServer) -> Any:
    import aiosmtplib

    return aiosmtplib.SMTP(
        hostname=server.host, port=server.effective_port, timeout=server.timeout,
        use_tls=server.security == "tls", start_tls=server.security == "starttls",
        tls_context=server.tls_context(), local_hostname=server.local_hostname)


async def _open(server: SmtpServer) -> Any:
    import aiosmtplib

    smtp = _client(server)
    await smtp.connect()
    try:
        if smtp.last_ehlo_response is None:  # plain connections greet lazily; we want SIZE now
            try:
                await smtp.ehlo()
            except aiosmtplib.SMTPHeloError:
                await smtp.helo()
        if server.username:
            await smtp.login(server.username, server.password or "")
    except BaseException:
        smtp.close()
        raise
    return smtp


async def _close(smtp: Any) -> None:
    try:
        await smtp.quit()
    except Exception:  # the transaction is already settled; a failing QUIT changes nothing
        smtp.close()


async def _transaction(server: SmtpServer, sender: str, recipients: list[str], data: bytes,
                       phase: _Phase) -> tuple[list[str], dict[str, tuple[int, str]]]:
    """One connection: MAIL, RCPT per recipient, DATA. Returns (accepted, refused)."""
    import aiosmtplib

    smtp = await _open(server)
    try:
        limit = int(smtp.esmtp_extensions.get("size") or 0) if smtp.supports_extension("size") else 0
        if limit and len(data) > limit:
            raise TooLarge(f"the message is {len(data):,} bytes but the server accepts at most "
                            f"{limit:,} (SIZE); lower max_bytes or enable zip")
        await smtp.mail(sender)
        accepted: list[str] = []
        refused: dict[str, tuple[int, str]] = {}
        for rcpt in recipients:
            try:
                await smtp.rcpt(rcpt)
                accepted.append(rcpt)
            except aiosmtplib.SMTPRecipientRefused as exc:
                refused[rcpt] = (exc.code, exc.message)
        if accepted:
            phase.content_sent = True
            try:
                await smtp.data(data)
            except aiosmtplib.SMTPResponseException:
                phase.content_sent = False  # the server answered: it did not take the message
                raise
            phase.content_sent = False
        else:
            await smtp.rset()
        return accepted, refused
    finally:
        await _close(smtp)


def backoff_delay(attempt: int, base: float) -> float:
    return float(min(base * (2 ** (attempt - 1)), MAX_BACKOFF_SEC))


def deliver(server: SmtpServer, sender: str, recipients: Sequence[str], data: bytes, *,
            retries: int = 3, backoff: float = 2.0,
            sleep: Callable[[float], None] = time.sleep) -> Delivery:
    """Send ``data`` (a complete message) to ``recipients``; raise :class:`SmtpFailure` when
    nobody got it or a failure stopped delivery (``delivered`` tells who did get it)."""
    pending = list(recipients)
    delivered: list[str] = []
    refused: dict[str, str] = {}
    attempt = 0
    while pending:
        attempt += 1
        phase = _Phase()
        try:
            accepted, rejected = run_coro(
                functools.partial(_transaction, server, sender, pending, data, phase))
        except Exception as exc:
            transient, text = classify(exc, server)
            if phase.content_sent:
                raise SmtpFailure(
                    f"{text} — the connection was lost while the message was being transferred; "
                    "the server may have queued it, so it is not sent again (avoiding a duplicate)",
                    delivered=delivered, refused=refused, attempts=attempt) from None
            if not transient or attempt > retries:
                tries = f" after {attempt} attempts" if attempt > 1 else ""
                raise SmtpFailure(text + tries, transient=transient, delivered=delivered,
                                  refused=refused, attempts=attempt) from None
            sleep(backoff_delay(attempt, backoff))
            continue
        delivered.extend(accepted)
        retry_later = [r for r in pending if r in rejected and 400 <= rejected[r][0] < 500]
        for rcpt, (code, message) in rejected.items():
            if rcpt not in retry_later or attempt > retries:
                refused[rcpt] = f"{code} {message}"
        pending = retry_later if attempt <= retries else []
        if pending:
            sleep(backoff_delay(attempt, backoff))
    if not delivered:
        detail = "; ".join(f"{r}: {why}" for r, why in refused.items())
        raise SmtpFailure(f"SMTP server {server.name!r} refused every recipient ({detail})",
                          refused=refused, attempts=attempt)
    return Delivery(delivered, refused, attempt)


def probe(server: SmtpServer, timeout: float | None = None) -> dict[str, Any]:
    """Connect, EHLO, TLS and login, then QUIT: ``{"success", "latency_ms", "error"}``.

    :param timeout: seconds for each step, if shorter than the server's own ``timeout``
        (health checks must answer quickly even when a server does not).
    """
    t0 = time.perf_counter()
    if timeout is not None and timeout < server.timeout:
        server = attrs.evolve(server, timeout=timeout)

    async def check() -> None:
        smtp = await _open(server)
        try:
            await smtp.noop()
        finally:
            await _close(smtp)

    try:
        run_coro(check)
    except Exception as exc:
        return {"success": False, "latency_ms": round((time.perf_counter() - t0) * 1000, 1),
                "error": classify(exc, server)[1]}
    return {"success": True, "latency_ms": round((time.perf_counter() - t0) * 1000, 1),
            "error": None}
