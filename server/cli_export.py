"""``tianbao export``: merged workbooks and flat data of a consolidation, from the shell."""

from __future__ import annotations

from server.cli import cli


@cli.group("export")
def export_group() -> None:
    """Export consolidated data."""
