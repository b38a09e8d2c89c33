"""``python -m pstt_core`` is the ``pstt`` command (useful where scripts are not on PATH)."""

from .cli import main

main()
