"""Consolidation pages: a subtree's figures with their provenance, and merged downloads."""

from flask import Blueprint

bp = Blueprint("consolidation", __name__, url_prefix="/consolidation")


@bp.context_processor
def _display_helpers() -> dict:
    from forms.definition import FieldKind
    from server.reporting import display

    return {
        "FieldKind": FieldKind,
        "value_text": display.value_text,
        "number_text": display.number_text,
        "unit_text": display.unit_text,
        "item_columns": display.item_columns,
    }


from server.consolidation import download_views, figures_views  # noqa: E402,F401  (routes)
