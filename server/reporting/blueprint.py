"""The reporting blueprint and the display helpers of its templates."""

from flask import Blueprint

from server.reporting import display, report_form

bp = Blueprint("reporting", __name__, url_prefix="/reports")


@bp.context_processor
def _display_helpers() -> dict:
    return {
        **display.template_helpers(),
        "field_name": report_form.field_name,
        "template_row": report_form.template_row,
        "cell_anchor": report_form.cell_anchor,
        "column_inputs": display.column_inputs,
        "indicators": display.indicators,
        "progress_column": display.progress_column,
    }
