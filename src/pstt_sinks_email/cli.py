"""``pstt email …`` sub-commands."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable
from typing import Any

import click

from pstt_core import PluginEnv

from .addresses import envelope, parse_list
from .failures import SmtpFailure
from .servers import SmtpServer, get_server


def email_group(get_env: Callable[[], PluginEnv]) -> click.Group:
    """The ``pstt email`` group; ``get_env`` gives the plugin's env for ``--home``."""

    @click.group("email")
    def group() -> None:
        """E-mail sharing mode: test SMTP servers."""

    @group.command("test")
    @click.argument("server")
    @click.option("--to", "to", multiple=True, required=True,
                  help="Recipient (repeat for several).")
    @click.option("--subject", default="PSTT test message", show_default=True)
    @click.option("--json", "as_json", is_flag=True,
                  help="Print the result as JSON (the shape of the settings page's Test "
                       "button, plus delivered, refused and message_id).")
    def test_command(server: str, to: tuple[str, ...], subject: str, as_json: bool) -> None:
        """Send a test message through SERVER (a name from connections.json → smtp_servers).

        Exit status 0 when the server accepted the message for every recipient, 1 otherwise.
        """
        send_test(get_server(get_env(), server), list(to), subject, as_json=as_json)

    return group


def send_test(smtp: SmtpServer, to: list[str], subject: str, *, as_json: bool = False) -> None:
    # the message and SMTP modules (asyncio, html) only for the command that sends
    from .message import new_message, set_body, to_bytes
    from .smtp import deliver

    recipients = parse_list(to, "--to")
    sender = smtp.sender()
    msg = new_message(sender=sender, to=recipients, subject=subject)
    set_body(msg, f"This is a test message from PSTT through SMTP server {smtp.name!r} "
                  f"({smtp.where}, security {smtp.security}).\n", None)
    t0 = time.perf_counter()
    result: dict[str, Any] = {"name": smtp.name, "success": False, "latency_ms": None,
                              "error": None, "delivered": [], "refused": {},
                              "message_id": msg["Message-ID"]}
    try:
        delivery = deliver(smtp, sender.addr_spec, envelope(recipients), to_bytes(msg),
                           retries=0)
    except SmtpFailure as exc:
        result["error"] = str(exc)
        delivery = None
    result["latency_ms"] = round((time.perf_counter() - t0) * 1000, 1)
    if delivery is not None:
        result.update(delivered=delivery.delivered, refused=delivery.refused,
                      success=not delivery.refused)
        if delivery.refused:
            result["error"] = "; ".join(f"refused {r}: {why}" for r, why in delivery.refused.items())
    if as_json:
        click.echo(json.dumps(result, indent=2, default=str))
    elif delivery is None:
        click.echo(f"error: {result['error']}", err=True)
    else:
        click.echo(f"sent to {', '.join(delivery.delivered)} via {smtp.name} ({smtp.where}) in "
                   f"{result['latency_ms']:.0f} ms, Message-ID {msg['Message-ID']}")
        for rcpt, why in delivery.refused.items():
            click.echo(f"error: refused {rcpt}: {why}", err=True)
    sys.exit(0 if result["success"] else 1)
