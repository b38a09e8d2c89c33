"""``pstt email …`` sub-commands."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable

import click

from pstt_core import PluginEnv

from .addresses import envelope, parse_list
from .message import new_message, set_body, to_bytes
from .servers import SmtpServer, get_server
from .smtp import SmtpFailure, deliver


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
    def test_command(server: str, to: tuple[str, ...], subject: str) -> None:
        """Send a test message through SERVER (a name from connections.json → smtp_servers).

        Exit status 0 when the server accepted the message for every recipient, 1 otherwise.
        """
        send_test(get_server(get_env(), server), list(to), subject)

    return group


def send_test(smtp: SmtpServer, to: list[str], subject: str) -> None:
    recipients = parse_list(to, "--to")
    sender = smtp.sender()
    msg = new_message(sender=sender, to=recipients, subject=subject)
    set_body(msg, f"This is a test message from PSTT through SMTP server {smtp.name!r} "
                  f"({smtp.where}, security {smtp.security}).\n", None)
    t0 = time.perf_counter()
    try:
        delivery = deliver(smtp, sender.addr_spec, envelope(recipients), to_bytes(msg),
                           retries=0)
    except SmtpFailure as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(1)
    took = (time.perf_counter() - t0) * 1000
    click.echo(f"sent to {', '.join(delivery.delivered)} via {smtp.name} ({smtp.where}) in "
               f"{took:.0f} ms, Message-ID {msg['Message-ID']}")
    if delivery.refused:
        for rcpt, why in delivery.refused.items():
            click.echo(f"error: refused {rcpt}: {why}", err=True)
        sys.exit(1)
