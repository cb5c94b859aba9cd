"""The review blueprint and the display helpers of its templates."""

from flask import Blueprint

from server.reporting import display

bp = Blueprint("review", __name__, url_prefix="/review")


@bp.context_processor
def _display_helpers() -> dict:
    return display.template_helpers()
