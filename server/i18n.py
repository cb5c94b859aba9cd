"""Language and locale: Flask-Babel set-up, the language switch, the layout's context.

Chinese (zh_CN) is the default. The locale of a request is, in order: the
signed-in account's saved choice, the choice stored in the session, the best
match of the browser's Accept-Language, and finally zh_CN.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

from babel import Locale
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations
from flask import (
    Blueprint,
    Flask,
    current_app,
    has_app_context,
    has_request_context,
    redirect,
    request,
    session,
    url_for,
)
from flask_babel import (
    Babel,
    Domain,
    format_datetime,
    format_decimal,
    format_percent,
    refresh,
)
from flask_login import current_user, user_logged_in
from flask_wtf import FlaskForm
from flask_wtf.csrf import generate_csrf
from werkzeug.utils import cached_property
from wtforms import HiddenField, StringField
from wtforms.validators import AnyOf

from server import config as settings
from server import navigation
from server.locale import (
    DEFAULT_LOCALE,
    LANGUAGES,
    current_locale_code,
    format_date,
    is_never_due,
    parsed_locale,
    translate_issue,
    translate_place,
)

TRANSLATIONS_DIR = settings.translations_directory()
DEFAULT_TIMEZONE = "Asia/Shanghai"
SESSION_KEY = "locale"
API_PREFIX = "/api/"


bp = Blueprint("i18n", __name__)


def init_i18n(app: Flask) -> None:
    """Configure Flask-Babel, the language switch and the Jinja helpers."""
    app.config.setdefault("BABEL_DEFAULT_LOCALE", DEFAULT_LOCALE)
    app.config.setdefault("BABEL_DEFAULT_TIMEZONE", DEFAULT_TIMEZONE)
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", str(TRANSLATIONS_DIR))
    _Babel(app, locale_selector=select_locale)

    app.register_blueprint(bp)
    formatters = {
        "format_date": format_date,
        "format_datetime": format_datetime,
        "format_decimal": format_decimal,
        "format_percent": format_percent,
    }
    # Usable both ways: {{ format_date(day) }} and {{ day|format_date }}.
    app.jinja_env.filters.update(formatters)
    app.jinja_env.tests["never_due"] = is_never_due
    app.jinja_env.globals.update(
        formatters,
        translate_issue=translate_issue,
        translate_place=translate_place,
        languages=LANGUAGES,
        nav_has_endpoint=navigation.has_endpoint,
        page_url=navigation.page_url,
    )
    # CSRFProtect registers this too; the layout needs it either way.
    app.jinja_env.globals.setdefault("csrf_token", generate_csrf)
    app.context_processor(_layout_context)
    user_logged_in.connect(_remember_account_language, app)


class _CatalogueDomain(Domain):
    """Loads translations/zh_CN for the locale Babel calls zh_Hans_CN.

    gettext's own lookup would try zh_Hans_CN and zh only and miss the zh_CN
    folder, so the catalogue is looked up by the supported code instead.
    """

    def get_translations(self):
        if not has_app_context():
            return NullTranslations()
        code = current_locale_code()
        key = (code, self.domain[0])
        translations = self.cache.get(key)
        if translations is None:
            translations = Translations()
            for directory in self.translation_directories:
                catalog = Translations.load(directory, [code], self.domain[0])
                translations.merge(catalog)
                if hasattr(catalog, "plural"):
                    translations.plural = catalog.plural
            self.cache[key] = translations
        return translations


class _Babel(Babel):
    @cached_property
    def domain_instance(self):
        return _CatalogueDomain(domain=self.domain)


def select_locale() -> Locale | None:
    """The locale of the current request, parsed (see :func:`locale_code_of_request`)."""
    code = locale_code_of_request()
    return None if code is None else parsed_locale(code)


def locale_code_of_request() -> str | None:
    """Pick the locale of the current request (see the module docstring).

    Outside a request (CLI, background work) there is nobody to ask: None makes
    Flask-Babel use the default locale, unless the caller forces one.
    """
    if not has_request_context():
        return None
    if request.path.startswith(API_PREFIX):
        # API clients have no session or saved choice that applies: they say what they read.
        return request.accept_languages.best_match(LANGUAGES) or DEFAULT_LOCALE
    saved = getattr(current_user, "locale", None) if _signed_in() else None
    if saved in LANGUAGES:
        return saved
    chosen = session.get(SESSION_KEY)
    if chosen in LANGUAGES:
        return chosen
    return request.accept_languages.best_match(LANGUAGES) or DEFAULT_LOCALE


def html_lang() -> str:
    """The BCP 47 tag for the <html lang> attribute (zh-CN, en)."""
    return current_locale_code().replace("_", "-")


def _signed_in() -> bool:
    try:
        return bool(current_user and current_user.is_authenticated)
    except Exception:  # noqa: BLE001 - no login manager (yet) means nobody is signed in
        return False


# --- the language switch ---------------------------------------------------------------


class LanguageForm(FlaskForm):
    # The layout renders one submit button per language (name="locale"), not a widget.
    locale = StringField(validators=[AnyOf(list(LANGUAGES))])
    next = HiddenField()


def safe_next(target: str | None) -> str:
    """*target* if it is a path on this site, else the home page.

    Only local paths are followed so the switch cannot be used as an open redirect.
    Control characters are refused too: browsers drop tabs and line breaks from URLs
    (``/\t/evil.example`` becomes ``//evil.example``) and a line break cannot go into
    the ``Location`` header at all.
    """
    if target and not any(ord(char) < 32 or 127 <= ord(char) < 160 for char in target):
        parts = urlsplit(target)
        if not parts.scheme and not parts.netloc and target.startswith("/") \
                and not target.startswith("//") and "\\" not in target:
            return target
    return url_for("index") if "index" in current_app.view_functions else "/"


@bp.post("/language")
def switch_language():
    form = LanguageForm()
    if not form.validate_on_submit():
        # A stale or missing CSRF token or an unknown language changes nothing.
        return redirect(safe_next(form.next.data))
    locale = form.locale.data
    session[SESSION_KEY] = locale
    if _signed_in():
        current_user.locale = locale  # committed with the request's work
    refresh()
    return redirect(safe_next(form.next.data))


def _remember_account_language(_app, user=None, **_extra) -> None:
    """Carry the account's language into the session, so pages after logout keep it."""
    if getattr(user, "locale", None) in LANGUAGES:
        session[SESSION_KEY] = user.locale
        refresh()


# --- layout context ----------------------------------------------------------------------


def _layout_context() -> dict:
    if not has_request_context():
        # Rendering outside a request (CLI, exports): no header, no switch.
        return {"html_lang": html_lang(), "current_locale": current_locale_code(),
                "nav_entries": [], "language_next": "/"}
    user = current_user if _signed_in() else None
    return {
        "html_lang": html_lang(),
        "current_locale": current_locale_code(),
        "nav_entries": navigation.entries_for(user),
        "nav_account_endpoint": navigation.ACCOUNT_ENDPOINT,
        "nav_login_endpoint": navigation.LOGIN_ENDPOINT,
        "nav_logout_endpoint": navigation.LOGOUT_ENDPOINT,
        "language_next": request.full_path.rstrip("?"),
    }


# --- catalogues --------------------------------------------------------------------------


def compile_translations(directory: Path = TRANSLATIONS_DIR) -> list[Path]:
    """Compile every ``.po`` catalogue whose ``.mo`` is missing or older; return those written.

    ``pybabel compile -d translations`` does the same; this lets tests and the
    install step compile without a subprocess.
    """
    written = []
    for po_path in sorted(directory.glob("*/LC_MESSAGES/*.po")):
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        with po_path.open("rb") as po_file:
            catalog = read_po(po_file, locale=po_path.parent.parent.name)
        # Written beside and renamed: parallel test workers may compile at the same time,
        # and none of them may read a half-written catalogue.
        partial = mo_path.with_name(f"{mo_path.name}.{os.getpid()}.tmp")
        with partial.open("wb") as mo_file:
            write_mo(mo_file, catalog)
        os.replace(partial, mo_path)
        written.append(mo_path)
    return written
