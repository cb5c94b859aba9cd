"""Broken definitions, one per kind of mistake, with the problem each must produce.

Shared by the loader's tests (codes, places, lines) and the upload page's test
(nothing raw in the Chinese page). Most are the engine's sample definition with
one mistake; the rest are small documents with a YAML or file-level mistake.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

SAMPLE = Path(__file__).parent / "forms" / "sample.yaml"


@dataclass(frozen=True)
class Broken:
    name: str
    data: bytes
    code: str  # the code of the first problem
    place: str | None = None  # a fragment of the English place of the first problem
    line: int | None = None  # the 1-based line of the first problem, when checked


def sample_text() -> str:
    return SAMPLE.read_text(encoding="utf-8")


def _sample(name: str, old: str, new: str, code: str, place: str | None = None) -> Broken:
    text = sample_text()
    assert old in text, old
    return Broken(name, text.replace(old, new, 1).encode("utf-8"), code, place)


def _line_of(text: str, fragment: str) -> int:
    return 1 + next(n for n, line in enumerate(text.splitlines()) if fragment in line)


CORPUS: tuple[Broken, ...] = (
    # -- pydantic's error types --------------------------------------------------------
    _sample("enum", "kind: percent", "kind: percentage", "not_one_of",
            "section 1 “隐患排查” → item 2 “其他” → field “持证率” → attribute “kind”"),
    _sample("missing", "key: sample\n", "", "missing", "attribute “key”"),
    _sample("extra_forbidden", "unit: 万元", "unit: 万元, colour: red", "extra_forbidden",
            "field “投入资金” → attribute “colour”"),
    _sample("key_pattern", "key: i01\n", "key: I01\n", "invalid_key",
            "section 1 “隐患排查” → item 1 “排查整治隐患” → attribute “key”"),
    _sample("template_key_pattern", "key: sample", "key: Sample Key", "invalid_template_key",
            "attribute “key”"),
    _sample("greater_than", "max_rows: 3", "max_rows: 0", "greater_than",
            "field “成员名单” → attribute “max_rows”"),
    _sample("less_than_equal", "day: 5", "day: 40", "less_than_equal",
            "schedule → due date rule → attribute “day”"),
    _sample("too_short", "title: 隐患排查\n    items:\n",
            "title: 隐患排查\n    items: []\n    x:\n", "too_few_entries",
            "section 1 “隐患排查” → attribute “items”"),
    _sample("date_parsing", "date: 2024-05-22", "date: soon", "not_a_date",
            "source plan → attribute “date”"),
    _sample("date_in_yaml", "date: 2024-05-22", "date: 2024-13-45", "yaml_bad_date"),
    _sample("decimal_parsing", "max_size_mb: 1", "max_size_mb: lots", "not_a_number",
            "field “方案文件” → attribute “max_size_mb”"),
    _sample("int_parsing", "version: 1", "version: first", "not_an_integer",
            "attribute “version”"),
    _sample("int_from_float", "version: 1", "version: 1.5", "not_an_integer"),
    _sample("bool_parsing", "required: true}", "required: maybe}", "not_a_bool",
            "field “是否完成” → attribute “required”"),
    _sample("union_tag_invalid", "rule: after_end", "rule: after", "not_one_of",
            "schedule → due date rule → attribute “rule”"),
    _sample("union_tag_not_found", "due: {rule: after_end, months: 1, day: 5}",
            "due: {months: 1, day: 5}", "missing_tag", "schedule → due date rule"),
    _sample("schedule_enum", "frequency: quarterly", "frequency: weekly", "not_one_of",
            "schedule → attribute “frequency”"),
    _sample("literal", "target: {value: 12, by: 2025-12-31}",
            "target: {value: 12, by: 2025-12-31, comparison: '>'}", "not_one_of",
            "field “示范岗位” → target → attribute “comparison”"),
    _sample("model_type", "target: {value: 12, by: 2025-12-31}", "target: 12",
            "not_a_mapping_here", "field “示范岗位” → target"),
    _sample("string_type", 'number: "1"', "number: 1", "not_text",
            "item 1 “排查整治隐患” → attribute “number”"),
    _sample("string_type_structure", "title: 示例推进情况表", "title: [a, b]",
            "not_text_structure", "attribute “title”"),
    _sample("list_type", "notes: [注：相关数据均为累计。]", "notes: {a: b}", "not_a_list",
            "attribute “notes”"),
    _sample("dict_key_pattern", "texts: {content: 全面排查}", "texts: {Content: 全面排查}",
            "invalid_key", "item 1 “排查整治隐患” → attribute “texts”"),
    # -- the schema's own checks -------------------------------------------------------
    _sample("aggregation", "kind: date,", "kind: date, aggregation: sum,",
            "aggregation_mismatch", "field “开始日期” → attribute “aggregation”"),
    _sample("cumulative_text", "kind: date,", "kind: date, cumulative: true,",
            "cumulative_not_numeric", "field “开始日期”"),
    _sample("min_above_max", "min: 0, max: 100", "min: 100, max: 0", "min_above_max",
            "field “持证率” → attribute “min”"),
    _sample("choices_missing", "kind: choice, label: 风险等级, choices: [{value: red, label: 红},"
            " {value: blue, label: 蓝, label_en: Blue}]", "kind: choice, label: 风险等级",
            "choices_missing", "field “风险等级”"),
    _sample("input_kind", "source: input, input_kind: longtext", "source: input",
            "input_kind_required", "column “推进情况” → attribute “input_kind”"),
    _sample("unknown_texts", "texts: {content: 全面排查}", "texts: {nothing: 全面排查}",
            "unknown_texts", "item 1 “排查整治隐患” → attribute “texts”"),
    _sample("duplicate_field", "key: posts", "key: found", "duplicate_field_key",
            "item 1 “排查整治隐患” → field “示范岗位” → attribute “key”"),
    _sample("duplicate_generated_field", "          - {key: rate,",
            "          - {key: i01_progress, kind: text, label: 进展}\n          - {key: rate,",
            "duplicate_field_key", "item 2 “其他” → field “进展” → attribute “key”"),
    _sample("duplicate_item", "key: i02\n", "key: i01\n", "duplicate_item_key",
            "item 2 “其他” → attribute “key”"),
    _sample("duplicate_choice", "{value: blue,", "{value: red,", "duplicate_choice_value",
            "field “风险等级” → option “蓝” → attribute “value”"),
    _sample("rule_syntax", 'expr: "rectified <= found"', 'expr: "rectified = found"',
            "rule_single_equals", "rule “r_rect” → attribute “expr”"),
    _sample("rule_unknown_field", 'expr: "rectified <= found"', 'expr: "rectified <= fund"',
            "rule_unknown_fields", "rule “r_rect” → attribute “expr”"),
    _sample("period_key", "first: 2024Q2", "first: 2024Z9", "bad_period_key",
            "schedule → attribute “first”"),
    _sample("period_frequency", "first: 2024Q2", "first: 2024-05", "period_frequency_mismatch",
            "schedule → attribute “first”"),
    _sample("period_order", "last: 2026Q4", "last: 2023Q1", "period_order",
            "schedule → attribute “last”"),
    _sample("fixed_not_once", "due: {rule: after_end, months: 1, day: 5}",
            "due: {rule: fixed, date: 2024-04-10}", "fixed_needs_once",
            "schedule → due date rule → attribute “rule”"),
    # -- what nobody expects -------------------------------------------------------------
    _sample("null_section", "sections:\n", "sections:\n  - null\n", "not_a_mapping_here",
            "section 1"),
    _sample("header_mapping", "rules:\n", "header: {a: 1}\nrules:\n", "not_a_list",
            "attribute “header”"),
    _sample("number_as_key", "key: sample", "key: 123", "not_text", "attribute “key”"),
    Broken("json", b'{"key": "x", "title": 5}', "not_text", "attribute “title”", line=1),
    # -- YAML and the file ---------------------------------------------------------------
    Broken("tab", b"key: x\n\ttitle: y\n", "yaml_tab", line=2),
    Broken("mapping_values", b"key: x\ntitle: a: b\n", "yaml_mapping_values", line=2),
    Broken("indentation", b"key: x\nsource:\n  issuer: a\n title: b\n",
           "yaml_indentation", line=4),
    Broken("unclosed_quote", b'key: "x\ntitle: y\n', "yaml_unclosed_quote"),
    Broken("unclosed_bracket", b"key: [a, b\ntitle: y\n", "yaml_unclosed_bracket"),
    Broken("bad_character", b"key: @x\n", "yaml_bad_character", line=1),
    Broken("unknown_alias", b"key: *nope\n", "yaml_unknown_alias", line=1),
    Broken("python_tag", b"key: !!python/object:os.system x\n", "yaml_tag", line=1),
    Broken("duplicate_key", b"key: x\nkey: y\n", "yaml_duplicate_key", line=2),
    Broken("not_utf8", "key: 某镇\n".encode("gbk"), "not_utf8"),
    Broken("empty", b"   \n", "empty_document"),
    Broken("not_a_mapping", b"- a\n- b\n", "not_a_mapping"),
    Broken("laughs", "\n".join(
        ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
        + [f"a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 10)}]" for n in range(1, 12)]
    ).encode(), "too_large_expanded"),
)

# What pydantic and PyYAML say in English; none of it may reach a page or the CLI.
RAW_PHRASES = (
    "Input should", "String should", "Field required", "Value error", "value_error",
    "found character", "mapping values", "Extra inputs", "validation error",
    "Unable to extract tag", "Input tag", "should have at least", "could not determine",
    "while scanning", "while parsing", "expected <block end>", "found undefined",
    "duplicate key", "%(", "{value}", "{key}", "Labelled(",
)
