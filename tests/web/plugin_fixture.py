"""An inline test plugin: a second sharing mode with every widget, a route, a nav link,
a template directory and a config section with a connection test."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import attrs
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from pstt_core import ConfigSection, PluginEnv, Sink, SinkResult, SinkType, hookimpl
from pstt_core.web import NavLink, render
from tests.conftest import registered


@attrs.define
class HookOptions:
    url: str = attrs.field(metadata={"label": "Target URL", "help": "Where rows are posted"})
    method: str = attrs.field(default="POST", metadata={"choices": ("POST", "PUT")})
    retries: int = attrs.field(default=3, metadata={"help": "Attempts per batch"})
    notes: str = attrs.field(default="", metadata={"widget": "textarea"})
    headers: list[str] = attrs.field(factory=list, metadata={"help": "One 'Name: value' per line"})
    timeout: float | None = attrs.field(default=30.0, metadata={"help": "Seconds; empty: none"})
    verbose: bool = attrs.field(default=False, metadata={"advanced": True})


class HookSink(Sink):
    def write(self, rows: Sequence[Sequence[Any]]) -> None:
        self.count = getattr(self, "count", 0) + len(rows)

    def close(self) -> SinkResult:
        return SinkResult(fields={"hook_url": self.ctx.options.url})


@attrs.define
class Endpoint:
    name: str
    host: str = "127.0.0.1"
    password: str | None = None


def _test_endpoint(env: PluginEnv, name: str) -> dict[str, Any]:
    entry = env.section("hook_endpoints")[name]
    return {"name": name, "success": entry.host == "127.0.0.1", "latency_ms": 0.1,
            "error": None if entry.host == "127.0.0.1" else f"cannot reach {entry.host}"}


async def hook_page(request: Request) -> Response:
    return render(request, "hook_page.html", {"message": "hello from the hook plugin"})


async def hook_status(request: Request) -> Response:
    return JSONResponse({"ok": True, "at": time.time()})


hook_status.openapi = {"get": {"summary": "Hook plugin status",  # type: ignore[attr-defined]
                               "responses": {"200": {"description": "OK"}}}}


class HookPlugin:
    def __init__(self, templates: Path, extra_routes: list[Any] | None = None):
        self.templates = templates
        self.extra_routes = extra_routes or []

    @hookimpl
    def register_sinks(self, register: Callable[[Any], None]) -> None:
        register(SinkType(name="webhook-test", label="Webhook (test)", options=HookOptions,
                          factory=HookSink, description="Posts rows to a URL (test plugin)"))

    @hookimpl
    def register_config_sections(self, register: Callable[[Any], None]) -> None:
        register(ConfigSection("hook_endpoints", Endpoint, secret_fields=("password",),
                               test=_test_endpoint, label="Hook endpoints"))

    @hookimpl
    def register_routes(self, register: Callable[[Any], None]) -> None:
        register(Route("/hook", hook_page))
        register(Route("/api/hook/status", hook_status))
        for route in self.extra_routes:
            register(route)

    @hookimpl
    def register_nav_links(self, register: Callable[[Any], None]) -> None:
        register(NavLink("Hook", "/hook", 50))

    @hookimpl
    def register_template_dirs(self, register: Callable[[Any], None]) -> None:
        register(self.templates)


@contextmanager
def hook_plugin(tmp: Path, extra_routes: list[Any] | None = None) -> Iterator[HookPlugin]:
    """Register the plugin on the process plugin manager; always unregistered after."""
    templates = tmp / "hook_templates"
    templates.mkdir(exist_ok=True)
    (templates / "hook_page.html").write_text(
        '{% extends "base.html" %}{% block title %}Hook{% endblock %}'
        '{% block content %}<h1>Hook</h1><p id="msg">{{ message }}</p>{% endblock %}')
    with registered(HookPlugin(templates, extra_routes), "hook-test") as plugin:
        yield plugin
