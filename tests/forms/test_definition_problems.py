"""Problems of broken definitions: codes with parameters, placed by the document's labels."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.support import Translations
from definition_corpus import CORPUS, RAW_PHRASES, Broken, sample_text

from forms.definition_errors import MESSAGES, Labelled
from forms.loader import DefinitionError, Problem, _validation_problem, parse_definition

ZH = Translations.load(str(Path(__file__).resolve().parents[2] / "translations"), ["zh_CN"])


def _problems(data: bytes | str) -> list[Problem]:
    with pytest.raises(DefinitionError) as info:
        parse_definition(data, "broken.yaml")
    return info.value.problems


@pytest.mark.parametrize("broken", CORPUS, ids=lambda b: b.name)
def test_every_mistake_has_its_code_place_and_translated_message(broken: Broken):
    problems = _problems(broken.data)
    first = problems[0]
    assert first.code == broken.code
    if broken.place is not None:
        assert broken.place in first.render_place()
    if broken.line is not None:
        assert first.line == broken.line and first.column is not None
    for problem in problems:
        chinese = problem.describe(ZH.gettext, "zh_CN")
        assert not any(phrase in chinese for phrase in RAW_PHRASES), chinese
        # The message is translated: a catalogue entry, not the English msgid.
        assert ZH.gettext(problem.message) != problem.message, problem.message
        if problem.path:
            assert problem.render_place() != "The whole document"


def test_the_place_reads_in_chinese_with_labels_and_the_allowed_values_with_their_meaning():
    [problem] = _problems(sample_text().replace("kind: percent", "kind: percentage", 1))
    assert problem.path == "sections[0].items[1].fields[0].kind"
    assert problem.render_place(ZH.gettext, "zh_CN") == (
        "第1节「隐患排查」 → 第2项「其他」 → 字段「持证率」 → 属性「kind」")
    message = problem.render(ZH.gettext, "zh_CN")
    assert message.startswith(
        "不能填写「percentage」，必须是以下之一：text（文本）、longtext（长文本）")
    assert "percent（百分比）" in message
    line = 1 + next(n for n, text in enumerate(sample_text().splitlines())
                    if "kind: percent" in text)
    assert (problem.line, problem.column) == (line, sample_text().splitlines()[line - 1]
                                              .index("percent") + 1)
    assert problem.position == f"{problem.line}:{problem.column}"


def test_places_fall_back_to_positions_where_labels_are_missing():
    text = sample_text().replace("        title: 其他\n", "", 1).replace(
        "{key: rate, kind: percent, label: 持证率,", "{key: rate, kind: percentage,", 1)
    problems = _problems(text)
    places = [p.render_place() for p in problems]
    assert "section 1 “隐患排查” → item 2 → field “rate” → attribute “kind”" in places
    assert "section 1 “隐患排查” → item 2 → attribute “title”" in places


def test_a_rule_syntax_error_keeps_the_parser_message_and_its_position():
    [problem] = _problems(sample_text().replace('"rectified <= found"', '"rectified <= (found"'))
    assert problem.code == "rule_unclosed_parenthesis"
    assert problem.params["position"] == 14
    assert problem.render(ZH.gettext, "zh_CN") != problem.render()
    assert "14" in problem.render(ZH.gettext, "zh_CN")


def test_a_rule_syntax_error_points_at_the_character_in_the_file():
    text = sample_text().replace('"rectified <= found"', '"rectified = found"')
    [problem] = _problems(text)
    line = text.splitlines()[problem.line - 1]
    assert line[problem.column - 1] == "=" and line[problem.column - 2] == " "
    assert problem.params["position"] == 11


def test_an_unknown_pydantic_error_type_gets_the_generic_message_with_its_place():
    err = {"type": "some_future_type", "loc": ("title",), "msg": "Input should be shiny",
           "input": 5, "ctx": {"shine": 1}}
    problem = _validation_problem(err, {"title": 5}, None)
    assert problem.code == "invalid" and problem.path == "title"
    assert problem.render() == MESSAGES["invalid"]
    assert problem.render_place(ZH.gettext, "zh_CN") == "属性「title」"
    assert "shiny" not in problem.describe(ZH.gettext, "zh_CN")


def test_every_code_and_value_label_is_translated():
    untranslated = [m for m in MESSAGES.values() if ZH.gettext(m) == m]
    assert untranslated == []
    assert Labelled("percent").render(ZH.gettext, "zh_CN") == "percent（百分比）"
    assert Labelled("percent").render(lambda s: s, "en") == "percent (Percentage)"
    assert Labelled("unheard_of").render(ZH.gettext, "zh_CN") == "unheard_of"


def test_the_english_text_stays_readable_for_developers():
    with pytest.raises(DefinitionError) as info:
        parse_definition(sample_text().replace("key: posts", "key: found"), "broken.yaml")
    assert str(info.value) == (
        "broken.yaml: section 1 “隐患排查” → item 1 “排查整治隐患” → field “示范岗位” →"
        " attribute “key” (sections[0].items[0].fields[2].key, 27:19): The field key “found”"
        " is used twice (an input column also gives every item a field named"
        " <item key>_<column key>).")
