"""Review pages for consolidators: completeness, chasing, review decisions."""

from flask import Blueprint

bp = Blueprint("review", __name__, url_prefix="/review")


@bp.context_processor
def _display_helpers() -> dict:
    from server.reporting import display

    return display.template_helpers()


from server.review import matrix_views, report_views  # noqa: E402,F401  (registers routes)
