"""The definition shown in the README is a valid template."""

from pathlib import Path

from forms.loader import parse_definition
from forms.validation import validate

README = Path(__file__).resolve().parents[2] / "README.md"


def test_readme_definition_loads_and_validates():
    text = README.read_text(encoding="utf-8")
    start = text.index("```yaml") + len("```yaml")
    definition = parse_definition(text[start:text.index("```", start)], "README.md")
    assert definition.key == "town-hazards"
    issues = validate(definition, {"reporter": "张三", "phone": "13800000001",
                                   "i01_found": 3, "i01_rectified": 4})
    assert [i.code for i in issues] == ["rule_failed"]
