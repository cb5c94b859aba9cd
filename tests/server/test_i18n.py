"""The translation catalogues cover every user-visible message in the source.

Messages are extracted with Babel's own API using babel.cfg, exactly as
translations/update.sh does, so a string that a developer marks but nobody
translates fails here with its msgid listed.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
LOCALES = ("zh_CN", "en")
# The keywords given to `pybabel extract` in translations/update.sh, on top of Babel's defaults.
EXTRA_KEYWORDS = {"_l": None, "lazy_gettext": None, "lazy_ngettext": (1, 2), "N_": None,
                  "NP_": (1, 2)}
PLACEHOLDER = re.compile(r"%\((\w+)\)[sdfr]|%[sdfr]")


def _keywords() -> dict:
    from babel.messages.extract import DEFAULT_KEYWORDS

    return {**DEFAULT_KEYWORDS, **EXTRA_KEYWORDS}


@pytest.fixture(scope="module")
def source_messages() -> dict[str, str]:
    """msgid → the file it was found in, for every message marked in the source."""
    with (ROOT / "babel.cfg").open(encoding="utf-8") as handle:
        method_map, options_map = parse_mapping_cfg(handle)
    found: dict[str, str] = {}
    for filename, _lineno, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=_keywords()
    ):
        for msgid in message if isinstance(message, tuple) else (message,):
            if msgid:
                found.setdefault(msgid, filename)
    return found


def _catalogue(locale: str):
    path = ROOT / "translations" / locale / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as handle:
        # abort_invalid turns any syntax error in the .po file into an exception.
        return read_po(handle, locale=locale, abort_invalid=True)


@pytest.fixture(scope="module", params=LOCALES)
def catalogue(request):
    return request.param, _catalogue(request.param)


def _translated(message) -> bool:
    if "fuzzy" in message.flags:
        return False
    strings = message.string if isinstance(message.string, tuple) else (message.string,)
    return bool(strings) and all(s.strip() for s in strings)


def test_the_extraction_finds_the_layout_and_the_domain_messages(source_messages):
    # Guards the test itself: if babel.cfg stopped matching, the completeness check
    # below would pass on nothing.
    files = set(source_messages.values())
    assert any(f.startswith("server/templates/") for f in files)
    assert any(f.startswith("server/") and f.endswith(".py") for f in files)
    assert any(f.startswith("forms/") for f in files)
    assert "My reports" in source_messages


def test_every_source_message_is_translated(source_messages, catalogue):
    locale, catalog = catalogue
    untranslated = []
    for msgid, filename in sorted(source_messages.items()):
        entry = catalog.get(msgid)
        if entry is None:
            # Plural entries are keyed by their singular form.
            entry = next((m for m in catalog if isinstance(m.id, tuple) and msgid in m.id), None)
        if entry is None or not _translated(entry):
            untranslated.append(f"{filename}: {msgid!r}")
    if untranslated:
        pytest.fail(
            f"{len(untranslated)} message(s) lack a {locale} translation "
            "(run translations/update.sh, then translate):\n" + "\n".join(untranslated),
            pytrace=False,
        )


def test_placeholders_match_between_msgid_and_translation(catalogue):
    locale, catalog = catalogue
    mismatched = []
    for message in catalog:
        if not message.id or not _translated(message):
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        expected = sorted(PLACEHOLDER.findall(ids[0]))
        for text in strings:
            if sorted(PLACEHOLDER.findall(text)) != expected:
                mismatched.append(f"{ids[0]!r} → {text!r}")
    assert not mismatched, f"{locale} placeholders differ:\n" + "\n".join(mismatched)


def test_translations_interpolate_like_their_msgids(catalogue):
    # A translation that formats differently (a stray "%" in Chinese text, say) would
    # raise at the moment a user sees the message.
    locale, catalog = catalogue
    broken = []
    for message in catalog:
        if not message.id or not _translated(message) or not message.python_format:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        names = {name for name in PLACEHOLDER.findall(strings[0]) if name}
        for text in strings:
            try:
                text % {name: "x" for name in names}
            except (KeyError, ValueError, TypeError) as error:
                broken.append(f"{text!r}: {error}")
    assert not broken, f"{locale} translations that cannot be formatted:\n" + "\n".join(broken)


def test_chinese_catalogue_really_is_chinese():
    # Catches a catalogue filled by copying the English msgids; entries made only of
    # placeholders and punctuation (such as "%(sheet)s!%(cell)s") stay as they are.
    catalog = _catalogue("zh_CN")
    texts = [m.string for m in catalog if m.id and isinstance(m.string, str)]
    latin_only = [t for t in texts if t and not re.search(r"[\u4e00-\u9fff]", t)
                  and re.search(r"[A-Za-z]{2,}", PLACEHOLDER.sub("", t))]
    assert not latin_only, "zh_CN entries without any Chinese:\n" + "\n".join(latin_only)
