"""Chinese text uses Chinese punctuation, English text English punctuation.

"截止 2026年10月5日. 逾期天数" and "(累计)" read as typos to a Chinese reader. The
zh_CN catalogue may keep ASCII punctuation only where it is not prose: inside
placeholders, file extensions (.xlsx), numbers (1.5, "1."), code the person types
(``unit_has('危化')``, YAML's "属性: 值") — those literals are listed below, each
with why. The en catalogue in turn must not glue Chinese punctuation to English words.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
HAN = r"[\u3400-\u9fff]"
ASCII_PUNCT = r"[:(),;?!]"
# A placeholder becomes a private-use character: neither Chinese nor ASCII.
PLACEHOLDER = re.compile(r"%\(\w+\)[sdfr]|%[sdfr]")
ZH_NEXT_TO_ASCII = re.compile(
    rf"(?<={HAN}) ?{ASCII_PUNCT}"                 # 文档: / 文档 (
    rf"|(?<={HAN}) ?\.(?![A-Za-z0-9])"            # 5日. (not 文件 .xlsx)
    rf"|(?<![A-Za-z0-9_(]){ASCII_PUNCT} ?(?={HAN})"  # ): 中 / (累计 (not unit_has(…)
    rf"|(?<![0-9A-Za-z])\. ?(?={HAN})"            # . 逾期 (not 1. 开展)
)
ENDS_IN_ASCII = re.compile(r"[.:;,?!]$")
# Literals that are typed or printed as they stand, not prose.
ZH_LITERALS = (
    "属性: 值",            # YAML syntax the person writes
    "代码: 名称",          # the format of a choice line in the designer
    "unit_has('危化')",    # a rule expression
    "if(条件, a, b)",      # a rule expression
    "(一)1",               # an item number as printed on some official forms
    ". _ @ -",             # the characters a user name may contain
    "2027-10-01,休,国庆节",  # a CSV line of the calendar import, as the file holds it
)
EN_NEXT_TO_LATIN = re.compile(r"(?<=[A-Za-z0-9])[：，。（）；？]|[：，。（）；？](?=[A-Za-z])")


def _strings(locale: str):
    path = ROOT / "translations" / locale / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as handle:
        catalog = read_po(handle, locale=locale)
    for message in catalog:
        if not message.id:
            continue
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for text in strings:
            if text:
                yield message.id if isinstance(message.id, str) else message.id[0], text


def zh_problems(text: str) -> list[str]:
    """The ASCII punctuation of *text* that sits in Chinese prose."""
    for literal in ZH_LITERALS:
        text = text.replace(literal, "\ue001")
    text = PLACEHOLDER.sub("\ue000", text)
    found = [match.group() for match in ZH_NEXT_TO_ASCII.finditer(text)]
    if re.search(HAN, text) and ENDS_IN_ASCII.search(text.rstrip()):
        found.append(text.rstrip()[-1])
    return found


@pytest.mark.parametrize("text, expected", [
    ("截止 2026年10月5日. 逾期天数：62", [". "]),
    ("(累计)", ["(", ")"]),
    ("其中已整改: 已整改隐患数不能大于", [":"]),
    ("%(label)s: 无法识别", [": "]),
    ("共 %(num)s.", ["."]),
    ("请上传 .xlsx 文件（%(name)s）。", []),
    ("例如 1. 开展培训", []),
    ("每行一个选项：代码: 名称 | 英文名称。", []),
])
def test_the_check_finds_ascii_punctuation_in_chinese_prose(text, expected):
    # Guards the check itself, so the catalogue test below cannot pass on nothing.
    assert [p.strip() for p in zh_problems(text)] == [p.strip() for p in expected]


def test_chinese_catalogue_uses_chinese_punctuation():
    bad = [f"{msgid!r} → {text!r}: {zh_problems(text)}"
           for msgid, text in _strings("zh_CN") if zh_problems(text)]
    assert not bad, ("zh_CN entries with ASCII punctuation in Chinese text (use ：，。（）；？):\n"
                     + "\n".join(bad))


def test_english_catalogue_has_no_chinese_punctuation_in_english_words():
    bad = [f"{msgid!r} → {text!r}" for msgid, text in _strings("en")
           if EN_NEXT_TO_LATIN.search(PLACEHOLDER.sub("x", text))]
    assert not bad, "en entries with Chinese punctuation next to English words:\n" + "\n".join(bad)
