"""Hostile files are refused with a message, quickly, and cannot stop the caller."""

from __future__ import annotations

import time

import pytest
import sandbox_children as children
from excel_helpers import SECRET, resolver
from hostile_files import CORPUS, lying_zip_bomb

from exports import sandbox
from exports.bulk import expand_uploads
from exports.unit_table import read_units
from exports.workbook_reader import read_workbook


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_every_hostile_file_is_refused_within_5_seconds(every_kind, name):
    filename, data = CORPUS[name]()

    began = time.monotonic()
    uploads = expand_uploads([(filename, data)])
    results = [read_workbook(u.data, u.filename, secret=SECRET, resolve=resolver(every_kind))
               for u in uploads if u.problem is None]
    took = time.monotonic() - began

    issues = [u.problem for u in uploads if u.problem] + [i for r in results for i in r.issues]
    assert all(r.refused for r in results)
    assert issues and all(i.is_error and i.cell is None for i in issues)
    assert all(i.code not in {"reader_crashed", "reader_over_limit"} for i in issues), \
        "the pre-check should have caught it before the reader"
    assert took < 5


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_the_unit_import_refuses_every_hostile_file(name):
    filename, data = CORPUS[name]()

    result = read_units(data, filename, {})

    assert not result.ok and result.rows == []
    assert result.errors[0].row is None


def test_the_unit_import_counts_what_a_zip_really_unpacks():
    filename, data = lying_zip_bomb()

    (error,) = read_units(data, filename, {}).errors

    assert error.code == "unpacked_too_large"
    assert "liar.xlsx" in error.message % error.params


def test_a_child_answers_with_plain_data():
    assert sandbox.run(children.answer, b"xyz") == {"size": 3, "first": b"x"}


def test_a_child_that_aborts_is_a_crash_and_the_caller_goes_on():
    failure = sandbox.run(children.abort, b"")

    assert failure == sandbox.Failure(sandbox.CRASHED, "exit code -6")
    assert sandbox.run(children.answer, b"a")["size"] == 1


def test_a_child_over_its_memory_is_stopped():
    assert sandbox.run(children.allocate).kind == sandbox.OVER_LIMIT


@pytest.mark.slow
@pytest.mark.parametrize("function", [children.sleep, children.spin])
def test_a_child_over_its_time_is_killed_within_the_wall_time(function):
    budget = sandbox.Budget(cpu_seconds=1, wall_seconds=2)
    began = time.monotonic()

    assert sandbox.run(function, budget=budget).kind == sandbox.OVER_LIMIT
    assert time.monotonic() - began < 4


def test_a_crash_in_the_reader_is_refused_with_a_message(every_kind, monkeypatch, tmp_path):
    from exports import workbook_reader

    monkeypatch.setattr(workbook_reader, "PARSER", children.abort)

    result = read_workbook(b"PK\x03\x04 anything", "crash.xlsx", secret=SECRET,
                           resolve=resolver(every_kind))

    (issue,) = result.issues
    assert issue.code == "reader_crashed"
    assert "crash.xlsx" in issue.render()
