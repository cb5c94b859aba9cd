"""Every template of the built-in catalogue, filled in and sent the way its users would.

For each catalogue file a village that owes the report opens the web form,
fills in every field with a valid value of its kind (tables and attachments
included), saves, submits and downloads the official workbook. Once the town
has returned the report, the village blanks the draft and uploads that
workbook: every figure comes back from the workbook alone. A new catalogue
file is covered without any change here.
"""

from __future__ import annotations

import io
import re
from decimal import Decimal
from html import unescape
from pathlib import Path

import pytest
from form_reader import FormReader

from forms.definition import Column, Definition, FieldKind
from forms.loader import catalog_files, load_definition
from forms.rules import parse
from forms.tags import COMMON_TAGS
from forms.values import coerce_values, format_number
from server.db import unit_of_work
from server.models import Role
from server.services.templates import get_version, load_files
from server.services.units import set_tags

PDF = b"%PDF-1.4 the enterprise's plan, sealed\n" * 20
PDF_NAME = "工作方案.pdf"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


# -- valid values of every kind -----------------------------------------------------------------


def rule_fields(definition: Definition) -> set[str]:
    """Fields named by a cross-field rule: they all get 0, which satisfies any
    comparison or sum between them."""
    return {key for rule in definition.rules for key in parse(rule.expr).fields}


def typed_value(col: Column, index: int, bound: set[str]) -> str | list[str]:
    """A valid input for *col* as the form sends it, distinct from its neighbours'."""
    kind = col.kind
    if kind in (FieldKind.INTEGER, FieldKind.DECIMAL, FieldKind.PERCENT):
        number = Decimal(0) if col.key in bound else Decimal(index % 89 + 1)
        if kind is not FieldKind.INTEGER and col.key not in bound:
            number += Decimal("0.5")
        if col.min is not None:
            number = max(number, col.min)
        if col.max is not None:
            number = min(number, col.max)
        return format_number(number)
    if kind is FieldKind.TEXT and col.format == "phone":
        return f"1390000{index:04d}"
    if kind in (FieldKind.TEXT, FieldKind.LONGTEXT):
        return f"填报内容{index}"[: col.max_length or None]
    if kind is FieldKind.DATE:
        return f"2024-03-{index % 28 + 1:02d}"
    if kind is FieldKind.CHOICE:
        return col.choices[index % len(col.choices)].value
    if kind is FieldKind.MULTICHOICE:
        return sorted({col.choices[0].value, col.choices[-1].value})
    if kind is FieldKind.YESNO:
        return ["yes"]
    raise AssertionError(f"no test value for kind {kind}")


def filled_inputs(definition: Definition) -> tuple[dict, dict]:
    """The inputs of every field (two rows per table), and the attachments to upload."""
    bound = rule_fields(definition)
    inputs: dict = {}
    uploads: dict = {}
    for index, fld in enumerate(definition.fields()):
        name = f"f_{fld.key}"
        if fld.kind is FieldKind.ATTACHMENT:
            uploads[f"{name}-file"] = PDF_NAME
        elif fld.kind is FieldKind.TABLE:
            rows = min(max(fld.min_rows, 2), fld.max_rows or 2)
            for row in range(rows):
                for number, col in enumerate(fld.columns):
                    inputs[f"{name}-{row}-f_{col.key}"] = typed_value(
                        col, index + row * 7 + number, bound)
        elif not fld.is_calculated:
            inputs[name] = typed_value(fld, index, bound)
    # Calculated fields are read-only: the form shows what their formula gives.
    typed, _ = coerce_values(definition, {f.key: inputs.get(f"f_{f.key}")
                                          for f in definition.fields()})
    for fld in definition.calculated_fields():
        value = typed[fld.key]
        inputs[f"f_{fld.key}"] = "" if value is None else format_number(value)
    return inputs, uploads


# -- what the person sees -----------------------------------------------------------------------


def page(browser, path: str) -> str:
    response = browser.get(path)
    assert response.status_code == 200, path
    return unescape(response.get_data(as_text=True))


def status_shown(html: str) -> str:
    """The status badge of the report, as the page shows it."""
    meta = html[html.index('class="card report-meta"'):]
    match = re.search(r'class="badge badge-[a-z-]+"><span[^>]*>[^<]*</span>([^<]+)</span>', meta)
    assert match, "no status badge"
    return match.group(1)


def shown_inputs(html: str, names) -> dict:
    fields = FormReader(html).fields
    return {name: fields.get(name) for name in names}


def post_form(browser, path: str, changes: dict, uploads: dict, action: str):
    """Send the form on *path* as shown, with *changes* and the files of *uploads*."""
    data = {**FormReader(page(browser, path)).fields, **changes, "action": action}
    data.update({name: (io.BytesIO(PDF), filename) for name, filename in uploads.items()})
    return browser.post(path, data)


@pytest.mark.parametrize("path", catalog_files(), ids=lambda p: Path(p).stem)
def test_every_catalogue_form_goes_round_the_web_and_excel(
        path, session, tree, make_user, make_assignment, browser, other_browser):
    definition = load_definition(path)
    with unit_of_work(session):
        load_files(session, [path])
        # Every part the form scopes by unit tags (粉尘涉爆, 有限空间 ...) applies to VA1, so
        # every input goes round; tests/server/test_applicability_* cover the others.
        set_tags(session, tree["VA1"], list(COMMON_TAGS))
    key, period = definition.key, definition.schedule.first
    event = {}
    if definition.is_event:  # the unit's first event, with its time (not an input of the form)
        period, event = "event-1", {"event_at": "2024-07-01T09:30"}
    make_assignment(key, get_version(session, key, definition.version), tree["TA"])
    village = make_user("va1", unit=tree["VA1"])
    town = make_user("ta", role=Role.CONSOLIDATOR, unit=tree["TA"])
    for person in (browser, other_browser):
        person.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "zh-CN"
    form = f"/reports/{key}/VA1/{period}"
    inputs, uploads = filled_inputs(definition)

    browser.login_ok(village)
    assert form in page(browser, "/reports/")
    assert status_shown(page(browser, form)) == "未填报"

    assert post_form(browser, form, {**inputs, **event}, uploads, "save").status_code == 302
    html = page(browser, form)
    assert status_shown(html) == "草稿"
    assert shown_inputs(html, inputs) == inputs
    assert html.count(PDF_NAME) >= len(uploads)

    assert post_form(browser, form, {}, {}, "submit").status_code == 302
    assert status_shown(page(browser, form)) == "已报送"
    workbook = browser.get(f"{form}/workbook.xlsx")
    assert workbook.status_code == 200 and workbook.mimetype == XLSX

    other_browser.login_ok(town)
    assert status_shown(page(other_browser, form)) == "已报送"
    review = f"/review/{key}/VA1/{period}"
    seen = re.search(r'id="return-revision" name="revision" type="hidden" value="(\d+)"',
                     page(other_browser, review)).group(1)
    returned = other_browser.post(f"{review}/return", {"comment": "请核对后重报", "revision": seen},
                                  token_from=review)
    assert returned.status_code == 302
    assert status_shown(page(browser, form)) == "已退回"

    # A blank draft, so that every value shown after the upload comes from the workbook.
    blank = browser.post(form, {"revision": seen, "action": "save", **event})
    assert blank.status_code == 302
    html = page(browser, form)
    assert not any(value == inputs[name] for name, value in shown_inputs(html, inputs).items()
                   if inputs[name] != "")  # a rate over nothing is empty either way
    revision = int(FormReader(html).fields["revision"])

    uploaded = browser.post(f"{form}/workbook",
                            {"workbook": (io.BytesIO(workbook.data), "填好的报表.xlsx")},
                            token_from=form)
    assert uploaded.status_code == 200
    assert f"第 {revision + 1} 版草稿" in unescape(uploaded.get_data(as_text=True))
    html = page(browser, form)
    assert status_shown(html) == "已退回"  # saved, still to be sent again
    assert shown_inputs(html, inputs) == inputs
    assert html.count(PDF_NAME) >= len(uploads)  # a workbook holds no files: they stay

    assert post_form(browser, form, {}, {}, "submit").status_code == 302
    assert status_shown(page(browser, form)) == "已报送"
