"""Run the app under uvicorn (``pstt serve``)."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..errors import ConfigError

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
    """Serve until stopped (Ctrl-C, SIGTERM); ``announce`` gets one line when the server
    listens and one when it has stopped."""
    import uvicorn

    check_bind(host, pstt.settings["PSTT_API_TOKEN"])
    urls: list[str] = []

    class Server(uvicorn.Server):
        async def startup(self, sockets: list[socket.socket] | None = None) -> None:
            await super().startup(sockets)
            if self.started:
                urls.extend(listen_urls([s for srv in self.servers for s in srv.sockets]))
                announce(started_line(pstt, urls))

        async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
            # here, not after run(): uvicorn re-raises the stopping signal once it returns
            await super().shutdown(sockets)
            announce(f"PSTT stopped ({', '.join(urls)})")

    config = uvicorn.Config(pstt.asgi_app(), host=host, port=port, log_level="warning",
                            proxy_headers=True, timeout_graceful_shutdown=30)
    Server(config).run()
