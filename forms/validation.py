"""Validation of one submission against its definition.

``validate`` returns issues and never raises on user input: kinds and bounds,
required fields, the definition's rules, cumulative figures against the unit's
previous period, targets, and a consolidated report against its children.
Errors block submission; warnings need an explanation (``forms.issues.unexplained``):
a flagged figure its own 说明, any other warning the remarks.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from decimal import Decimal
from typing import Any

from forms.applicability import Applicability, applicability
from forms.consolidation import ChildReport, aggregate, child_value, counts_for
from forms.definition import (  # same_span: imported from here by the pages too
    Aggregation,
    Definition,
    FieldDef,
    FieldKind,
    TargetKind,
    same_span,
)
from forms.issues import Issue, error, warning
from forms.outliers import outliers
from forms.periods import Period
from forms.values import coerce, coerce_values, format_number

Values = Mapping[str, Any]


def validate(
    definition: Definition,
    values: Values,
    previous: Values | None = None,
    children: Sequence[ChildReport | Values] | None = None,
    *,
    period: str | Period | None = None,
    previous_period: str | Period | None = None,
    check_required: bool = True,
    check_targets: bool | None = None,
    following: Values | None = None,
    following_period: str | Period | None = None,
    history: Sequence[Values] | None = None,
    tags: Collection[str] | None = None,
) -> list[Issue]:
    """All issues of *values* (raw or typed) for *definition*.

    *previous* is the same unit's report for the latest earlier period (within
    the plan); *previous_period* names it so year-span cumulative fields are
    only compared within one calendar year. *children* are the reports of the
    units below when *values* is a consolidated report. *period* enables the
    target checks, which by default apply only to consolidated reports (those
    given *children*): a plan's target, such as 12 demonstration posts in the
    zone, is met by the whole jurisdiction, not by every company in it.
    ``check_required=False`` judges a draft. *following* is the unit's report
    of the next later period, if any: correcting an earlier period re-checks the
    later one, and a figure now above it is flagged (as a warning here, since
    it is the later report that may be wrong). *history* holds the unit's
    earlier sent reports, oldest first: a figure outside them is an outlier
    (``forms.outliers``), a warning that needs a 说明 beside the figure.

    *tags* are the unit's tags: what does not apply to the unit (``applies_when``)
    is skipped entirely, whatever was typed into it (None: tag conditions hold).
    """
    if not isinstance(values, Mapping):
        values = {}
    scope = applicability(definition, tags, values)
    typed, issues = coerce_values(definition, scope.prune(values))
    period = _as_period(period)
    previous_period = _as_period(previous_period)
    broken = {(i.field, i.row, i.column) for i in issues if i.is_error}
    unread = {field for field, row, _column in broken if row is None}  # typed, not readable
    if check_required:
        issues += _required(definition, typed, broken, scope)
    issues += _rules(definition, typed, scope, tags, unread=unread)
    # The checks below read only *typed*, which holds no field that does not apply.
    if previous is not None:
        issues += _cumulative(definition, typed, previous, period, previous_period)
    if history:
        flagged = {i.field for i in issues}
        issues += [i for i in outliers(definition, typed, history) if i.field not in flagged]
    if following is not None:
        issues += _later(definition, typed, following, period, _as_period(following_period))
    if check_targets is None:
        check_targets = children is not None
    if period is not None and check_targets:
        issues += _targets(definition, typed, period)
    if children is not None:
        issues += _children(definition, typed, children, period)
    return issues


def _as_period(value: str | Period | None) -> Period | None:
    if value is None or isinstance(value, Period):
        return value
    try:
        return Period.parse(value)
    except ValueError:
        return None


def _labels(fld: FieldDef) -> dict[str, Any]:
    params: dict[str, Any] = {"label": fld.label}
    if fld.label_en:
        params["label_en"] = fld.label_en
    return params


def _required(
    definition: Definition, typed: Values, broken: set[tuple], scope: Applicability
) -> list[Issue]:
    """Missing values; a value that was given but could not be read is reported once."""
    issues: list[Issue] = []
    for fld in definition.presence_checked_fields():
        if not scope.applies(fld.key):
            continue
        value = typed.get(fld.key)
        if fld.required and value is None and (fld.key, None, None) not in broken:
            issues.append(error(fld.key, "required", **_labels(fld)))
        if fld.kind is FieldKind.TABLE:
            rows = value or []
            if fld.min_rows and len(rows) < fld.min_rows:
                issues.append(error(fld.key, "too_few_rows", min=fld.min_rows, **_labels(fld)))
            if fld.max_rows is not None and len(rows) > fld.max_rows:
                issues.append(error(fld.key, "too_many_rows", max=fld.max_rows, **_labels(fld)))
            for index, row in enumerate(rows):
                for col in fld.columns:
                    unread = (fld.key, index, col.key) in broken
                    if col.required and row.get(col.key) is None and not unread:
                        params = {"label": col.label, **({"label_en": col.label_en}
                                                         if col.label_en else {})}
                        issues.append(
                            error(fld.key, "required", **params).at(row=index, column=col.key)
                        )
    return issues


def _rules(
    definition: Definition, typed: Values, scope: Applicability, tags: Collection[str] | None,
    unread: Collection[str | None] = (),
) -> list[Issue]:
    """The rules that fail; a rule that reads a figure that could not be read (*unread*)
    is not judged, and says so, so every problem of a save is listed in one round."""
    issues: list[Issue] = []
    for rule, expr, names in definition.parsed_rules:
        if scope.fields and expr.fields & scope.fields:
            continue  # it reads a figure not asked of this unit
        # Point at the first field the rule names: for "rectified <= found"
        # the figure to correct is usually the one on the left.
        where = names[0] if names else None
        blocked = [k for k in names if k in unread] if unread else []
        if blocked:
            fields = [definition.field(k) for k in dict.fromkeys(blocked)]
            target = definition.field(where) if where else None
            params: dict[str, Any] = {
                "label": target.label if target else rule.key,
                "fields": "、".join(f.label for f in fields if f),
                "fields_en": ", ".join((f.label_en or f.label) for f in fields if f),
            }
            if target is not None and target.label_en:
                params["label_en"] = target.label_en
            issues.append(warning(where, "rule_not_checked", **params))
            continue
        if expr.evaluate(typed, tags=tags) is False:
            params = {"message": rule.message, "rule": rule.key}
            if rule.message_en:
                params["message_en"] = rule.message_en
            issues.append(Issue(rule.severity, where, "rule_failed", params))
    return issues


def _cumulative(
    definition: Definition,
    typed: Values,
    previous: Values,
    period: Period | None,
    previous_period: Period | None,
) -> list[Issue]:
    issues: list[Issue] = []
    for fld in definition.cumulative_fields():
        value = typed.get(fld.key)
        before = child_value(fld, previous)
        if value is None or before is None or not same_span(fld, period, previous_period):
            continue
        if value < before:
            params = {**_labels(fld), "value": format_number(value),
                      "previous": format_number(before), "previous_period": ""}
            if previous_period is not None:
                params["previous_period"] = previous_period.label("zh_CN")
                params["previous_period_en"] = previous_period.label("en")
            issues.append(Issue(fld.cumulative_severity, fld.key, "cumulative_decreased", params))
    return issues


def _later(
    definition: Definition,
    typed: Values,
    following: Values,
    period: Period | None,
    following_period: Period | None,
) -> list[Issue]:
    issues: list[Issue] = []
    for fld in definition.cumulative_fields():
        value = typed.get(fld.key)
        later = child_value(fld, following)
        if value is None or later is None or not same_span(fld, following_period, period):
            continue
        if later < value:
            params = {**_labels(fld), "value": format_number(value),
                      "later": format_number(later), "later_period": ""}
            if following_period is not None:
                params["later_period"] = following_period.label("zh_CN")
                params["later_period_en"] = following_period.label("en")
            issues.append(warning(fld.key, "later_period_lower", **params))
    return issues


def increments(
    definition: Definition,
    values: Values,
    previous: Values | None,
    *,
    period: str | Period | None = None,
    previous_period: str | Period | None = None,
) -> dict[str, int | Decimal | None]:
    """本期新增: each cumulative field's growth since the previous period.

    With no previous report (the first period, or a new unit) the whole
    cumulative figure is new; a year-span field restarts in January.
    """
    period, previous_period = _as_period(period), _as_period(previous_period)
    out: dict[str, int | Decimal | None] = {}
    for fld in definition.cumulative_fields():
        value = child_value(fld, values)
        if value is None:  # most of a report's figures, until it is filled in
            out[fld.key] = None
            continue
        before = child_value(fld, previous or {})
        if before is None or not same_span(fld, period, previous_period):
            out[fld.key] = value
        else:
            out[fld.key] = value - before
    return out


def target_progress(fld: FieldDef, value: Any) -> Decimal | None:
    """Share of the target reached (1 = reached), None without target or value."""
    if fld.target is None or value is None:
        return None
    typed, _ = coerce(fld, value)
    if typed is None or fld.target.value == 0:
        return None
    return Decimal(typed) / fld.target.value


def _targets(definition: Definition, typed: Values, period: Period) -> list[Issue]:
    """Targets whose date has come and that the figures do not reach.

    A recurring minimum is judged per window on the unit's series of reports
    (``forms.targets``), not on one report, so it is left out here.
    """
    issues: list[Issue] = []
    for fld in definition.target_fields():
        target = fld.target
        value = typed.get(fld.key)
        if target.kind is TargetKind.RECURRING or value is None or period.end < target.by:
            continue
        shown, goal = format_number(value), format_number(target.value)
        if target.kind is TargetKind.SHARE:
            total = typed.get(target.denominator)
            if total is None:
                continue
            value = Decimal(100) if total == 0 else Decimal(value) * 100 / Decimal(total)
            shown = f"{format_number(value.quantize(Decimal('0.1')))}% ({shown}/{total})"
            goal = f"{goal}%"
        reached = value >= target.value if target.comparison == ">=" else value <= target.value
        if not reached:
            issues.append(warning(fld.key, "target_missed", value=shown, target=goal,
                                  by=target.by.isoformat(), **_labels(fld)))
    return issues


def _children(
    definition: Definition, typed: Values, children: Sequence[ChildReport | Values],
    period: Period | None,
) -> list[Issue]:
    reports = [c if isinstance(c, ChildReport) else ChildReport("", "", c) for c in children]
    scopes = [c.applicability(definition) for c in reports]
    issues: list[Issue] = []
    for fld in definition.numeric_fields():
        rule = fld.effective_aggregation
        value = typed.get(fld.key)
        if value is None or rule in (Aggregation.NONE, Aggregation.LAST):
            continue
        counted = (r for r, s in zip(reports, scopes, strict=True)
                   if s.applies(fld.key) and counts_for(fld, r, period))
        numbers = [v for v in (child_value(fld, r.values) for r in counted) if v is not None]
        expected = aggregate(rule, numbers)
        if expected is None:
            continue
        if rule is Aggregation.MEAN:
            differs = abs(Decimal(value) - expected) >= Decimal("0.01")
        else:
            differs = value != expected
        if differs:
            issues.append(warning(fld.key, "differs_from_children", value=format_number(value),
                                  expected=format_number(expected), **_labels(fld)))
    return issues
