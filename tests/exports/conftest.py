"""Fixtures of the Excel round trip tests (helpers live in ``excel_helpers``)."""

from __future__ import annotations

import pytest
from excel_helpers import EVERY_KIND

from forms.definition import Definition


@pytest.fixture(scope="session")
def every_kind() -> Definition:
    return Definition.model_validate(EVERY_KIND)
