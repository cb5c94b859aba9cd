"""The definition format help and a refused upload, as an administrator sees them."""

from __future__ import annotations

from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

SAMPLE = Path(__file__).resolve().parents[1] / "forms" / "sample.yaml"


def test_admin_finds_the_help_and_reads_a_refused_upload(page, log_in, screenshot, tmp_path):
    log_in(page, "admin")
    page.goto("/admin/templates")
    page.get_by_role("link", name="模板定义格式说明").click()
    page.wait_for_load_state()
    assert page.locator("h1").inner_text().strip() == "模板定义格式"
    assert page.locator("#attr-FieldDef-kind").is_visible()
    assert "percent" in page.locator("#attr-FieldDef-kind").inner_text()
    screenshot(page, "admin-definition-help-1280")

    page.goto("/admin/templates")
    broken = tmp_path / "broken.yaml"
    broken.write_text(SAMPLE.read_text(encoding="utf-8").replace(
        "kind: percent", "kind: percentage", 1), encoding="utf-8")
    page.set_input_files("input[type=file]", str(broken))
    page.get_by_role("button", name="上传并发布").click()
    page.wait_for_load_state()
    row = page.locator("table.definition-problems tbody tr").first
    cells = row.locator("td").all_inner_texts()
    assert cells[0].startswith("第1节「隐患排查」 → 第2项「其他」 → 字段「持证率」 → 属性「kind」")
    assert cells[2].startswith("不能填写「percentage」")
    screenshot(page, "admin-definition-problems-1280")


def test_the_help_fits_a_phone(phone, log_in, screenshot):
    log_in(phone, "admin")
    phone.goto("/admin/definition-help")
    width = phone.viewport_size["width"]
    assert phone.evaluate("document.documentElement.scrollWidth") <= width
    screenshot(phone, "admin-definition-help-phone")
