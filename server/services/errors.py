"""Refusals: what services raise when they will not do what was asked.

Every expected refusal is a :class:`Refusal` with a machine ``code``; each channel
maps them once (the API to problem+json, the web pages to a flashed message and
the re-rendered page, the CLI to a message and an exit status). The classes say
*why* a request is refused, never how a channel shows it.

The names avoid Werkzeug's HTTP exceptions (``NotFound``, ``Forbidden``,
``Locked``) so that an import never silently means the other one.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask_babel import gettext
from flask_babel import lazy_gettext as _l

from server.locale import translate_issue


class Refusal(Exception):
    """An expected refusal, with a message in the language of whoever reads it.

    *message* is a lazy string (``lazy_gettext``) or an English msgid, so the text
    is translated in the locale of the reader: a web request, an API client or the
    CLI. *field* names the input it concerns, so a form can show it beside that
    input; *params* fill the message's ``%(name)s`` placeholders and travel with
    the refusal (the API adds some of them to its answer).
    """

    code = "refused"
    default_message = _l("The request was refused.")

    def __init__(self, message=None, *, field: str | None = None, **params) -> None:
        message = self.default_message if message is None else message
        super().__init__(message)
        self.message = message
        self.field = field
        self.params = params

    def __str__(self) -> str:
        text = gettext(self.message) if isinstance(self.message, str) else str(self.message)
        return text % self.params if self.params else text


class InvalidInput(Refusal):
    """The input is wrong (a duplicate name, an unknown unit, a weak password...).

    *issue* is the machine code of the problem with the *field* (``required`` for a
    missing comment), for channels that list problems field by field.
    """

    code = "invalid"
    default_message = _l("The input has errors.")

    def __init__(self, message=None, *, field: str | None = None, issue: str = "invalid",
                 **params) -> None:
        super().__init__(message, field=field, **params)
        self.issue = issue


class NotAllowed(Refusal):
    """The account's role or place in the tree does not allow the action."""

    code = "forbidden"
    default_message = _l("Your account's role does not allow this action.")


class NotVisible(Refusal):
    """Nothing the account may see answers to this: it does not exist or is out of scope.

    Channels answer it exactly like an unknown address (404), so a refusal never
    tells whether something exists outside the account's scope.
    """

    code = "not_found"
    default_message = _l("The resource does not exist, or it is outside your account's scope.")


class ReportLocked(Refusal):
    """The report is approved, so it is locked until a consolidator withdraws the approval."""

    code = "locked"
    default_message = _l("This report is approved and locked. Ask your consolidator to "
                         "withdraw the approval if it must change.")


class PeriodClosed(Refusal):
    """A consolidator above closed the report's period: nothing of it may change until
    it is reopened. The parameters name who closed it, where and when."""

    code = "period_closed"
    default_message = _l("%(period)s was closed for %(unit)s on %(closed_at)s by %(closed_by)s: "
                         "reports of that period below it cannot change until it is reopened.")


class InvalidState(Refusal):
    """The action is not possible in the current state of the thing it acts on.

    *state* is that state as a machine value (a report's status), when there is one.
    """

    code = "invalid_state"
    default_message = _l("This is not possible in the current state.")

    def __init__(self, message=None, *, state: str | None = None, **params) -> None:
        super().__init__(message, **params)
        self.state = state


class TooSoon(Refusal):
    """The same thing was done too recently: it may be repeated from *retry_at* on."""

    code = "too_soon"
    default_message = _l("This was done too recently. Try again later.")


class StaleRevision(Refusal):
    """The caller started from an older revision than the latest: nothing was changed.

    *current* is the latest revision; messages may show it as ``%(current)s``.
    """

    code = "stale_revision"
    default_message = _l("This changed since you read it. Reload it, then repeat your change.")

    def __init__(self, message=None, *, current: int, **params) -> None:
        super().__init__(message, current=current, **params)
        self.current = current


class InvalidReport(InvalidInput):
    """A report's values have errors; ``issues`` lists them all."""

    def __init__(self, message, issues: list, **params) -> None:
        super().__init__(message, **params)
        self.issues = issues


@dataclass(frozen=True)
class RowProblem:
    """One problem in an imported file, shaped like the reader's ``RowError``.

    Services add these for problems only the database can see (e.g. a new
    account without a password), so pages and the CLI show one table of problems.
    """

    row: int | None
    column: str | None
    code: str
    message: str  # English msgid with %(name)s parameters
    params: dict = field(default_factory=dict)


def problem_text(problem) -> str:
    """The message of a ``RowError``/``RowProblem`` in the current locale, parameters filled."""
    return translate_issue(problem.message, problem.params)
