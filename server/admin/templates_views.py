"""Template administration: the published templates, their versions, uploads."""

from __future__ import annotations

from flask import Response, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from markupsafe import Markup, escape

from forms import schema_help
from forms.loader import DefinitionError
from forms.targets import describe as describe_target
from server.admin.blueprint import bp
from server.admin.forms import ActionForm
from server.auth.access import roles_required
from server.db import db_session
from server.downloads import content_disposition
from server.locale import current_locale_code
from server.models import Role
from server.services import templates as template_service


class DefinitionUploadForm(FlaskForm):
    file = FileField(
        _l("Definition file (.yaml or .json)"),
        validators=[
            FileRequired(_l("Choose a file to upload.")),
            FileAllowed(["yaml", "yml", "json"],
                        _l("Only .yaml, .yml and .json files can be uploaded.")),
        ],
    )


@bp.route("/templates", methods=["GET", "POST"])
@roles_required(Role.ADMIN)
def templates():
    """Every template with its latest version, and the upload of a definition file."""
    session = db_session()
    form = DefinitionUploadForm()
    problems = None
    if form.validate_on_submit():
        upload = form.file.data
        try:
            result = template_service.upload(
                session, upload.read(), upload.filename or "definition.yaml", current_user.id
            )
        except DefinitionError as exc:
            problems = exc.problems
        else:
            flash_published(result)
            return redirect(url_for("admin.template_detail", key=result.key))
    status = 400 if form.errors or problems else 200
    return render_template("admin/templates.html", rows=template_service.list_latest(session),
                           form=form, problems=problems), status


@bp.get("/definition-help")
@roles_required(Role.ADMIN)
def template_help():
    """The definition format, generated from the schema, with a complete example."""
    return render_template(
        "admin/template_help.html", models=schema_help.document(),
        operators=schema_help.RULE_OPERATORS, functions=schema_help.RULE_FUNCTIONS,
        rule_notes=schema_help.RULE_NOTES, example=schema_help.example_text(),
        type_html=_type_html, constraint_text=_constraint_text,
    )


@bp.get("/definition-help/example.yaml")
@roles_required(Role.ADMIN)
def template_example():
    """The example definition as a file to save, change and upload."""
    return Response(
        schema_help.example_text(), mimetype="application/yaml",
        headers={"Content-Disposition": "attachment; filename=definition_example.yaml"},
    )


def _type_html(doc: schema_help.TypeDoc) -> Markup:
    """A type as HTML: other models of the format are links to their table."""
    if doc.ref:
        return Markup('<a href="#model-{0}"><code>{0}</code></a>').format(doc.ref)
    text = Markup(escape(_(doc.msgid)))
    if not doc.inner:
        return text
    return text % {"inner": Markup(escape(doc.joiner)).join(_type_html(t) for t in doc.inner)}


def _constraint_text(constraint) -> str:
    """A bound such as “at most 31”, translated."""
    msgid, params = constraint
    return _(msgid, **params)


def flash_published(result: template_service.PublishResult) -> None:
    """Say what publishing did: a new version, or nothing because nothing changed."""
    if result.status == "unchanged":
        flash(_("%(key)s is unchanged: version %(version)s stays current.",
                key=result.key, version=result.version), "info")
    else:
        flash(_("%(key)s version %(version)s is published.",
                key=result.key, version=result.version), "success")


@bp.get("/templates/<key>")
@bp.get("/templates/<key>/v<int:version>")
@roles_required(Role.ADMIN)
def template_detail(key: str, version: int | None = None):
    """One version of a template shown as its form: sections, items, fields, rules."""
    session = db_session()
    history = template_service.versions(session, key)
    if not history:
        abort(404)
    row = history[0] if version is None else next(
        (r for r in history if r.version == version), None)
    if row is None:
        abort(404)
    definition, locale = row.definition, current_locale_code()
    return render_template("admin/template_detail.html", row=row, definition=definition,
                           history=history, action_form=ActionForm(),
                           target_text=lambda f: describe_target(f, _, locale, definition))


# The file ending in the address, and the export format it asks for.
_DOWNLOADS = {"yaml": "yaml", "json": "json", "xlsx": "xlsform"}


@bp.get("/templates/<key>/v<int:version>/definition.<any(yaml, json, xlsx):ending>")
@roles_required(Role.ADMIN)
def template_download(key: str, version: int, ending: str):
    """One version's definition as YAML, JSON or XLSForm; unknown key or version: 404."""
    exported = template_service.export_definition(db_session(), key, version,
                                                  _DOWNLOADS[ending])
    response = Response(exported.data, mimetype=exported.mimetype)
    response.headers["Content-Disposition"] = content_disposition(exported.filename)
    return response


@bp.post("/templates/<key>/v<int:version>/retire")
@roles_required(Role.ADMIN)
def template_retire(key: str, version: int):
    return _set_retired(key, version, True)


@bp.post("/templates/<key>/v<int:version>/restore")
@roles_required(Role.ADMIN)
def template_restore(key: str, version: int):
    return _set_retired(key, version, False)


def _set_retired(key: str, version: int, retired: bool):
    session = db_session()
    row = template_service.get_version(session, key, version)
    if row is None or not ActionForm().validate_on_submit():
        abort(404 if row is None else 400)
    template_service.set_retired(session, row, retired)
    if retired:
        flash(_("Version %(version)s is retired: it can no longer be assigned or uploaded.",
                version=version), "success")
    else:
        flash(_("Version %(version)s is in use again.", version=version), "success")
    return redirect(url_for("admin.template_detail", key=key, version=version))
