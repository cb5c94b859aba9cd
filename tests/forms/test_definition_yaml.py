"""A definition written back as YAML reads back as the same definition."""

import pytest
import yaml

from forms.loader import load_catalog, parse_definition


@pytest.mark.parametrize("definition", load_catalog(), ids=lambda d: d.key)
def test_yaml_of_every_catalogue_template_loads_back_equal(definition):
    text = definition.to_yaml()
    assert parse_definition(text, "export.yaml") == definition
    document = yaml.safe_load(text)
    assert list(document)[:2] == ["key", "version"]
    assert definition.title in text  # Chinese kept readable, not escaped
