"""Review pages for consolidators: completeness, chasing, review decisions."""

from flask import Blueprint

bp = Blueprint("review", __name__, url_prefix="/review")


@bp.context_processor
def _display_helpers() -> dict:
    from forms.definition import FieldKind
    from server.reporting import display

    return {
        "FieldKind": FieldKind,
        "value_text": display.value_text,
        "number_text": display.number_text,
        "unit_text": display.unit_text,
    }


from server.review import matrix_views, report_views  # noqa: E402,F401  (registers routes)
