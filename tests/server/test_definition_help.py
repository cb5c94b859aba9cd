"""The definition format help page, generated from the schema, and its example."""

from __future__ import annotations

import html
import re
from pathlib import Path

import pytest
from babel.support import Translations
from pydantic import Field

from forms import schema_help
from forms.definition import Definition, FieldKind
from forms.loader import parse_definition
from forms.rules import parse
from server.models import Role

ZH = Translations.load(str(Path(__file__).resolve().parents[2] / "translations"), ["zh_CN"])


@pytest.fixture
def admin(make_user):
    return make_user("boss", Role.ADMIN)


def text_of(page: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", " ", page))


def undocumented(root=Definition) -> list[str]:
    """Models and attributes without a description translated into Chinese."""
    missing = []
    for model in schema_help.document(root):
        if not model.description or ZH.gettext(model.description) == model.description:
            missing.append(model.name)
        for attribute in model.attributes:
            described = attribute.description
            if not described or ZH.gettext(described) == described:
                missing.append(f"{model.name}.{attribute.name}")
    return missing


def test_every_model_and_attribute_has_a_translated_description():
    assert undocumented() == []


def test_a_new_attribute_without_a_description_is_caught():
    class Extended(Definition):
        colour: str = Field(default="red")

    assert undocumented(Extended) == ["Extended", "Extended.colour"]


def test_the_walk_reaches_every_model_of_the_format():
    names = {m.__name__ for m in schema_help.models()}
    assert names == {"Definition", "SourcePlan", "Schedule", "AfterEnd", "InPeriod",
                     "FixedDate", "FieldDef", "Column", "TableColumn", "Choice", "Target",
                     "Item", "Section", "Rule", "Phase", "NoDeadline", "EventRules"}


def test_every_function_of_the_rule_language_is_described():
    assert schema_help.rule_functions_documented()
    calls = {"round": "round(found, 2)", "if": "if(found > 0, found, 0)"}
    for name in schema_help.RULE_FUNCTIONS:  # each one is a function the parser knows
        if name == "unit_has":  # takes a unit tag in quotes, not a field
            assert parse(f"{name}('危化')").tags == {"危化"}
            continue
        assert parse(calls.get(name, f"{name}(found)")).fields == {"found"}


def test_the_page_lists_every_attribute_of_every_model_in_chinese(browser, admin):
    browser.login_ok(admin)
    response = browser.get("/admin/definition-help")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    for model in schema_help.models():
        assert f'id="model-{model.__name__}"' in page
        for name in model.model_fields:
            assert f'id="attr-{model.__name__}-{name}"' in page, (model.__name__, name)
    text = text_of(page)
    assert "模板定义格式" in text
    # Types, required marks, defaults, allowed values with their meaning, descriptions.
    row = re.search(r'id="attr-FieldDef-kind".*?</tr>', page, re.S).group(0)
    row_text = " ".join(text_of(row).split())
    assert "所列取值之一" in row_text and "是" in row_text
    assert "percent 百分比" in row_text and "填报内容的类型。" in row_text
    row = text_of(re.search(r'id="attr-AfterEnd-day".*?</tr>', page, re.S).group(0))
    assert "整数" in row and "5" in row and "不小于 1" in row and "不大于 31" in row
    row = text_of(re.search(r'id="attr-Definition-sections".*?</tr>', page, re.S).group(0))
    assert "Section" in row and "的列表" in row
    assert 'href="#model-Section"' in page
    # The rule language and the example.
    assert "规则语言" in text and "filled(key)：该字段已填写时为真。" in text
    assert "key: example-town-hazards" in text
    assert 'href="/admin/definition-help/example.yaml"' in page


def test_the_page_in_english(browser, make_user, session):
    admin = make_user("boss-en", Role.ADMIN)
    admin.locale = "en"
    session.commit()
    browser.login_ok(admin)
    text = text_of(browser.get("/admin/definition-help").get_data(as_text=True))
    assert "Definition format" in text and "What is entered." in text
    assert "whole number" in text and "Percentage" in text


def test_the_example_downloads_and_loads(browser, admin):
    browser.login_ok(admin)
    response = browser.get("/admin/definition-help/example.yaml")
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.get_data(as_text=True) == schema_help.example_text()
    definition = parse_definition(response.get_data(), "definition_example.yaml")
    assert definition.key == "example-town-hazards"
    # The example shows every kind of field and every kind of table column.
    assert {f.kind for f in definition.fields()} == set(FieldKind)
    assert {c.source for c in definition.columns} == {"number", "title", "text", "input"}


def test_the_templates_page_links_the_help_and_the_example(browser, admin):
    browser.login_ok(admin)
    page = browser.get("/admin/templates").get_data(as_text=True)
    assert 'href="/admin/definition-help"' in page
    assert 'href="/admin/definition-help/example.yaml"' in page
    assert "模板定义格式说明" in page


def test_the_help_is_for_administrators_only(browser, make_user, tree):
    browser.login_ok(make_user("ta-hz", Role.CONSOLIDATOR, tree["TA"]))
    assert browser.get("/admin/definition-help").status_code == 403
    assert browser.get("/admin/definition-help/example.yaml").status_code == 403
