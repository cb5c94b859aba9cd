"""``tianbao tokens``: personal API tokens, from the shell."""

from __future__ import annotations

from server.cli import cli


@cli.group("tokens")
def tokens_group() -> None:
    """Create and revoke personal API tokens."""
