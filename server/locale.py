"""The current locale and translated messages, for every layer that shows text.

Kept apart from ``server.i18n`` (the Flask-Babel set-up, the language switch and
the layout), so services and serialisers can word their messages without
importing the web layer.
"""

from __future__ import annotations

from datetime import date, datetime
from functools import cache

from babel import Locale
from flask_babel import format_date as _babel_format_date
from flask_babel import get_locale, gettext

from forms.periods import NEVER_DUE

DEFAULT_LOCALE = "zh_CN"
# Each language is named in itself, so anyone can find their own in the switch.
LANGUAGES: dict[str, str] = {"zh_CN": "中文", "en": "English"}


def current_locale_code() -> str:
    """The supported code (zh_CN, en) of the current locale.

    Babel names zh_CN with its script (zh_Hans_CN); the switch, the catalogue
    folders and the account column all use the short codes.
    """
    locale = get_locale()
    if locale is None:
        return DEFAULT_LOCALE
    return _code_of(locale)


@cache
def _code_of(locale: Locale) -> str:
    """The supported code of a parsed locale (comparing locales renders them as text:
    once per locale, not at every message)."""
    for code, parsed in _supported_locales():
        if parsed == locale:
            return code
    return DEFAULT_LOCALE


def is_never_due(day) -> bool:
    """True for the due date of an event report, which is never due (9999-12-31)."""
    return isinstance(day, date) and not isinstance(day, datetime) and day == NEVER_DUE


def format_date(day=None, format=None, rebase=True) -> str:  # noqa: A002 - Flask-Babel's name
    """Flask-Babel's ``format_date``, except that an event's due date (never due) reads
    "reported as events occur" instead of 9999-12-31, wherever a due date is shown."""
    if is_never_due(day):
        return gettext("Reported as events occur")
    return _babel_format_date(day, format, rebase)


@cache
def _supported_locales() -> tuple[tuple[str, Locale], ...]:
    """The supported codes with their parsed locales (parsing takes milliseconds)."""
    return tuple((code, Locale.parse(code)) for code in LANGUAGES)


@cache
def parsed_locale(code: str) -> Locale:
    """The parsed locale of a supported *code*, parsed once per process (Flask-Babel would
    parse the code its locale selector returns again at every request)."""
    return dict(_supported_locales())[code]


def translate_issue(msgid, params: dict | None = None) -> str:
    """Translate a message produced by ``forms``/``exports`` and fill in its parameters.

    Takes an English msgid with its parameters, or a ``forms.issues.Issue``
    (which knows its msgid and picks English labels for English readers). A
    malformed pair (a parameter missing) must not break a page, so it falls
    back to the translated text without interpolation.
    """
    if hasattr(msgid, "render"):  # an Issue, or a definition's Problem
        return msgid.render(gettext, current_locale_code())
    translated = gettext(msgid)
    if not params:
        return translated
    try:
        return translated % params
    except (KeyError, ValueError, TypeError):
        return translated


def translate_place(problem) -> str:
    """Where a ``forms.loader.Problem`` is, named by the document's labels, translated."""
    return problem.render_place(gettext, current_locale_code())


def translate_definition_error(error) -> str:
    """Every problem of a ``forms.loader.DefinitionError``, one per line, translated."""
    return error.describe(gettext, current_locale_code())


def source_place(source) -> str:
    """Where a piece of an imported file is, as a person finds it, translated.

    *source* is a ``forms.importers.SourceRef`` or its dict form (as kept in a
    designer draft): "sheet 表1, C7" in a workbook, "paragraph 12" in a document,
    "paragraph 59, row 3, column C" in a table of a document; "—" when unknown.
    """
    get = source.get if isinstance(source, dict) else (lambda name: getattr(source, name, None))
    sheet, paragraph, row, column = (get(name) for name in ("sheet", "paragraph", "row", "column"))
    if sheet:
        cell = f"{column or ''}{row or ''}"
        return gettext("sheet %(sheet)s, %(cell)s", sheet=sheet, cell=cell) if cell \
            else gettext("sheet %(sheet)s", sheet=sheet)
    parts = [gettext("paragraph %(number)s", number=paragraph)] if paragraph else []
    if row:
        parts.append(gettext("row %(row)s", row=row))
    if column:
        parts.append(gettext("column %(column)s", column=column))
    return gettext(", ").join(parts) if parts else "—"
