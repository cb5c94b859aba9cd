"""The Excel round trip in the browser: template download, upload, bulk upload."""

from flask import Blueprint

bp = Blueprint("workbooks", __name__)


@bp.app_context_processor
def _workbook_helpers() -> dict:
    from server.workbooks.views import may_upload

    return {"workbook_upload_allowed": may_upload}


from server.workbooks import views  # noqa: E402,F401  (registers routes)
