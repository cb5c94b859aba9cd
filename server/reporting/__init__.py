"""Reporting pages for the units: what they owe, the form, history and print."""

from flask import Blueprint

bp = Blueprint("reporting", __name__, url_prefix="/reports")


@bp.context_processor
def _display_helpers() -> dict:
    from server.reporting import display
    from server.services import report_forms

    return {
        **display.template_helpers(),
        "field_name": report_forms.field_name,
        "template_row": report_forms.template_row,
        "cell_anchor": report_forms.cell_anchor,
        "column_inputs": display.column_inputs,
        "indicators": display.indicators,
        "progress_column": display.progress_column,
    }


from server.reporting import (  # noqa: E402,F401  (registers routes)
    form_views,
    history_views,
    print_views,
    tasks,
)
