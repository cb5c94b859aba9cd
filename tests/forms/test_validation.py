"""Validation: what a reporting contact is told before submitting."""

from decimal import Decimal
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from forms.consolidation import ChildReport
from forms.definition import Severity
from forms.issues import MESSAGES
from forms.loader import load_definition
from forms.validation import increments, target_progress, validate

DEF = load_definition(Path(__file__).with_name("sample.yaml"))
COMPLETE = {"reporter": "张三", "phone": "13800000001", "done": "是"}


def codes(issues):
    return sorted((i.field, i.code, str(i.severity)) for i in issues)


def test_complete_report_has_no_issues():
    assert validate(DEF, {**COMPLETE, "found": 5, "rectified": 3}) == []


def test_required_fields_only_when_submitting():
    assert codes(validate(DEF, {})) == [
        ("done", "required", "error"), ("phone", "required", "error"),
        ("reporter", "required", "error"),
    ]
    assert validate(DEF, {}, check_required=False) == []


def test_a_field_with_a_kind_error_is_not_also_reported_missing():
    found = codes(validate(DEF, {**COMPLETE, "done": "maybe"}))
    assert found == [("done", "bad_yesno", "error")]


def test_table_rows_required_cells_and_row_limits():
    rows = [{"name": "", "phone": "13800000001"}] + [{"name": f"n{i}"} for i in range(3)]
    issues = validate(DEF, {**COMPLETE, "roster": rows})
    assert ("roster", "required", 0, "name") in [(i.field, i.code, i.row, i.column) for i in issues]
    assert ("roster", "too_many_rows", "error") in codes(issues)


def test_an_unreadable_cell_does_not_hide_a_missing_one():
    rows = [{"name": "张三", "phone": "bad"}, {"name": "", "phone": "13800000001"}]
    found = [(i.code, i.row, i.column) for i in validate(DEF, {**COMPLETE, "roster": rows})]
    assert found == [("bad_phone", 0, "phone"), ("required", 1, "name")]


def test_rule_is_reported_at_its_first_field_in_both_languages():
    issues = validate(DEF, {**COMPLETE, "found": 2, "rectified": 3})
    [issue] = issues
    assert (issue.field, issue.code) == ("rectified", "rule_failed")
    assert issue.render() == "整改隐患数不能大于排查隐患数"
    assert issue.render(locale="en") == "Rectified cannot exceed found"


def test_rule_cannot_judge_missing_values():
    assert validate(DEF, {**COMPLETE, "rectified": 3}) == []


def test_cumulative_going_down_is_flagged_with_the_previous_period():
    # A correction is possible: by default a lower total is a warning that needs a
    # 说明 beside the figure, not an error that blocks the report outright.
    issues = validate(DEF, {**COMPLETE, "found": 4}, previous={"found": 9},
                      period="2024Q4", previous_period="2024Q3")
    [issue] = issues
    assert (issue.field, issue.code, issue.severity) == ("found", "cumulative_decreased",
                                                         Severity.WARNING)
    assert issue.needs_figure_note
    assert "2024年第三季度" in issue.render() and "9" in issue.render()
    assert "2024 Q3" in issue.render(locale="en")


def test_year_span_restarts_in_january_and_severity_follows_definition():
    prev = {"found": 1, "rectified": 9}
    same_year = validate(DEF, {**COMPLETE, "found": 5, "rectified": 2}, previous=prev,
                         period="2024Q4", previous_period="2024Q3")
    assert codes(same_year) == [("rectified", "cumulative_decreased", "warning")]
    new_year = validate(DEF, {**COMPLETE, "found": 5, "rectified": 2}, previous=prev,
                        period="2025Q1", previous_period="2024Q4")
    assert new_year == []


def test_correcting_an_earlier_period_rechecks_the_later_one():
    issues = validate(DEF, {**COMPLETE, "found": 12}, following={"found": 10},
                      period="2024Q3", following_period="2024Q4")
    [issue] = issues
    assert (issue.field, issue.code, issue.severity) == ("found", "later_period_lower",
                                                         Severity.WARNING)
    assert "2024年第四季度" in issue.render() and "2024 Q4" in issue.render(locale="en")
    assert validate(DEF, {**COMPLETE, "found": 9}, following={"found": 10}) == []
    # A year-span figure restarts in January: next year's smaller figure is fine.
    assert validate(DEF, {**COMPLETE, "rectified": 5}, following={"rectified": 1},
                    period="2024Q4", following_period="2025Q1") == []


def test_increments():
    inc = increments(DEF, {"found": 12, "rectified": 4, "posts": 3},
                     {"found": "10", "rectified": 6}, period="2025Q1", previous_period="2024Q4")
    assert inc == {"found": 2, "rectified": 4, "posts": 3}
    assert increments(DEF, {"found": 12}, None)["found"] == 12


def test_target_missed_only_from_its_date_and_only_for_the_jurisdiction():
    early = validate(DEF, {**COMPLETE, "posts": 5}, period="2025Q3", check_targets=True)
    assert early == []
    late = validate(DEF, {**COMPLETE, "posts": 5}, period="2025Q4", check_targets=True)
    assert codes(late) == [("posts", "target_missed", "warning")]
    assert validate(DEF, {**COMPLETE, "posts": 12}, period="2026Q1", check_targets=True) == []
    # One company's report does not have to meet the whole zone's target...
    assert validate(DEF, {**COMPLETE, "posts": 5}, period="2025Q4") == []
    # ...but the consolidated report of the zone does.
    consolidated = validate(DEF, {**COMPLETE, "posts": 5}, period="2025Q4",
                            children=[{"posts": 5}])
    assert codes(consolidated) == [("posts", "target_missed", "warning")]
    assert target_progress(DEF.field("posts"), 6) == Decimal("0.5")


def test_consolidated_figure_differs_from_children():
    children = [ChildReport("A", "甲村", {"found": 3}), {"found": "4"}]
    assert validate(DEF, {**COMPLETE, "found": 7}, children=children) == []
    issues = validate(DEF, {**COMPLETE, "found": 8}, children=children)
    assert codes(issues) == [("found", "differs_from_children", "warning")]
    assert "7" in issues[0].render()


values_strategy = st.dictionaries(
    st.sampled_from([f.key for f in DEF.fields()] + ["unknown"]),
    st.one_of(st.none(), st.text(), st.integers(), st.floats(), st.booleans(), st.decimals(),
              st.lists(st.one_of(st.text(), st.dictionaries(st.text(), st.text())))),
)


@given(values_strategy, st.one_of(st.none(), values_strategy),
       st.lists(values_strategy, max_size=3),
       st.sampled_from([None, "2024Q2", "2026Q4", "bad", "2024H1"]))
def test_validate_never_raises(values, previous, children, period):
    issues = validate(DEF, values, previous, children, period=period, previous_period="2024Q1")
    for issue in issues:
        assert issue.code in MESSAGES
        assert isinstance(issue.render(), str) and isinstance(issue.render(locale="en"), str)


@given(st.lists(st.integers(min_value=0, max_value=10**9), min_size=2, max_size=12))
def test_a_cumulative_series_that_goes_down_is_always_flagged(series):
    flagged = [
        any(i.code == "cumulative_decreased" for i in validate(
            DEF, {**COMPLETE, "found": cur}, previous={"found": prev}))
        for prev, cur in zip(series, series[1:], strict=False)
    ]
    assert flagged == [cur < prev for prev, cur in zip(series, series[1:], strict=False)]


def test_a_rule_needing_an_unreadable_figure_is_not_judged_and_says_why():
    # One round: the unreadable figure, the missing answer and the skipped rule together.
    issues = validate(DEF, {"found": "很多", "rectified": 5})
    found = {(i.field, i.code): i for i in issues}
    assert found[("found", "not_a_number")].is_error
    assert ("done", "required") in found
    skipped = found[("rectified", "rule_not_checked")]
    assert skipped.severity is Severity.WARNING
    assert skipped.render() == "Not checked: 整改隐患, because 排查隐患 could not be read."
    assert skipped.render(locale="en") == ("Not checked: Hazards rectified, because Hazards "
                                           "found could not be read.")
    # Readable figures are judged as before.
    judged = {(i.field, i.code) for i in validate(DEF, {"found": 3, "rectified": 5})}
    assert ("rectified", "rule_failed") in judged
    assert ("rectified", "rule_not_checked") not in judged
