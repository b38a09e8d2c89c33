"""``pstt serve``: the web service under uvicorn."""

from __future__ import annotations

import click

from .context import get_pstt


def add_to(cli: click.Group) -> None:
    cli.add_command(serve_cmd)


@click.command("serve")
@click.option("--host", default=None, help="Bind address (default PSTT_HOST, 127.0.0.1).")
@click.option("--port", type=click.IntRange(0, 65535), default=None,
              help="Port (default PSTT_PORT, 8000; 0: any free port, printed at start).")
def serve_cmd(host: str | None, port: int | None) -> None:
    """Serve the dashboards and the JSON API; the scheduler runs inside.

    Prints one line with the URL(s) once it listens and one when it has stopped.
    """
    from ..web.serve import serve

    pstt = get_pstt(logs=True)
    serve(pstt, host=host or pstt.settings["PSTT_HOST"],
          port=pstt.settings["PSTT_PORT"] if port is None else port, announce=click.echo)
