"""Reporting pages for the units: what they owe, the form, history and print."""

from flask import Blueprint

bp = Blueprint("reporting", __name__, url_prefix="/reports")


@bp.context_processor
def _display_helpers() -> dict:
    from server.reporting import display, report_form

    return {
        **display.template_helpers(),
        "field_name": report_form.field_name,
        "template_row": report_form.template_row,
        "cell_anchor": report_form.cell_anchor,
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
