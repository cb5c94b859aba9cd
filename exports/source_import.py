"""Importing a plan's document or table uploaded by someone: checked, then read in the sandbox.

The readers of ``forms.importers`` parse .docx (lxml), workbooks (openpyxl,
python-calamine) and XLSForms (pyxform): a crafted file could exhaust memory
or crash the process, as with report uploads. So the bytes are measured first
(zip bombs, cell counts, with the checks of :mod:`exports.limits`), then read
in a sandbox child. Every way a file can fail comes back as
:class:`forms.importers.ImportRefused`, whose code the caller translates.
"""

from __future__ import annotations

from typing import Any

from exports import sandbox
from exports.limits import Limits, check_zip, inspect_upload
from exports.messages import CellIssue
from forms.importers import MAX_BYTES, ImportRefused, ImportResult, import_document, kind_of

# Reading a plan is rarer and heavier than reading a filled form (python-docx, pyxform).
BUDGET = sandbox.Budget(memory_bytes=1024 * sandbox.MB, cpu_seconds=20, wall_seconds=30.0)
LIMITS = Limits(max_bytes=MAX_BYTES)

# What a refusal of exports.limits means for an import.
_REFUSALS = {"empty_file": "empty", "file_too_large": "too_large"}


def import_untrusted(data: bytes, filename: str, kind: str | None = None) -> ImportResult:
    """``import_document`` of an upload, after the limits, in a sandbox child."""
    kind = kind or kind_of(filename)
    problem = _check(data, filename, kind)
    if problem is not None:
        raise _refused(problem, filename)
    answer = sandbox.run(_read, data, filename, kind, budget=BUDGET)
    if isinstance(answer, sandbox.Failure):
        raise ImportRefused("damaged", name=filename)
    if isinstance(answer, tuple):  # the reader's own refusal, carried as plain data
        code, params = answer
        raise ImportRefused(code, **params)
    return answer


def _check(data: bytes, filename: str, kind: str | None) -> CellIssue | None:
    if kind == "excel":  # .xlsx, .xls or .ods: measured as report uploads are
        return inspect_upload(data, filename, LIMITS)[1]
    if kind != "text" and data.startswith(b"PK"):  # .docx and XLSForm: zips
        return check_zip(data, filename, LIMITS)
    return None  # plain text, or a file its reader refuses as unreadable


def _refused(problem: CellIssue, filename: str) -> ImportRefused:
    code = _REFUSALS.get(problem.code)
    if code == "too_large":
        return ImportRefused(code, max_mb=MAX_BYTES // sandbox.MB)
    return ImportRefused(code or "damaged", name=filename)


def _read(data: bytes, filename: str, kind: str | None) -> ImportResult | tuple[str, Any]:
    """In the child: the result, or a refusal as (code, params) so nothing raises across."""
    try:
        return import_document(data, filename, kind)
    except ImportRefused as refused:
        return refused.code, refused.params
