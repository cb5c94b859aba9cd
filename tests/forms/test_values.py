"""Reading what people type: full-width digits, separators, units, choices."""

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from forms.definition import FieldKind
from forms.issues import MESSAGES
from forms.loader import load_definition
from forms.values import coerce, coerce_values, dumps_values, jsonable, loads_values

TYPES = {
    FieldKind.TEXT: str, FieldKind.LONGTEXT: str, FieldKind.INTEGER: int,
    FieldKind.DECIMAL: Decimal, FieldKind.PERCENT: Decimal, FieldKind.DATE: date,
    FieldKind.CHOICE: str, FieldKind.MULTICHOICE: list, FieldKind.YESNO: bool,
    FieldKind.ATTACHMENT: dict, FieldKind.TABLE: list,
}
DEF = load_definition(Path(__file__).with_name("sample.yaml"))


def value_of(key, raw):
    value, issues = coerce(DEF.field(key), raw)
    return value, [i.code for i in issues]


@pytest.mark.parametrize(
    ("raw", "expected", "codes"),
    [
        ("12", 12, []),
        ("１２", 12, []),
        (" 12 ", 12, []),
        ("1,200", 1200, []),
        ("12家", 12, ["unit_stripped"]),
        ("12 处", 12, ["unit_stripped"]),
        (12.0, 12, []),
        ("12.0", 12, []),
        ("", None, []),
        (None, None, []),
        ("12.5", None, ["not_an_integer"]),
        ("abc", None, ["not_a_number"]),
        ("-1", -1, ["below_min"]),
        ("1,20", None, ["not_a_number"]),
        (True, None, ["not_a_number"]),
        (float("nan"), None, ["not_a_number"]),
    ],
)
def test_integer_inputs(raw, expected, codes):
    assert value_of("found", raw) == (expected, codes)


@pytest.mark.parametrize("number", [0, 12, -1, 10**15 - 1, 10**15, -(10**15), 10**20])
def test_a_whole_number_reads_as_its_text_does(number):
    """Whole numbers (from cells, the API, stored reports) take a short path, same answer."""
    value, codes = value_of("found", number)
    assert (value, codes) == value_of("found", str(number))
    assert value is None or type(value) is int
    assert [i.params for i in coerce(DEF.field("found"), number)[1]] == \
        [i.params for i in coerce(DEF.field("found"), str(number))[1]]


def test_a_whole_number_beyond_fifteen_digits_is_refused():
    assert value_of("found", 10**15) == (None, ["not_a_number"])
    assert value_of("found", 10**15 - 1) == (10**15 - 1, [])


def test_decimal_and_percent():
    assert value_of("investment", "1,234.50") == (Decimal("1234.5"), [])
    assert value_of("investment", 0.1) == (Decimal("0.1"), [])
    assert value_of("rate", "85%") == (Decimal(85), [])
    assert value_of("rate", "８５．５％") == (Decimal("85.5"), [])
    assert value_of("rate", "101") == (Decimal(101), ["above_max"])


def test_dates():
    for raw in ("2024-06-30", "2024/6/30", "2024.06.30", "2024年6月30日", date(2024, 6, 30)):
        assert value_of("start", raw) == (date(2024, 6, 30), [])
    assert value_of("start", "2024-02-30") == (None, ["bad_date"])
    assert value_of("start", "soon") == (None, ["bad_date"])


def test_choices_by_key_or_label():
    assert value_of("level", "red") == ("red", [])
    assert value_of("level", "红") == ("red", [])
    assert value_of("level", "Blue") == ("blue", [])
    assert value_of("level", "绿") == (None, ["bad_choice"])
    assert value_of("sectors", "有限空间、粉尘涉爆") == (["dust", "space"], [])
    assert value_of("sectors", ["space", "space"]) == (["space"], [])


def test_yes_no():
    assert value_of("done", "是") == (True, [])
    assert value_of("done", "否") == (False, [])
    assert value_of("done", "maybe") == (None, ["bad_yesno"])


def test_text_and_phone():
    assert value_of("reporter", "  张 三 ") == ("张 三", [])
    assert value_of("phone", "138 0000 0001")[1] == []
    assert value_of("phone", "0595-12345678")[1] == []
    assert value_of("phone", "12345")[1] == ["bad_phone"]
    assert value_of("reporter", "长" * 51)[1] == ["too_long"]


def test_table_rows_are_typed_and_blank_rows_dropped():
    value, issues = coerce(DEF.field("roster"), [
        {"name": "张三", "phone": "13800000001"},
        {"name": "", "phone": ""},
        {"name": "李四", "phone": "bad"},
    ])
    assert value == [{"name": "张三", "phone": "13800000001"}, {"name": "李四", "phone": "bad"}]
    assert [(i.code, i.row, i.column) for i in issues] == [("bad_phone", 1, "phone")]


def test_attachment_shape_and_size():
    ok = {"id": "a1", "name": "plan.pdf", "size": 1000}
    assert value_of("plan_file", ok) == (ok, [])
    assert value_of("plan_file", "plan.pdf") == (None, ["bad_attachment"])
    assert value_of("plan_file", {**ok, "size": 2 * 1024 * 1024})[1] == ["attachment_too_large"]


def test_json_round_trip_is_exact():
    raw = {"found": 3, "investment": "0.1", "rate": "33.3", "start": "2024-06-30",
           "sectors": ["dust"], "done": True, "roster": [{"name": "张三", "phone": None}]}
    typed, issues = coerce_values(DEF, raw)
    assert issues == []
    stored = dumps_values(typed)
    assert loads_values(DEF, stored) == typed
    assert loads_values(DEF, jsonable(typed)) == typed
    assert jsonable(typed)["investment"] == 0.1


_SCALARS = st.one_of(st.none(), st.text(), st.integers(), st.floats(allow_nan=False),
                    st.booleans(), st.decimals(allow_nan=False, allow_infinity=False),
                    st.dates(), st.datetimes())
_STORED = st.recursive(_SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.tuples(inner, inner),
    st.dictionaries(st.one_of(st.text(), st.integers()), inner, max_size=4)), max_leaves=12)


@given(st.dictionaries(st.one_of(st.text(), st.integers()), _STORED, max_size=6))
def test_jsonable_is_what_a_json_round_trip_gives(values):
    """jsonable converts directly what it can; the result is exactly the round trip's,
    key order included (what is stored and answered)."""
    try:
        round_trip = json.loads(dumps_values(values))
    except TypeError:  # keys that cannot be sorted together: refused as before
        with pytest.raises(TypeError):
            jsonable(values)
        return
    direct = jsonable(values)
    assert direct == round_trip
    assert json.dumps(direct, ensure_ascii=False) == json.dumps(round_trip, ensure_ascii=False)


@given(st.one_of(st.none(), st.text(), st.integers(), st.floats(), st.booleans(),
                 st.lists(st.text()), st.dictionaries(st.text(), st.text()), st.decimals()))
def test_coerce_never_raises(raw):
    for field in DEF.fields():
        value, issues = coerce(field, raw)
        assert all(i.code in MESSAGES for i in issues)
        if value is not None:
            assert isinstance(value, TYPES[field.kind])
