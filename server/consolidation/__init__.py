"""Consolidation pages: a subtree's figures with their provenance, and merged downloads."""

from server.consolidation import (  # noqa: F401  (routes)
    closing_views,
    download_views,
    figures_views,
)
from server.consolidation.blueprint import bp

__all__ = ["bp"]
