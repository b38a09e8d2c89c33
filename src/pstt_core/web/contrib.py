"""What plugins add to the web app: routes, menu links, template and static directories.

Plugins are asked in registration order (the core, entry points by name, run-time plugins),
so the first to claim a path, a menu path or a static name keeps it. A contribution that
clashes with a core path or with an earlier plugin's is refused and reported (the facade's
plugin problems: ``/api/plugins``, the settings page, ``pstt plugins``, and the log); a plugin
whose hook raises is reported the same way. Neither stops the app from starting.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
from starlette.routing import BaseRoute, Host, Mount, Route, WebSocketRoute
from starlette.staticfiles import StaticFiles

from .nav import NavLink

if TYPE_CHECKING:
    from ..facade import Pstt

log = logging.getLogger("pstt.web")
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


@attrs.define
class Contributions:
    routes: list[BaseRoute] = attrs.field(factory=list)
    nav: list[NavLink] = attrs.field(factory=list)
    template_dirs: list[Path] = attrs.field(factory=list)
    static: list[BaseRoute] = attrs.field(factory=list)
    problems: list[str] = attrs.field(factory=list)


def route_key(route: BaseRoute) -> tuple[str, str] | None:
    """``("route", path)`` or ``("mount", prefix)`` for collision checks."""
    if isinstance(route, Mount):
        return ("mount", route.path.rstrip("/") or "/")
    if isinstance(route, Route | WebSocketRoute):
        return ("route", route.path)
    return None


def _clash(key: tuple[str, str], taken: dict[tuple[str, str], str]) -> str | None:
    kind, path = key
    for (other_kind, other), owner in taken.items():
        if path == other:
            return owner
        # a mount may not swallow a taken path, nor sit under a taken mount
        if kind == "mount" and (path == "/" or other.startswith(path + "/")):
            return owner
        if other_kind == "mount" and path.startswith(other + "/"):
            return owner
    return None


def collect(pstt: Pstt, core_routes: list[BaseRoute], core_nav: list[NavLink]) -> Contributions:
    out = Contributions()
    taken: dict[tuple[str, str], str] = {}
    patterns: list[Route] = []  # parametrised routes would shadow plugin paths they match
    for route in core_routes:
        key = route_key(route)
        if key:
            taken[key] = "the core"
        if isinstance(route, Route) and route.param_convertors:
            patterns.append(route)
    # plugin pages and APIs may not claim /static/* either: that is for register_static_dirs
    taken[("mount", "/static")] = "the core"

    def add_route(plugin: str, route: Any) -> None:
        key = route_key(route) if isinstance(route, BaseRoute) else None
        if key is None or isinstance(route, Host):
            out.problems.append(f"plugin {plugin!r}: register_routes got {type(route).__name__}; "
                                "expected a Starlette Route, WebSocketRoute or Mount")
            return
        owner = _clash(key, taken)
        if owner is None and any(p.path_regex.match(key[1]) for p in patterns):
            owner = "the core"
        if owner is not None:
            out.problems.append(f"plugin {plugin!r}: route {key[1]!r} collides with a path of "
                                f"{owner}; ignored")
            return
        taken[key] = f"plugin {plugin!r}"
        out.routes.append(route)

    menu: dict[str, str] = {link.path: "the core" for link in core_nav}

    def add_nav(plugin: str, link: Any) -> None:
        if not isinstance(link, NavLink):
            out.problems.append(f"plugin {plugin!r}: register_nav_links got {type(link).__name__}; "
                                "expected pstt_core.web.NavLink")
            return
        if link.path in menu:
            out.problems.append(f"plugin {plugin!r}: menu link to {link.path!r} is already "
                                f"added by {menu[link.path]}; ignored")
            return
        menu[link.path] = f"plugin {plugin!r}"
        out.nav.append(link)

    def add_templates(plugin: str, directory: Any) -> None:
        path = Path(directory)
        if not path.is_dir():
            out.problems.append(f"plugin {plugin!r}: template directory {str(path)!r} does not exist")
            return
        out.template_dirs.append(path)

    statics: dict[str, str] = {"pstt": "the core"}

    def add_static(plugin: str, item: Any) -> None:
        try:
            name, directory = item
        except (TypeError, ValueError):
            out.problems.append(f"plugin {plugin!r}: register_static_dirs expects (name, directory)")
            return
        if not isinstance(name, str) or not _NAME_RE.fullmatch(name) or name in statics:
            owner = statics.get(str(name), "an invalid name")
            out.problems.append(f"plugin {plugin!r}: static name {name!r} is taken by {owner}; ignored")
            return
        if not Path(directory).is_dir():
            out.problems.append(f"plugin {plugin!r}: static directory {str(directory)!r} does not exist")
            return
        statics[name] = f"plugin {plugin!r}"
        out.static.append(Mount(f"/static/{name}", app=StaticFiles(directory=directory),
                                name=f"static-{name}"))

    hooks = pstt.hooks
    hooks.collect("register_routes", add_route, pstt=pstt, env_for=pstt.plugin_env)
    hooks.collect("register_nav_links", add_nav)
    hooks.collect("register_template_dirs", add_templates)
    hooks.collect("register_static_dirs", add_static)
    for problem in out.problems:
        log.warning("web: %s", problem)
    hooks.problems.extend(out.problems)
    return out
