"""``corespond serve``: the web app."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.console import Console


def serve(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    reload: Annotated[bool, typer.Option(help="Restart on code changes (development).")] = False,
) -> None:
    """Serve the web app (and the JSON API under /api/v1)."""
    import uvicorn

    Console().print(f"corespond is serving at [b]http://{host}:{port}[/]  (press Ctrl+C to stop)")
    uvicorn.run("corespond.web.app:create_app", factory=True, host=host, port=port, reload=reload)
