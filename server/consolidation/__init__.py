"""Consolidation pages: a subtree's figures with their provenance, and merged downloads."""

from flask import Blueprint

bp = Blueprint("consolidation", __name__, url_prefix="/consolidation")


@bp.context_processor
def _display_helpers() -> dict:
    from server.reporting import display

    return display.template_helpers()


from server.consolidation import download_views, figures_views  # noqa: E402,F401  (routes)
