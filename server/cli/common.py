"""What every command of the ``tianbao`` CLI shares: locale, refusals, the acting account.

Commands are made with :func:`command` (one of its own) or :func:`group` (a group of
them), never with bare click decorators: either way a command runs inside the
application context, in the CLI's locale, and a service's :class:`Refusal`
becomes its translated message on standard error and exit status 1.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from functools import wraps

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select

from server import migrate
from server.db import database, db_session, unit_of_work
from server.labels import column_label
from server.models import Role, User
from server.services import accounts
from server.services.errors import Refusal, problem_text


class Failure(click.ClickException):
    """A translated error: printed as is (no untranslated "Error:" prefix), exit status 1."""

    def show(self, file=None) -> None:
        click.echo(self.format_message(), err=True)


def cli_locale() -> str:
    """zh_CN or en, from TIANBAO_LOCALE or the usual LC_ALL/LC_MESSAGES/LANG variables."""
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


def _in_cli_terms(function):
    """Run *function* in the CLI's locale; a refusal becomes a :class:`Failure`."""

    @wraps(function)
    def run(*args, **kwargs):
        with force_locale(cli_locale()):
            try:
                return function(*args, **kwargs)
            except Refusal as refusal:
                raise Failure(str(refusal)) from None

    return run


def command(*args, **kwargs):
    """A command of its own (like ``init``), for the package to add to ``tianbao``."""

    def decorator(function):
        return click.command(*args, **kwargs)(with_appcontext(_in_cli_terms(function)))

    return decorator


class TianbaoGroup(AppGroup):
    """A group whose commands run like those made with :func:`command`."""

    def command(self, *args, **kwargs):
        parent = super().command

        def decorator(function):
            return parent(*args, **kwargs)(_in_cli_terms(function))

        return decorator


def group(*args, **kwargs):
    """A group of commands (like ``units``), for the package to add to ``tianbao``."""
    return click.group(*args, cls=TianbaoGroup, **kwargs)


def engine():
    return database().engine


def require_migrated() -> None:
    if not migrate.is_up_to_date(engine()):
        raise Failure(_("The database is not up to date. Run “tianbao init” first."))


def user_or_fail(username: str) -> User:
    user = accounts.get_user(db_session(), username)
    if user is None:
        raise Failure(_("There is no account “%(username)s”.", username=username))
    return user


def acting_account(username: str | None) -> User:
    """The account named by --as, or the only active administrator."""
    if username:
        user = user_or_fail(username)
        if not user.active:
            raise Failure(_("The account %(username)s is disabled.", username=user.username))
        return user
    admins = db_session().scalars(
        select(User).where(User.role == Role.ADMIN, User.active.is_(True)).limit(2)).all()
    if len(admins) != 1:
        raise Failure(_("Name the account to act as with --as USERNAME."))
    return admins[0]


def import_file(importer, file) -> object:
    """Run an all-or-nothing *importer* (a service taking session, bytes and file name) on
    *file* in one unit of work; its problems, if any, fail the command with nothing saved."""
    require_migrated()
    with unit_of_work(db_session()) as session:
        report = importer(session, file.read_bytes(), file.name)
        if not report.ok:
            raise Failure(problems_text(report.problems))
    return report


def problems_text(problems) -> str:
    """The problems of an imported file, one line each with its row and column."""
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


class TerminalProgress:
    """A progress bar on stderr for work that takes more than a second, only on a terminal:
    piped or redirected output stays exactly what it was (parseable). Call it with the
    number of units done; use it as a context manager so the bar ends its line."""

    DELAY = 1.0  # seconds before a bar appears: quick work shows none

    def __init__(self, total: int, label: str, stream=None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.total, self.label, self.clock = total, label, clock
        self.stream = stream if stream is not None else sys.stderr
        self.started = clock()
        self.bar = None
        self.shown = 0

    @property
    def on_terminal(self) -> bool:
        isatty = getattr(self.stream, "isatty", None)
        return bool(isatty and isatty())

    def __call__(self, done: int, total: int | None = None) -> None:
        if total is not None and self.bar is None:
            self.total = total
        if self.bar is None:
            if not self.on_terminal or self.total <= 0 or self.clock() - self.started < self.DELAY:
                return
            self.bar = click.progressbar(length=self.total, label=self.label, file=self.stream,
                                         show_pos=True)
            self.bar.__enter__()
        step = min(done, self.total) - self.shown
        if step > 0:
            self.bar.update(step)
            self.shown += step

    def __enter__(self) -> TerminalProgress:
        return self

    def __exit__(self, *exc) -> None:
        if self.bar is not None:
            self.bar.__exit__(*exc)
