"""The consolidation blueprint and the display helpers of its templates."""

from flask import Blueprint

from server.reporting import display

bp = Blueprint("consolidation", __name__, url_prefix="/consolidation")


@bp.context_processor
def _display_helpers() -> dict:
    return display.template_helpers()
