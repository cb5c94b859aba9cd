"""Outliers: a figure outside the unit's own history needs a 说明, it is not an error."""

from decimal import Decimal
from pathlib import Path
from statistics import median as plain_median

from hypothesis import given
from hypothesis import strategies as st

from forms.definition import Severity
from forms.issues import flagged_figures, unexplained
from forms.loader import load_definition, parse_definition
from forms.outliers import mad_bounds, median, outliers
from forms.validation import validate

DEF = load_definition(Path(__file__).with_name("sample.yaml"))
COMPLETE = {"reporter": "张三", "phone": "13800000001", "done": "是"}


def test_a_jump_of_more_than_ten_times_is_flagged_beside_the_figure():
    history = [{"investment": Decimal("12.5")}, {"investment": Decimal("13.41")}]
    [issue] = validate(DEF, {**COMPLETE, "investment": "1234.5"}, history=history)
    assert (issue.field, issue.code, issue.severity) == ("investment", "outlier_jump",
                                                         Severity.WARNING)
    assert issue.needs_figure_note
    assert "13.41" in issue.render() and "1234.5" in issue.render()


def test_a_steady_figure_is_not_flagged():
    history = [{"investment": Decimal(v)} for v in ("10", "12", "11", "13")]
    assert validate(DEF, {**COMPLETE, "investment": "14"}, history=history) == []
    assert validate(DEF, {**COMPLETE, "investment": "14"}, history=[]) == []


def test_a_figure_far_outside_the_history_is_flagged_even_below_ten_times():
    history = [{"investment": Decimal(v)} for v in ("10", "12", "11", "13")]
    [issue] = validate(DEF, {**COMPLETE, "investment": "60"}, history=history)
    assert issue.code == "outlier_history"
    assert "4 earlier figures" in issue.render(locale="en")
    # and a collapse as well as a leap
    [low] = validate(DEF, {**COMPLETE, "investment": "0"}, history=history)
    assert low.code == "outlier_history"


def test_thresholds_come_from_the_definition_and_zero_turns_them_off():
    text = Path(__file__).with_name("sample.yaml").read_text(encoding="utf-8")
    relaxed = text.replace("{key: investment, kind: decimal, label: 投入资金, unit: 万元, min: 0}",
                           "{key: investment, kind: decimal, label: 投入资金, unit: 万元, min: 0,"
                           " outlier_k: 0, outlier_jump: 200}")
    assert relaxed != text
    definition = parse_definition(relaxed)
    history = [{"investment": Decimal(v)} for v in ("10", "12", "11", "13")]
    assert validate(definition, {**COMPLETE, "investment": "1234"}, history=history) == []
    [issue] = validate(definition, {**COMPLETE, "investment": "2700"}, history=history)
    assert issue.code == "outlier_jump" and "200" in issue.render()


def test_a_decrease_is_flagged_once_as_a_correction_not_also_as_an_outlier():
    history = [{"found": v} for v in (10, 11, 12, 130)]
    issues = validate(DEF, {**COMPLETE, "found": 13}, previous={"found": 130}, history=history)
    assert [(i.field, i.code) for i in issues] == [("found", "cumulative_decreased")]


def test_one_rule_says_which_warnings_still_lack_an_explanation():
    history = [{"investment": Decimal("13.41")}]
    issues = validate(DEF, {**COMPLETE, "investment": "1234.5", "found": 4},
                      previous={"found": 9}, history=history)
    assert flagged_figures(issues) == ["found", "investment"]
    figure, general = unexplained(issues, {}, "")
    assert [i.field for i in figure] == ["found", "investment"] and general == []
    # the remarks do not explain a flagged figure; a note beside it does
    assert [i.field for i in unexplained(issues, {}, "见说明")[0]] == ["found", "investment"]
    figure, _ = unexplained(issues, {"found": "上季度误报，已核实更正", "investment": "  "}, "")
    assert [i.field for i in figure] == ["investment"]
    # other warnings (a missed target) are still explained in the remarks
    target = validate(DEF, {**COMPLETE, "posts": 3}, period="2026Q1", check_targets=True)
    assert [i.code for i in target] == ["target_missed"]
    assert unexplained(target, {}, "")[1] == target
    assert unexplained(target, {}, "资金未到位") == ([], [])


def test_hard_errors_stay_errors():
    issues = validate(DEF, {**COMPLETE, "found": "很多", "rectified": 3},
                      history=[{"found": 1}, {"found": 2}])
    assert any(i.is_error and i.code == "not_a_number" for i in issues)
    assert not any(i.needs_figure_note for i in issues if i.is_error)


def _plain_bounds(history, k):
    """The MAD rule recomputed with the standard library, on floats."""
    centre = plain_median([float(h) for h in history])
    mad = plain_median([abs(float(h) - centre) for h in history])
    return centre - k * mad, centre + k * mad, mad


numbers = st.decimals(min_value=0, max_value=10**6, places=2, allow_nan=False,
                      allow_infinity=False)


@given(st.lists(numbers, min_size=1, max_size=12))
def test_median_matches_the_standard_library(history):
    assert float(median(history)) == float(plain_median(history))


@given(st.lists(numbers, min_size=3, max_size=12), st.integers(min_value=1, max_value=8))
def test_mad_bounds_match_a_plain_recomputation(history, k):
    low_high = mad_bounds(history, k)
    low, high, mad = _plain_bounds(history, k)
    if mad == 0:
        assert low_high is None
    else:
        assert abs(float(low_high[0]) - low) < 1e-6 * max(1, abs(low))
        assert abs(float(low_high[1]) - high) < 1e-6 * max(1, abs(high))


@given(st.lists(numbers, min_size=0, max_size=2))
def test_too_short_a_history_has_no_bounds(history):
    assert mad_bounds(history, 5) is None


# -- cumulative fields: the MAD rule judges what each period added ------------------------

def _found_history(totals):
    return [{"found": t} for t in totals]


def test_a_steadily_growing_total_is_not_an_outlier():
    totals = [10, 21, 33, 41, 52, 61]
    assert validate(DEF, {**COMPLETE, "found": 72}, previous={"found": 61},
                    history=_found_history(totals)) == []


def test_a_sudden_addition_to_a_cumulative_total_is_flagged_as_an_increment():
    totals = [10, 21, 33, 41, 52, 61]
    [issue] = validate(DEF, {**COMPLETE, "found": 161}, previous={"found": 61},
                       history=_found_history(totals))
    assert (issue.code, issue.field) == ("outlier_increment", "found")
    assert issue.needs_figure_note
    text = issue.render(locale="en")
    assert "grew by 100" in text and "5 earlier periods" in text


def test_increments_restart_with_a_yearly_span():
    from forms.outliers import increments
    assert increments([5, 9, 2, 6]) == [4, 2, 4]


# plain recomputation of the increment rule, on floats
def _plain_flag(totals, value, k):
    added = [b - a if b >= a else b for a, b in zip(totals, totals[1:], strict=False)]
    if len(added) < 3:
        return False
    centre = plain_median(added)
    mad = plain_median([abs(x - centre) for x in added])
    if mad == 0:
        return False
    step = value - totals[-1]
    return not centre - k * mad <= step <= centre + k * mad


steps = st.lists(st.integers(min_value=0, max_value=500), min_size=1, max_size=10)


@given(st.integers(min_value=0, max_value=1000), steps, st.integers(min_value=0, max_value=5000))
def test_the_cumulative_rule_agrees_with_a_plain_recomputation_on_increments(start, added, step):
    totals = [start]
    for a in added:
        totals.append(totals[-1] + a)
    value = totals[-1] + step
    definition = parse_definition(Path(__file__).with_name("sample.yaml").read_text(
        encoding="utf-8").replace("cumulative: true, basis: 全面排查隐患",
                                  "cumulative: true, basis: 全面排查隐患, outlier_jump: 0"))
    issues = validate(definition, {**COMPLETE, "found": value}, history=_found_history(totals))
    assert [i.code for i in issues] == (["outlier_increment"] if _plain_flag(totals, value, 5)
                                        else [])


@given(st.integers(min_value=0, max_value=1000), st.integers(min_value=1, max_value=500),
       st.integers(min_value=3, max_value=10), st.integers(min_value=-3, max_value=3))
def test_a_total_growing_by_about_the_same_each_period_is_never_flagged(start, step, n, wobble):
    totals = [start + i * step for i in range(n)]
    totals[-1] += wobble if totals[-1] + wobble >= totals[-2] else 0
    value = totals[-1] + step
    definition = parse_definition(Path(__file__).with_name("sample.yaml").read_text(
        encoding="utf-8").replace("cumulative: true, basis: 全面排查隐患",
                                  "cumulative: true, basis: 全面排查隐患, outlier_jump: 0"))
    assert validate(definition, {**COMPLETE, "found": value},
                    history=_found_history(totals)) == []


@given(st.lists(st.integers(min_value=0, max_value=300), min_size=1, max_size=8),
       st.integers(min_value=0, max_value=5000), st.booleans())
def test_the_quiet_range_is_exactly_what_the_rules_leave_unflagged(history, value, cumulative):
    """What the web form opens the note box for agrees with the server's outlier rules."""
    from forms.outliers import quiet_range
    if cumulative:
        history = sorted(history)
        value = max(value, history[-1])  # a lower total is a correction, judged elsewhere
    fld = next(f for f in DEF.fields() if f.key == ("found" if cumulative else "investment"))
    issues = outliers(DEF, {fld.key: value}, [{fld.key: h} for h in history])
    low, high = quiet_range(fld, history)
    outside = (low is not None and value < low) or (high is not None and value > high)
    assert bool(issues) == outside
