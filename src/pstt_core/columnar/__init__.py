"""The columnar path: a run's result as Arrow record batches, from the database to the sink.

Chosen by the pipeline when every piece can serve the run — the ``fast`` extra is installed
(``pip install "pstt[fast]"``: pyarrow and the ADBC drivers), the database is SQLite or
PostgreSQL with a configuration ADBC can reproduce, the result's column types are ones every
columnar writer renders like the row path, and the sink accepts Arrow batches with its
options (:meth:`pstt_core.sinks.Sink.accepts_arrow`). Otherwise the run takes the row path,
which is the reference: the columnar path writes the same values (see docs/FILESYSTEM.md for
the formatting differences it has).

- :mod:`.source` opens the ADBC connection and streams batches (cancel, timeouts, read-only);
- :mod:`.values` renders Arrow columns as the row path's text and JSON.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from typing import Any

# The modules the columnar path needs, per database backend.
_MODULES = {"sqlite": ("pyarrow", "adbc_driver_manager", "adbc_driver_sqlite"),
            "postgresql": ("pyarrow", "adbc_driver_manager", "adbc_driver_postgresql")}


def installed(backend: str) -> bool:
    """Whether the packages for ``backend`` (``sqlite``, ``postgresql``) are installed."""
    modules = _MODULES.get(backend)
    return bool(modules) and all(importlib.util.find_spec(m) is not None for m in modules or ())


# The part of the columnar path plugins use (``from pstt_core import columnar``); pyarrow is
# imported on first use, so importing pstt_core never needs it.

def supported(arrow_type: Any) -> bool:
    """Whether values of ``arrow_type`` are rendered exactly like the row path's values."""
    from .types import supported as check
    return check(arrow_type)


def text(column: Any) -> Any:
    """The row path's text cells (``to_text``) of an Arrow column; NULL stays NULL."""
    from .values import text as render
    return render(column)


def json_keys(columns: Sequence[str]) -> list[str]:
    """Object keys with their colon (``"name":``) for :func:`json_objects`."""
    from .values import json_keys as keys
    return keys(columns)


def json_objects(batch: Any, keys: Sequence[str], indexes: Sequence[int], *, nan: str,
                 prefix: str = "", suffix: str = "") -> Any:
    """One JSON object (text) per row of ``batch``: ``keys[i]`` with column ``indexes[i]``.

    :param nan: non-finite floats as ``"null"`` (orjson's way) or ``"python"`` (``NaN``,
        ``Infinity``: ``json.dumps``'s way).
    """
    from .values import json_objects as objects
    return objects(batch, keys, indexes, nan=nan, prefix=prefix, suffix=suffix)
