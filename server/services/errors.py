"""Errors caused by the user's input, carrying a message in the user's language."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask_babel import gettext


class UserError(Exception):
    """An expected refusal (duplicate name, unknown unit, weak password...).

    *message* is a lazy string (``lazy_gettext``) or an English msgid, so the text
    is translated in the locale of whoever reads it: a web request or the CLI.
    *field* names the input it concerns, so a form can show it beside that input.
    """

    def __init__(self, message, *, field: str | None = None, **params) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.params = params

    def __str__(self) -> str:
        text = gettext(self.message) if isinstance(self.message, str) else str(self.message)
        return text % self.params if self.params else text


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
    from server.i18n import translate_issue

    return translate_issue(problem.message, problem.params)
