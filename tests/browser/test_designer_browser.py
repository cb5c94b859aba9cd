"""The designer in a real browser: an administrator builds a monthly template with five
numbers, a long text and a rule, previews and publishes it, assigns it, and a village
fills it in on a phone and submits it.

Screenshots of the designer, the preview, the publish page and the submitter's form at
1280 px and 360 px go to test-artifacts/screenshots/.
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect
from reporting_setup import fits_the_screen, submit

pytestmark = pytest.mark.browser

TITLE = "月度安全生产检查情况表"
NUMBERS = ["检查企业数", "发现隐患数", "已整改隐患数", "培训人次", "应急演练次数"]


@pytest.fixture(autouse=True)
def _patient_expectations():
    """The machine running the suite may be busy: wait longer than Playwright's 5 s."""
    expect.set_options(timeout=15_000)
    yield
    expect.set_options(timeout=5_000)


def save_editor(page) -> None:
    page.locator("#editor").get_by_role("button", name="保存").click()
    page.wait_for_load_state()
    expect(page.locator(".flashes")).to_contain_text("已保存")


def shown(page, screenshot, name: str) -> None:
    width = page.viewport_size["width"]
    screenshot(page, f"designer-{name}-{width}")
    assert fits_the_screen(page), f"{page.url} scrolls sideways at {width} px"


def test_an_administrator_designs_publishes_and_assigns_and_a_village_submits(
        page, phone, log_in, screenshot):
    log_in(page, "admin")
    page.goto("/admin/designer")
    shown(page, screenshot, "list")
    page.get_by_role("button", name="新建空白模板").click()
    page.wait_for_load_state()
    expect(page.locator("#problems")).to_contain_text("模板需要标题。")

    details = page.locator("#details")
    details.get_by_label("表单标题").fill(TITLE)
    details.get_by_label("发文单位").fill("晋江市池店镇人民政府")
    details.get_by_label("方案标题").fill("池店镇安全生产治本攻坚三年行动方案")
    details.get_by_role("button", name="保存").click()
    page.wait_for_load_state()
    expect(page.locator("h1")).to_have_text(TITLE)
    expect(page.locator("#schedule")).to_contain_text("共 12 个报送期")

    page.get_by_role("button", name="添加部分").click()
    page.locator("#editor").get_by_label("标题", exact=True).fill("安全检查")
    save_editor(page)
    page.get_by_role("button", name="添加项目").click()
    page.locator("#editor").get_by_label("标题", exact=True).fill("隐患排查整治")
    save_editor(page)

    for label in NUMBERS:
        add = page.locator("#outline .outline-item form.add-form")
        add.locator("select").select_option("integer")
        add.get_by_role("button", name="添加填报项").click()
        page.wait_for_load_state()
        page.locator("#editor").get_by_label("名称", exact=True).fill(label)
        save_editor(page)
    add = page.locator("#outline .outline-item form.add-form")
    add.locator("select").select_option("longtext")
    add.get_by_role("button", name="添加填报项").click()
    page.locator("#editor").get_by_label("名称", exact=True).fill("工作开展情况")
    save_editor(page)
    expect(page.locator("#problems")).to_contain_text("没有问题")

    # The rule: picked by label, checked while typing.
    page.get_by_role("button", name="添加校验规则").click()
    page.wait_for_load_state()
    editor = page.locator("#editor")
    rule = editor.locator("textarea.rule-input")
    rule.fill("field_3 <= ")
    expect(page.locator("#check-a_expr")).not_to_have_text("规则书写正确。")
    expect(page.locator("#check-a_expr")).not_to_be_empty()
    rule.fill("")
    page.locator("#rule-field-picker").select_option(label="已整改隐患数")
    editor.get_by_role("button", name="插入").click()
    rule.press_sequentially("<= ")
    page.locator("#rule-field-picker").select_option(label="发现隐患数")
    editor.get_by_role("button", name="插入").click()
    expect(rule).to_have_value(re.compile(r"^field_\d+ <= field_\d+ $"))
    expect(page.locator("#check-a_expr")).to_have_text("规则书写正确。")
    editor.get_by_label("不通过时显示的提示").fill("已整改隐患数不能大于发现隐患数")
    save_editor(page)
    expect(page.locator("#rules")).to_contain_text("[已整改隐患数] <= [发现隐患数]")
    shown(page, screenshot, "editor")

    # Applicability: a unit tag picked into the section's condition, checked while typing.
    page.locator(".node-row", has_text="安全检查").get_by_role("link", name="编辑").click()
    page.wait_for_load_state()
    editor = page.locator("#editor")
    page.locator("#tag-picker").select_option(label="危化")
    editor.get_by_role("button", name="插入").last.click()
    expect(editor.locator("input[data-check-as=condition]")).to_have_value(
        re.compile(r"^unit_has\('危化'\) ?$"))
    expect(page.locator("#check-a_applies_when")).to_have_text("适用条件书写正确。")
    editor.locator("input[data-check-as=condition]").fill("field_1 + 1")
    expect(page.locator("#check-a_applies_when")).to_have_text("适用条件应为真或假，不能是数值。")
    editor.locator("input[data-check-as=condition]").fill("")
    save_editor(page)

    # Reorder by keyboard: the long text moves up one place with the "up" button.
    text_row = page.locator(".node-row", has_text="工作开展情况")
    text_row.get_by_role("button", name="上移: 工作开展情况").focus()
    with page.expect_navigation():
        page.keyboard.press("Enter")
    labels = page.locator("#outline .outline-fields .node-label").all_inner_texts()
    assert labels == [*NUMBERS[:4], "工作开展情况", NUMBERS[4]]

    # The same draft at 360 px.
    edit_url = page.url.split("#")[0]
    log_in(phone, "admin")
    phone.goto(edit_url)
    shown(phone, screenshot, "editor")

    page.get_by_role("link", name="预览", exact=True).first.click()
    page.wait_for_load_state()
    expect(page.locator("h1")).to_contain_text(TITLE)
    for label in NUMBERS:
        expect(page.get_by_label(label)).to_be_visible()
    shown(page, screenshot, "preview")
    phone.goto(page.url + "?width=phone")
    shown(phone, screenshot, "preview")

    page.get_by_role("link", name="发布…").first.click()
    page.wait_for_load_state()
    expect(page.locator("h1")).to_contain_text("第 1 版")
    shown(page, screenshot, "publish")
    page.get_by_role("button", name="发布第 1 版").click()
    page.wait_for_load_state()
    key = re.search(r"/admin/templates/([^/?#]+)", page.url)[1]
    expect(page.locator(".flashes")).to_contain_text("已发布")

    # Assigned to the town's villages with the existing assignment page.
    page.goto("/admin/assignments/new")
    page.get_by_label("标识").fill("designer-monthly")
    page.get_by_label("模板版本").select_option(f"{key}:1")
    page.locator("#root_code").fill("t01")  # the unit picker: the code in any case
    page.get_by_role("button", name="创建任务").click()
    page.wait_for_load_state()
    # The draft's window starts in January of this year: unless that is this month, the page
    # warns of the months already past due before saving anything, and is confirmed.
    if page.locator("#overdue-warning").count():
        shown(page, screenshot, "assignment-overdue-warning")
        page.get_by_label("仍然创建").check()
        page.get_by_role("button", name="创建任务").click()
        page.wait_for_load_state()
    assert "/admin/assignments/designer-monthly" in page.url, page.locator("main").inner_text()

    # The village fills it in on a phone and submits.
    phone.context.clear_cookies()  # another person on another phone
    log_in(phone, "village")
    phone.goto("/reports/")
    phone.locator("a.task-link", has_text=TITLE).first.click()
    phone.wait_for_load_state()
    phone.locator('[name="f_reporter"]').fill("李四")
    phone.locator('[name="f_phone"]').fill("13800000000")
    for index, value in enumerate(["12", "8", "6", "40", "2"], start=1):
        phone.locator(f'[name="f_field_{index}"]').fill(value)
    phone.locator('[name="f_field_6"]').fill("本月检查12家企业，整改隐患6处。")
    shown(phone, screenshot, "submitter-form")
    submit(phone)  # 提交… asks to confirm when warnings are still open
    expect(phone.locator(".flashes")).to_contain_text("报表已提交至")
