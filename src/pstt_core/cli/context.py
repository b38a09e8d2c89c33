"""Shared CLI helpers: the facade from the context, and error → exit code translation."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import Any

import click

from ..errors import ConfigError, ConflictError, NotFoundError, PsttError, RecordNotWrittenError

EXIT_OK, EXIT_FAILED, EXIT_CONFIG, EXIT_CONFLICT = 0, 1, 2, 3
# The run ended but its record is not in the history yet (kept in the run journal).
EXIT_UNRECORDED = 4


def get_pstt(ctx: click.Context | None = None, **kwargs: Any) -> Any:
    """The :class:`~pstt_core.Pstt` for ``--home``, created once per invocation."""
    ctx = ctx or click.get_current_context()
    root = ctx.find_root()
    root.ensure_object(dict)
    if "pstt" not in root.obj:
        from ..facade import Pstt

        root.obj["pstt"] = Pstt(root.obj.get("home"), **kwargs)
    return root.obj["pstt"]


@contextlib.contextmanager
def cli_errors() -> Iterator[None]:
    """Print PSTT errors as one line on stderr with a meaningful exit code, no traceback."""
    try:
        yield
    except PsttError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(_exit_code(exc))
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)


def _exit_code(exc: PsttError) -> int:
    if isinstance(exc, (ConfigError, NotFoundError)):
        return EXIT_CONFIG
    if isinstance(exc, ConflictError):
        return EXIT_CONFLICT
    if isinstance(exc, RecordNotWrittenError):
        return EXIT_UNRECORDED
    return EXIT_FAILED
