"""``python -m suyuan_cli`` runs the CLI (the same as the ``suyuan`` command)."""

from suyuan_cli import app

app()
