"""The spreadsheet import page shared by units and accounts.

Both imports take one uploaded file, change nothing unless the whole file is
correct, and then either list the file's problems or report what they created
and updated.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from flask import flash, redirect, render_template, url_for
from sqlalchemy.orm import Session

from server.admin.forms import ImportForm
from server.db import db_session
from server.services.errors import problem_text


class ImportOutcome(Protocol):
    problems: list
    created: list[str]
    updated: list[str]

    @property
    def ok(self) -> bool: ...


def import_page(
    kind: str,
    run_import: Callable[[Session, bytes, str], ImportOutcome],
    finished: Callable[[int, int], str],
    done_endpoint: str,
    background: Callable[[Session, bytes, str], Any] | None = None,
):
    """Show the upload form of *kind* (``units`` or ``users``) and run the import.

    On success, flash ``finished(created, updated)`` and go to *done_endpoint*;
    otherwise show the form again with the file's problems, with status 400.
    *background* may take a large file over instead (its answer is the page's), or
    decline with None (it then lists the file's problems, or it is small).
    """
    form = ImportForm()
    report = None
    if form.validate_on_submit():
        upload = form.file.data
        data, name = upload.read(), upload.filename or ""
        handed = background(db_session(), data, name) if background is not None else None
        if handed is not None:
            return handed
        report = run_import(db_session(), data, name)
        if report.ok:
            flash(finished(len(report.created), len(report.updated)), "success")
            return redirect(url_for(done_endpoint))
    status = 400 if form.errors or (report and not report.ok) else 200
    return render_template("admin/import.html", form=form, report=report, kind=kind,
                           problem_text=problem_text), status
