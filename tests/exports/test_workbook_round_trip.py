"""Write a template, fill it in as a user would, read it back: the same values."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from excel_helpers import fill_workbook, read, sample_values, template
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from forms.definition import Definition, FieldKind
from forms.loader import catalog_files, load_definition
from forms.values import coerce

CATALOG = catalog_files()


def expected_values(definition: Definition, filled: dict) -> dict:
    """Every field a workbook holds: the filled value, or None."""
    return {
        f.key: filled.get(f.key)
        for f in definition.fields()
        if f.kind is not FieldKind.ATTACHMENT
    }


@pytest.mark.parametrize("path", CATALOG, ids=[p.stem for p in CATALOG])
def test_every_catalogue_template_round_trips(path):
    definition = load_definition(path)
    values = sample_values(definition)
    period = definition.schedule.first_period.key
    data = fill_workbook(template(definition, period=period), definition, values)

    result = read(data, definition)

    assert result.issues == []
    assert result.ok
    assert result.values == expected_values(definition, values)
    assert result.identity.template == definition.key
    assert result.identity.period == period


def test_the_catalogue_is_covered():
    # The five plans give at least five templates; the round trip above runs on each.
    assert len(CATALOG) >= 5


def test_every_kind_round_trips_when_typed_in(every_kind):
    values = sample_values(every_kind)
    data = fill_workbook(template(every_kind), every_kind, values)

    result = read(data, every_kind)

    assert result.issues == []
    assert result.values == expected_values(every_kind, values)
    assert result.values["level"] == every_kind.field("level").choices[
        list(c.value for c in every_kind.field("level").choices).index(values["level"])
    ].value
    assert result.values["rate"] == Decimal("87.5")
    assert isinstance(result.values["found"], int)


def test_a_blank_template_reads_as_all_blank(every_kind):
    result = read(template(every_kind), every_kind)

    assert result.ok and result.issues == []
    assert result.values == expected_values(every_kind, {})


@pytest.mark.parametrize("locale", ["zh_CN", "en"])
def test_a_prefilled_template_reads_back_its_values(every_kind, locale):
    values = sample_values(every_kind)

    result = read(template(every_kind, values=values, locale=locale), every_kind)

    assert result.issues == []
    assert result.values == expected_values(every_kind, values)


# -- property: the Excel round trip gives what the web form would store --------------

_text = st.text(
    st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), min_size=0, max_size=40
)
_decimal = st.decimals(min_value=Decimal("-1e9"), max_value=Decimal("1e9"), places=4,
                       allow_nan=False, allow_infinity=False)


def _value(col):
    kind = col.kind
    if kind is FieldKind.INTEGER:
        low = int(col.min) if col.min is not None else -10**9
        high = int(col.max) if col.max is not None else 10**9
        return st.integers(low, high)
    if kind in (FieldKind.DECIMAL, FieldKind.PERCENT):
        return _decimal
    if kind is FieldKind.DATE:
        return st.dates(date(1950, 1, 1), date(2099, 12, 31))
    if kind is FieldKind.CHOICE:
        return st.sampled_from([c.value for c in col.choices])
    if kind is FieldKind.MULTICHOICE:
        return st.lists(st.sampled_from([c.value for c in col.choices]), min_size=1,
                        unique=True)
    if kind is FieldKind.YESNO:
        return st.booleans()
    return _text


@st.composite
def _values(draw, definition):
    values = {}
    for field in definition.fields():
        if field.kind is FieldKind.ATTACHMENT:
            continue
        if field.kind is FieldKind.TABLE:
            row = st.fixed_dictionaries({c.key: st.none() | _value(c) for c in field.columns})
            values[field.key] = draw(st.lists(row, max_size=4))
        else:
            values[field.key] = draw(st.none() | _value(field))
    return values


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_excel_round_trip_matches_direct_coercion(every_kind: Definition, data):
    values = data.draw(_values(every_kind))

    result = read(template(every_kind, values=values), every_kind)

    for field in every_kind.fields():
        if field.kind is FieldKind.ATTACHMENT:
            continue
        expected, _ = coerce(field, values[field.key])
        assert result.values[field.key] == expected, field.key
