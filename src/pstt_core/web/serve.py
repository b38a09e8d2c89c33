"""Run the app under uvicorn (``pstt serve``)."""

from __future__ import annotations

import ipaddress
import signal
import socket
import sys
from collections.abc import Callable
from types import FrameType
from typing import TYPE_CHECKING

from ..errors import ConfigError
from ..signals import SIGNALS, exit_code, interrupt_runs

if TYPE_CHECKING:
    from ..facade import Pstt


def is_loopback(host: str) -> bool:
    if host.strip().lower() in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False  # a host name could resolve to anything: treat it as public


def check_bind(host: str, token: str) -> None:
    """Refuse a non-loopback bind without a token (→ exit code 2 from the CLI)."""
    if not token and not is_loopback(host):
        raise ConfigError(
            f"refusing to listen on {host!r} without authentication: set PSTT_API_TOKEN "
            "(in <home>/.env or the environment) or bind to 127.0.0.1", path="PSTT_API_TOKEN")


def listen_urls(sockets: list[socket.socket]) -> list[str]:
    """``http://host:port/`` for each bound socket (the real port when 0 was asked for)."""
    urls = []
    for sock in sockets:
        host, port = sock.getsockname()[:2]
        urls.append(f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/")
    return list(dict.fromkeys(urls))


def started_line(pstt: Pstt, urls: list[str]) -> str:
    """What ``pstt serve`` prints once it listens: where, and whether a token is needed
    (never the token itself)."""
    access = ("pages and API need the token set in PSTT_API_TOKEN"
              if pstt.settings["PSTT_API_TOKEN"] else "no token set: reachable from this machine only")
    return f"PSTT serving {pstt.home.root} on {', '.join(urls)} ({access}; Ctrl-C to stop)"


def serve(pstt: Pstt, host: str, port: int,
          announce: Callable[[str], None] = print) -> None:
    """Check the state files, start the facade, then serve until SIGTERM / SIGINT;
    ``announce`` gets one line when the server listens and one when it has stopped.

    A damaged state file or bad configuration raises before uvicorn starts (exit code 2, not
    uvicorn's start-up failure). A signal interrupts the runs in progress (their records say
    ``interrupted``), the service shuts down, and the process exits with 128 + the signal.
    """
    import uvicorn

    check_bind(host, pstt.settings["PSTT_API_TOKEN"])
    pstt.check_state()
    urls: list[str] = []
    received: list[int] = []

    class Server(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets)
            if self.started:
                urls.extend(listen_urls([s for srv in self.servers for s in srv.sockets]))
                announce(started_line(pstt, urls))

        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            if not received:
                received.append(sig)
                interrupt_runs(pstt, sig)
            super().handle_exit(sig, frame)

        async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
            # here, not after run(): uvicorn re-raises the stopping signal once it returns
            await super().shutdown(sockets)
            announce(f"PSTT stopped ({', '.join(urls)})")

    app = pstt.asgi_app()
    app.state.allowed_hosts.add_bind(host)
    config = uvicorn.Config(app, host=host, port=port, log_level="warning",
                            proxy_headers=True, timeout_graceful_shutdown=30)
    # uvicorn raises the signal it caught again once it has shut down, with the handlers
    # found at its start: these only note it, so the exit code is ours.
    previous = {sig: signal.signal(sig, lambda *_: None) for sig in SIGNALS}
    try:
        pstt.start()
        Server(config).run()
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
        pstt.stop()
    if received:
        sys.exit(exit_code(received[0]))
