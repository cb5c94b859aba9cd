"""The ``tianbao`` command line. Commands are thin: they call services and print.

Messages are translated into the locale taken from ``TIANBAO_LOCALE`` or the
usual ``LC_ALL``/``LC_MESSAGES``/``LANG`` variables (zh_CN unless they ask for English).
"""

from __future__ import annotations

import os
from functools import wraps
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup, FlaskGroup
from flask_babel import force_locale
from flask_babel import gettext as _

from forms.loader import DefinitionError
from server import migrate
from server.db import database, db_session, unit_of_work
from server.labels import column_label
from server.models import Role
from server.services import accounts
from server.services import templates as template_service
from server.services import units as unit_service
from server.services.errors import NotVisible, Refusal, problem_text


class Failure(click.ClickException):
    """A translated error: printed as is (no untranslated "Error:" prefix), exit status 1."""

    def show(self, file=None) -> None:
        click.echo(self.format_message(), err=True)


def cli_locale() -> str:
    for name in ("TIANBAO_LOCALE", "LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(name, "").strip()
        if not value:
            continue
        if value.lower().startswith("en"):
            return "en"
        if value.lower().startswith("zh"):
            return "zh_CN"
        if name == "TIANBAO_LOCALE":
            break
    return current_app.config.get("BABEL_DEFAULT_LOCALE", "zh_CN")


class _LocalisedCommands:
    """Run every command inside the app context in the CLI's locale."""

    def command(self, *args, **kwargs):
        parent = super().command

        def decorator(function):
            @wraps(function)
            def localised(*inner_args, **inner_kwargs):
                with force_locale(cli_locale()):
                    return function(*inner_args, **inner_kwargs)

            return parent(*args, **kwargs)(localised)

        return decorator

    def group(self, *args, **kwargs):
        kwargs.setdefault("cls", TianbaoGroup)
        return super().group(*args, **kwargs)


class TianbaoGroup(_LocalisedCommands, AppGroup):
    pass


class TianbaoCLI(_LocalisedCommands, FlaskGroup):
    pass


def _create_app():
    from server.app import create_app

    return create_app()


cli = TianbaoCLI(
    create_app=_create_app,
    add_default_commands=False,
    add_version_option=False,
    load_dotenv=False,
    help="Tianbao (填报): reporting, validation and consolidation through an organisation tree.",
)


def main() -> None:
    cli.main(prog_name="tianbao")


def _engine():
    return database().engine


def _require_migrated() -> None:
    if not migrate.is_up_to_date(_engine()):
        raise Failure(_("The database is not up to date. Run “tianbao init” first."))


# --- init and serve ----------------------------------------------------------------------


@cli.command("init")
@click.option("--demo", is_flag=True, help="Also load the demo organisation and accounts.")
def init_command(demo: bool) -> None:
    """Create or upgrade the database and load built-in data (safe to run again)."""
    migrate.upgrade(_engine())
    click.echo(_("Database ready (revision %(revision)s).",
                 revision=migrate.current_revision(_engine())))
    try:
        loaded = _load_catalogue()
    except DefinitionError as exc:
        raise Failure(str(exc)) from None
    click.echo(_("Built-in templates: %(count)s new or changed.", count=loaded))
    if demo:
        from server.demo import demo_password, load_demo

        summary = load_demo(db_session(), demo_password())
        click.echo(_("Demo data: %(units)s units and %(users)s accounts added.",
                     units=summary.units_created, users=summary.users_created))
        click.echo(summary.reports.describe())
        click.echo(summary.accounts_overview())


def _load_catalogue() -> int:
    """Publish the built-in catalogue; returns how many templates got a new version."""
    with unit_of_work(db_session()) as session:
        results = template_service.load_files(session)
    return sum(1 for r in results if r.status != "unchanged")


@cli.command("serve")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=5000, show_default=True, type=int, help="Port to listen on.")
@click.option("--workers", default=2, show_default=True, type=click.IntRange(1, 64),
              help="Number of worker processes.")
@click.option("--threads", default=4, show_default=True, type=click.IntRange(1, 64),
              help="Threads per worker process.")
def serve_command(host: str, port: int, workers: int, threads: int) -> None:
    """Serve the application with gunicorn (production WSGI server)."""
    _require_migrated()
    from server.wsgi import serve

    click.echo(_("Serving on http://%(host)s:%(port)s/ (press Ctrl+C to stop)",
                 host=host, port=port))
    serve(host=host, port=port, workers=workers, threads=threads)


# --- db ----------------------------------------------------------------------------------


@cli.group("db")
def db_group() -> None:
    """Database schema migrations."""


@db_group.command("upgrade")
@click.argument("revision", default="head")
def db_upgrade(revision: str) -> None:
    """Upgrade the schema (to the newest revision by default)."""
    migrate.upgrade(_engine(), revision)
    click.echo(_("Database at revision %(revision)s.",
                 revision=migrate.current_revision(_engine()) or "-"))


@db_group.command("downgrade")
@click.argument("revision", default="-1")
def db_downgrade(revision: str) -> None:
    """Downgrade the schema (one revision by default)."""
    migrate.downgrade(_engine(), revision)
    click.echo(_("Database at revision %(revision)s.",
                 revision=migrate.current_revision(_engine()) or "-"))


@db_group.command("current")
def db_current() -> None:
    """Show the schema revision of the database."""
    current = migrate.current_revision(_engine())
    head = migrate.head_revision()
    click.echo(current or "-")
    if current != head:
        click.echo(_("Newest revision: %(revision)s. Run “tianbao db upgrade”.", revision=head))


# --- units -------------------------------------------------------------------------------


@cli.group("units")
def units_group() -> None:
    """The organisation tree."""


@units_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def units_import(file: Path) -> None:
    """Import units from an .xlsx or .csv file (all or nothing)."""
    _require_migrated()
    with unit_of_work(db_session()) as session:
        report = unit_service.import_units(session, file.read_bytes(), file.name)
    if not report.ok:
        raise Failure(_problems_text(report.problems))
    click.echo(_("%(created)s units created, %(updated)s updated, %(moved)s moved.",
                 created=len(report.created), updated=len(report.updated),
                 moved=len(report.moved)))


@units_group.command("list")
@click.option("--under", "under_code", metavar="CODE", help="Only this unit and those below.")
def units_list(under_code: str | None) -> None:
    """List units as an indented tree: code, kind, name."""
    _require_migrated()
    session = db_session()
    if under_code:
        under = unit_service.get_unit(session, under_code)
        if under is None:
            raise Failure(_("There is no unit with code “%(code)s”.", code=under_code))
        found = unit_service.subtree(session, under)
    else:
        from server.scope import visible_units

        found = visible_units(session, _SystemUser())
    base = found[0].depth if found else 0
    for unit in found:
        flag = "" if unit.active else " " + _("(inactive)")
        click.echo(f"{'  ' * (unit.depth - base)}{unit.code}\t{unit.kind}\t{unit.name}{flag}")


class _SystemUser:
    """The CLI acts as an administrator: whoever runs it has the server's files anyway."""

    is_authenticated = True
    active = True
    role = Role.ADMIN
    unit = None


# --- users -------------------------------------------------------------------------------


@cli.group("users")
def users_group() -> None:
    """Accounts."""


@users_group.command("create")
@click.argument("username")
@click.option("--role", type=click.Choice([role.value for role in Role]), required=True,
              help="submitter, consolidator or admin.")
@click.option("--unit", "unit_code", metavar="CODE", help="The unit (not needed for admin).")
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              help="Initial password (asked for if omitted).")
def users_create(username: str, role: str, unit_code: str | None, password: str) -> None:
    """Create an account."""
    _require_migrated()
    try:
        with unit_of_work(db_session()) as session:
            unit = accounts.find_unit(session, unit_code)
            user = accounts.create_user(session, username, password, role, unit)
    except Refusal as error:
        raise Failure(str(error)) from None
    click.echo(_("The account %(username)s has been created.", username=user.username))


@users_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
def users_import(file: Path) -> None:
    """Import accounts from an .xlsx or .csv file (all or nothing)."""
    _require_migrated()
    with unit_of_work(db_session()) as session:
        report = accounts.import_users(session, file.read_bytes(), file.name)
    if not report.ok:
        raise Failure(_problems_text(report.problems))
    click.echo(_("Import finished: %(created)s accounts created, %(updated)s updated.",
                 created=len(report.created), updated=len(report.updated)))


@users_group.command("list")
@click.option("--under", "under_code", metavar="CODE", help="Only accounts of units below CODE.")
def users_list(under_code: str | None) -> None:
    """List accounts: username, role, unit code, status."""
    _require_migrated()
    session = db_session()
    under = None
    if under_code:
        under = unit_service.get_unit(session, under_code)
        if under is None:
            raise Failure(_("There is no unit with code “%(code)s”.", code=under_code))
    for user in accounts.list_users(session, under=under):
        status = "" if user.active else "\t" + _("disabled")
        click.echo(f"{user.username}\t{user.role}\t{user.unit.code if user.unit else '-'}{status}")


def _user_or_fail(username: str):
    user = accounts.get_user(db_session(), username)
    if user is None:
        raise Failure(_("There is no account “%(username)s”.", username=username))
    return user


@users_group.command("disable")
@click.argument("username")
def users_disable(username: str) -> None:
    """Disable an account (it can no longer sign in)."""
    _require_migrated()
    user = _user_or_fail(username)
    with unit_of_work(db_session()) as session:
        accounts.set_active(session, user, False)
    click.echo(_("The account %(username)s is disabled.", username=user.username))


@users_group.command("enable")
@click.argument("username")
def users_enable(username: str) -> None:
    """Enable a disabled account."""
    _require_migrated()
    user = _user_or_fail(username)
    with unit_of_work(db_session()) as session:
        accounts.set_active(session, user, True)
    click.echo(_("The account %(username)s is enabled.", username=user.username))


def _problems_text(problems) -> str:
    lines = [_("The file has %(count)s problems. Nothing was imported.", count=len(problems))]
    for problem in problems:
        where = []
        if problem.row is not None:
            where.append(_("row %(row)s", row=problem.row))
        if problem.column:
            where.append(_("column %(column)s", column=column_label(problem.column)))
        text = problem_text(problem)
        lines.append(f"  {', '.join(where)}: {text}" if where else f"  {text}")
    return "\n".join(lines)


# --- templates ---------------------------------------------------------------------------


@cli.group("templates")
def templates_group() -> None:
    """Publish and list template definitions."""


@templates_group.command("load")
@click.argument("files", nargs=-1, type=click.Path(exists=True, dir_okay=False, path_type=Path))
def templates_load(files: tuple[Path, ...]) -> None:
    """Publish definition files (default: the built-in catalogue); unchanged ones stay."""
    _require_migrated()
    try:
        with unit_of_work(db_session()) as session:
            results = template_service.load_files(session, list(files) or None)
    except DefinitionError as exc:
        heading = _("Nothing was published: the definition has problems.")
        raise Failure(f"{heading}\n{exc}") from None
    messages = {
        "created": _("%(key)s: version %(version)s published (new template)."),
        "updated": _("%(key)s: version %(version)s published (changed)."),
        "unchanged": _("%(key)s: unchanged, version %(version)s stays current."),
    }
    for result in results:
        click.echo(messages[result.status] % {"key": result.key, "version": result.version})


@templates_group.command("list")
def templates_list() -> None:
    """List template keys with their latest version and title."""
    _require_migrated()
    rows = template_service.list_latest(db_session())
    if not rows:
        click.echo(_("No templates yet: run “tianbao templates load”."))
    for row, count in rows:
        retired = " " + _("(retired)") if row.retired else ""
        click.echo(f"{row.key}\tv{row.version}\t{count}\t{row.title}{retired}")


# --- workbooks ---------------------------------------------------------------------------


@cli.group("workbook")
def workbook_group() -> None:
    """Template workbooks out, filled workbooks in (Excel, WPS, LibreOffice)."""


def _acting_account(username: str | None):
    """The account named by --as, or the only active administrator."""
    from sqlalchemy import select

    from server.models import User

    if username:
        user = _user_or_fail(username)
        if not user.active:
            raise Failure(_("The account %(username)s is disabled.", username=user.username))
        return user
    admins = db_session().scalars(
        select(User).where(User.role == Role.ADMIN, User.active.is_(True)).limit(2)).all()
    if len(admins) != 1:
        raise Failure(_("Name the account to act as with --as USERNAME."))
    return admins[0]


@workbook_group.command("template")
@click.option("--assignment", "assignment_key", required=True, metavar="KEY",
              help="The assignment's key.")
@click.option("--unit", "unit_code", required=True, metavar="CODE", help="The unit's code.")
@click.option("--period", required=True, metavar="PERIOD", help="The period, e.g. 2024Q3.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the workbook (default: a name from unit, period and form).")
@click.option("--as", "username", metavar="USERNAME",
              help="Act as this account (default: the only administrator).")
def workbook_template(assignment_key: str, unit_code: str, period: str, output: Path | None,
                      username: str | None) -> None:
    """Write the template workbook of one report, filled with its current values."""
    from server.services import reporting, workbooks

    _require_migrated()
    user = _acting_account(username)
    try:
        view = reporting.load(db_session(), user, assignment_key, unit_code, period)
    except NotVisible:
        raise Failure(_("There is no report of assignment %(assignment)s for unit %(unit)s in "
                        "period %(period)s within the reach of %(username)s.",
                        assignment=assignment_key, unit=unit_code, period=period,
                        username=user.username)) from None
    workbook = workbooks.template_for(db_session(), user, view)
    target = output or Path(workbook.filename)
    target.write_bytes(workbook.data)
    click.echo(_("Workbook written to %(path)s.", path=target))


@workbook_group.command("import")
@click.argument("files", nargs=-1, required=True,
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--as", "username", metavar="USERNAME",
              help="Act as this account (default: the only administrator).")
@click.option("--annotated-dir", type=click.Path(file_okay=False, path_type=Path),
              help="Write workbooks with errors, problems marked, into this folder.")
@click.pass_context
def workbook_import(ctx: click.Context, files: tuple[Path, ...], username: str | None,
                    annotated_dir: Path | None) -> None:
    """Save filled workbooks (or .zip bundles) as drafts of the reports they belong to.

    Prints one line per workbook; exits with status 1 when any was not saved.
    """
    from server.services import workbooks

    _require_migrated()
    user = _acting_account(username)
    with unit_of_work(db_session()) as session:
        outcomes = workbooks.import_bulk(session, user,
                                         [(path.name, path.read_bytes()) for path in files])
    for outcome in outcomes:
        click.echo(f"{outcome.filename}: {workbooks.summary(outcome)}")
        if outcome.result != workbooks.REFUSED:
            for line in workbooks.issue_lines(outcome):
                where = f"{line.sheet}!{line.cell} " if line.cell else ""
                label = f"{line.label}: " if line.label else ""
                click.echo(f"  {where}{label}{line.message}")
        if outcome.annotated is not None and annotated_dir is not None:
            annotated_dir.mkdir(parents=True, exist_ok=True)
            target = annotated_dir / outcome.annotated.filename
            target.write_bytes(outcome.annotated.data)
            click.echo("  " + _("Problems marked in %(path)s.", path=target))
    if any(not outcome.saved for outcome in outcomes):
        ctx.exit(1)


# Command groups kept in their own modules; importing them registers them on ``cli``.
from server import cli_export, cli_tokens  # noqa: E402,F401
