"""Run the app under uvicorn."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..facade import Pstt


def serve(pstt: Pstt, host: str, port: int) -> None:
    import uvicorn

    uvicorn.run(pstt.asgi_app(), host=host, port=port, log_level="warning")
