"""The definition schema and the YAML loader."""

from pathlib import Path

import pytest

from forms.definition import Aggregation, Definition, FieldKind
from forms.loader import DefinitionError, load_definition, parse_definition

SAMPLE = Path(__file__).with_name("sample.yaml")


@pytest.fixture(scope="module")
def sample() -> Definition:
    return load_definition(SAMPLE)


def test_input_columns_become_item_fields(sample):
    keys = [f.key for f in sample.fields()]
    assert keys[:2] == ["reporter", "phone"]  # the default header
    assert "i01_progress" in keys and "i02_progress" in keys
    assert sample.field("i01_progress").kind is FieldKind.LONGTEXT
    assert sample.item_of("found").key == "i01"
    assert sample.item_of("reporter") is None


def test_round_trip_through_json(sample):
    assert Definition.from_json(sample.to_json()) == sample


def test_natural_aggregations(sample):
    assert sample.field("found").effective_aggregation is Aggregation.SUM
    assert sample.field("rate").effective_aggregation is Aggregation.MEAN
    assert sample.field("i01_progress").effective_aggregation is Aggregation.LIST
    assert sample.field("level").effective_aggregation is Aggregation.COUNT
    assert sample.field("phone").effective_aggregation is Aggregation.NONE


def test_localized_texts(sample):
    found = sample.field("found")
    assert found.text("label", "zh_CN") == "排查隐患"
    assert found.text("label", "en") == "Hazards found"
    assert sample.field("posts").text("label", "en") == "示范岗位"  # falls back to Chinese


def _broken(text: str) -> DefinitionError:
    with pytest.raises(DefinitionError) as info:
        parse_definition(text, "broken.yaml")
    return info.value


def _replace(old: str, new: str) -> str:
    text = SAMPLE.read_text(encoding="utf-8")
    assert old in text
    return text.replace(old, new, 1)


def test_yaml_syntax_error_names_file_and_line():
    err = _broken("key: x\ntitle: [unclosed\n")
    assert "broken.yaml" in str(err)
    assert err.problems[0].line is not None


def test_unknown_field_in_rule_names_the_rule():
    err = _broken(_replace('expr: "rectified <= found"', 'expr: "rectified <= fund"'))
    [problem] = err.problems
    assert (problem.code, problem.path, dict(problem.params)) == (
        "rule_unknown_fields", "rules[0].expr", {"fields": "fund"})
    assert problem.render_place() == "rule “r_rect” → attribute “expr”"


def test_rule_syntax_error_is_reported():
    err = _broken(_replace('expr: "rectified <= found"', 'expr: "rectified <="'))
    [problem] = err.problems
    assert problem.code == "rule_unexpected_end" and problem.path == "rules[0].expr"
    assert problem.render() == "The rule ends too early: a value is missing at position 13"


def test_bad_kind_names_the_path_and_line():
    err = _broken(_replace("kind: percent", "kind: percentage"))
    problem = err.problems[0]
    assert problem.path == "sections[0].items[1].fields[0].kind"
    lines = SAMPLE.read_text(encoding="utf-8").splitlines()
    assert problem.line == 1 + next(n for n, text in enumerate(lines) if "kind: percent" in text)


def test_duplicate_yaml_key_is_refused():
    err = _broken(_replace("version: 1\n", "version: 1\nversion: 2\n"))
    [problem] = err.problems
    assert (problem.code, problem.params["key"], problem.line) == (
        "yaml_duplicate_key", "version", 4)


def test_duplicate_field_key_is_refused():
    err = _broken(_replace("key: posts", "key: found"))
    [problem] = err.problems
    assert (problem.code, problem.params["key"]) == ("duplicate_field_key", "found")


def test_unknown_attribute_is_refused():
    err = _broken(_replace("unit: 万元", "unit: 万元, colour: red"))
    [problem] = err.problems
    assert problem.code == "extra_forbidden" and problem.params["name"] == "colour"
    assert problem.render_place().endswith("field “投入资金” → attribute “colour”")


def test_cumulative_text_field_is_refused():
    err = _broken(_replace("kind: date,", "kind: date, cumulative: true,"))
    [problem] = err.problems
    assert problem.code == "cumulative_not_numeric"
    assert problem.render_place() == "section 1 “隐患排查” → item 2 “其他” → field “开始日期”"


def test_missing_file_is_a_definition_error(tmp_path):
    with pytest.raises(DefinitionError) as info:
        load_definition(tmp_path / "nope.yaml")
    assert "nope.yaml" in str(info.value)


def test_non_mapping_document():
    assert [p.code for p in _broken("- a\n- b\n").problems] == ["not_a_mapping"]


def test_a_definition_of_aliases_of_aliases_is_refused_before_it_is_expanded():
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 10)}]" for n in range(1, 12)]

    with pytest.raises(DefinitionError) as info:
        parse_definition("\n".join(lines), "laughs.yaml")
    assert [p.code for p in info.value.problems] == ["too_large_expanded"]
