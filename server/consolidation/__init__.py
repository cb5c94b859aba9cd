"""Consolidation pages: a subtree's figures with their provenance, and merged downloads."""

from server.consolidation import download_views, figures_views  # noqa: F401  (routes)
from server.consolidation.blueprint import bp

__all__ = ["bp"]
