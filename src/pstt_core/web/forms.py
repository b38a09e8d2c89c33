"""Forms generated from options classes: the schedule form's fields and ``GET /api/plugins``.

Each attrs field of a sink type's options class becomes ``{name, label, type, widget,
required, default, help, choices, secret, advanced}`` from its type, default and metadata:
``label``, ``help``, ``choices``, ``widget`` (``text``, ``textarea``, ``number``,
``checkbox``, ``select``, ``list``, ``json`` — the default for mapping fields), ``secret``,
``advanced``, and ``choices_from``: a source of names offered as the choices — ``"formats"``
(every registered output format), ``"databases"`` or a ``connections.json`` section such as
``"kafka_connections"`` — resolved by the ``choices_for`` callable a caller passes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

import attrs

from ..converter import unstructure
from ..sinks import SinkType

if TYPE_CHECKING:
    from ..facade import Pstt

ChoicesFor = Callable[[str], "list[str]"]


def option_schema(cls: type, choices_for: ChoicesFor | None = None) -> list[dict[str, Any]]:
    """The form fields of an attrs options class; without ``choices_for`` (describing the
    class alone) ``choices_from`` fields stay free text."""
    fields = []
    for a in attrs.fields(cls):
        meta = dict(a.metadata)
        source = meta.get("choices_from")
        if source and choices_for is not None:
            names = choices_for(source)
            if names:  # with nothing configured the field stays free text
                meta["choices"] = tuple(names)
        required = a.default is attrs.NOTHING
        default = None
        if not required:
            factory = getattr(a.default, "factory", None)
            default = factory() if factory is not None else a.default
        type_name = getattr(a.type, "__name__", str(a.type))
        widget = meta.get("widget") or _widget_for(str(a.type), meta)
        fields.append({
            "name": a.name,
            "label": meta.get("label", a.name.replace("_", " ").capitalize()),
            "type": type_name,
            "widget": widget,
            "required": required,
            "default": unstructure(default),
            "help": meta.get("help", ""),
            "choices": list(meta.get("choices", ())),
            "secret": bool(meta.get("secret", False)),
            "advanced": bool(meta.get("advanced", False)),
        })
    return fields


def _widget_for(type_text: str, meta: Mapping[str, Any]) -> str:
    if meta.get("choices"):
        return "select"
    if "dict" in type_text or "Mapping" in type_text:
        return "json"
    if "bool" in type_text:
        return "checkbox"
    if "int" in type_text or "float" in type_text:
        return "number"
    if "list" in type_text:
        return "list"
    return "text"


def sink_schema(sink: SinkType, choices_for: ChoicesFor | None = None) -> dict[str, Any]:
    """A sink type for pages and the API, with its form fields."""
    return {
        "name": sink.name,
        "label": sink.label,
        "description": sink.description,
        "available": sink.available,
        "unavailable_reason": sink.unavailable_reason,
        "options": option_schema(sink.options, choices_for),
        "history_fields": list(sink.history_fields),
    }


def facade_choices(pstt: Pstt) -> ChoicesFor:
    """``choices_for`` over a facade: its formats, databases and configured sections."""
    def choices_for(source: str) -> list[str]:
        if source == "formats":
            return sorted(pstt.registry.formats)
        if source == "databases":
            return sorted(pstt.config.databases)
        return sorted(pstt.config.section(source))

    return choices_for
