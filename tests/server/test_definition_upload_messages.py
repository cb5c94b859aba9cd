"""Broken definitions on the upload page and in the CLI: the user's language, never raw
pydantic or PyYAML English, each problem placed by labels with its line and column."""

from __future__ import annotations

import html
import io
import re

import pytest
from definition_corpus import CORPUS, RAW_PHRASES, Broken, sample_text

from server.cli import cli
from server.models import Role, TemplateVersion
from server.services.templates import MAX_DEFINITION_BYTES

ROW = re.compile(r"<tr>\s*<td>(.*?)</td>\s*<td>(.*?)</td>\s*<td>(.*?)</td>\s*</tr>", re.S)


@pytest.fixture
def admin(make_user):
    return make_user("boss", Role.ADMIN)


def upload(browser, data: bytes, name: str):
    return browser.post("/admin/templates", {"file": (io.BytesIO(data), name)},
                        content_type="multipart/form-data")


def problem_rows(page: str) -> list[tuple[str, str, str]]:
    """(place, line:column, message) of every row of the problems table, as text."""
    table = page[page.index('class="table definition-problems"'):]
    table = table[:table.index("</table>")]
    return [tuple(html.unescape(re.sub(r"<[^>]+>", " ", cell)).strip() for cell in row)
            for row in ROW.findall(table)]


def test_every_broken_definition_is_explained_in_chinese(browser, admin, session):
    browser.login_ok(admin)
    for broken in CORPUS:
        response = upload(browser, broken.data, f"{broken.name}.yaml")
        assert response.status_code == 400, broken.name
        page = response.get_data(as_text=True)
        assert "定义未发布" in page
        rows = problem_rows(page)
        assert rows, broken.name
        body = page[page.index("定义未发布"):]
        leaked = [phrase for phrase in RAW_PHRASES if phrase in html.unescape(body)]
        assert leaked == [], (broken.name, leaked)
        for place, position, message in rows:
            assert place and message, (broken.name, place, message)
            # A message in Chinese, not an English sentence.
            assert re.search(r"[\u4e00-\u9fff]", message), (broken.name, message)
            assert not re.search(r"\b(the|is|must|not|should)\b", message), (broken.name, message)
            assert position == "—" or re.fullmatch(r"\d+:\d+", position), position
            if broken.place is not None:  # the problem lies inside the document
                assert not place.startswith("整个文档"), (broken.name, place)
        if broken.line is not None:
            assert rows[0][1].startswith(f"{broken.line}:"), (broken.name, rows[0])
    assert session.query(TemplateVersion).count() == 0


def test_the_problem_row_shows_labels_path_line_and_column(browser, admin):
    browser.login_ok(admin)
    text = sample_text().replace("kind: percent", "kind: percentage", 1)
    [(place, position, message)] = problem_rows(
        upload(browser, text.encode(), "bad.yaml").get_data(as_text=True))
    assert place.startswith("第1节「隐患排查」 → 第2项「其他」 → 字段「持证率」 → 属性「kind」")
    assert place.endswith("sections[0].items[1].fields[0].kind")
    line = 1 + next(n for n, t in enumerate(text.splitlines()) if "kind: percentage" in t)
    assert position == f"{line}:{text.splitlines()[line - 1].index('percentage') + 1}"
    assert message.startswith("不能填写「percentage」，必须是以下之一：text（文本）")


def test_an_english_reader_gets_english(browser, make_user, session):
    admin = make_user("boss-en", Role.ADMIN)
    admin.locale = "en"
    session.commit()
    browser.login_ok(admin)
    text = sample_text().replace("kind: percent", "kind: percentage", 1)
    [(place, _, message)] = problem_rows(
        upload(browser, text.encode(), "bad.yaml").get_data(as_text=True))
    assert place.startswith("section 1 “隐患排查” → item 2 “其他” → field “持证率”")
    assert message.startswith("“percentage” is not allowed: use one of text (Text)")


def test_a_file_over_the_limit_is_refused_with_its_own_message(browser, admin):
    browser.login_ok(admin)
    [(place, _, message)] = problem_rows(upload(
        browser, b"#" * (MAX_DEFINITION_BYTES + 1), "big.yaml").get_data(as_text=True))
    assert place == "整个文档"
    assert message == f"文件超过 {MAX_DEFINITION_BYTES // (1024 * 1024)} MB。"


@pytest.mark.parametrize("broken", [b for b in CORPUS if b.name in (
    "enum", "rule_syntax", "tab", "not_utf8", "period_frequency")], ids=lambda b: b.name)
def test_the_cli_prints_the_same_translated_problems(app, tmp_path, monkeypatch, broken: Broken):
    monkeypatch.setenv("TIANBAO_LOCALE", "zh_CN")
    path = tmp_path / f"{broken.name}.yaml"
    path.write_bytes(broken.data)
    result = app.test_cli_runner().invoke(cli, ["templates", "load", str(path)])
    assert result.exit_code == 1
    assert "没有发布任何内容" in result.output or "未发布" in result.output, result.output
    assert f"{broken.name}.yaml: " in result.output
    assert not any(phrase in result.output for phrase in RAW_PHRASES), result.output
    problem_line = result.output.splitlines()[-1]
    assert re.search(r"[\u4e00-\u9fff]", problem_line.split(": ", 1)[1])
