"""The difference between two revisions, as the history page shows it."""

from datetime import date
from decimal import Decimal
from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st

from forms.diff import diff_rows, diff_values
from forms.loader import load_definition

DEF = load_definition(Path(__file__).with_name("sample.yaml"))
ROSTER = DEF.field("roster")


def summary(changes):
    return [(c.field.key, c.kind, c.before, c.after) for c in changes]


def test_identical_values_have_no_changes():
    values = {"found": 5, "start": date(2024, 6, 1), "roster": [{"name": "张三"}]}
    assert diff_values(DEF, values, dict(values)) == []


def test_same_figure_written_differently_is_not_a_change():
    assert diff_values(DEF, {"found": 12, "investment": "3.50"},
                       {"found": "１２", "investment": Decimal("3.5")}) == []


def test_changed_added_and_removed_fields_in_form_order():
    before = {"reporter": "张三", "found": 5, "rectified": 3}
    after = {"reporter": "李四", "found": 6, "level": "red"}
    assert summary(diff_values(DEF, before, after)) == [
        ("reporter", "changed", "张三", "李四"),
        ("found", "changed", 5, 6),
        ("rectified", "removed", 3, None),
        ("level", "added", None, "red"),
    ]


def test_blank_text_counts_as_no_value():
    assert diff_values(DEF, {"reporter": ""}, {}) == []


def test_first_revision_against_nothing_lists_every_value():
    changes = diff_values(DEF, None, {"found": 1, "done": "是"})
    assert summary(changes) == [("found", "added", None, 1), ("done", "added", None, True)]


def test_unknown_keys_are_ignored():
    assert diff_values(DEF, {"gone": 1}, {"gone": 2}) == []


def test_an_unreadable_stored_value_is_still_shown():
    changes = diff_values(DEF, {"found": "abc"}, {"found": 3})
    assert summary(changes) == [("found", "changed", "abc", 3)]


def test_attachment_compared_by_file_not_by_metadata():
    same = diff_values(DEF, {"plan_file": {"id": "t1", "name": "a.pdf", "size": 10}},
                       {"plan_file": {"id": "t1", "name": "a.pdf"}})
    assert same == []
    other = diff_values(DEF, {"plan_file": {"id": "t1", "name": "a.pdf"}},
                        {"plan_file": {"id": "t2", "name": "a.pdf"}})
    assert [c.field.key for c in other] == ["plan_file"]


def rows(*names):
    return [{"name": n, "phone": None} for n in names]


def row_summary(changes):
    return [(r.kind, r.before_index, r.after_index, r.columns) for r in changes]


def test_row_removed_in_the_middle_is_one_removed_row():
    changes = diff_rows(ROSTER, rows("甲", "乙", "丙"), rows("甲", "丙"))
    assert row_summary(changes) == [("removed", 1, None, ())]


def test_row_added_at_the_end():
    changes = diff_rows(ROSTER, rows("甲"), rows("甲", "乙"))
    assert row_summary(changes) == [("added", None, 1, ())]


def test_edited_cell_shows_as_changed_row_with_its_column():
    before = [{"name": "甲", "phone": "13800000001"}, {"name": "乙", "phone": None}]
    after = [{"name": "甲", "phone": "13800000002"}, {"name": "乙", "phone": None}]
    assert row_summary(diff_rows(ROSTER, before, after)) == [("changed", 0, 0, ("phone",))]


def test_table_changes_are_reported_under_the_table_field():
    changes = diff_values(DEF, {"roster": rows("甲")}, {"roster": rows("甲", "乙")})
    assert len(changes) == 1 and changes[0].field.key == "roster"
    assert row_summary(changes[0].rows) == [("added", None, 1, ())]


def test_blank_rows_left_in_the_form_are_not_changes():
    after = rows("甲") + [{"name": "", "phone": ""}]
    assert diff_values(DEF, {"roster": rows("甲")}, {"roster": after}) == []


names = st.lists(st.sampled_from(["甲", "乙", "丙", "丁"]), max_size=6)


@given(names, names)
def test_row_changes_account_for_every_row(old, new):
    changes = diff_rows(ROSTER, rows(*old), rows(*new))
    removed = {c.before_index for c in changes if c.kind in ("removed", "changed")}
    added = {c.after_index for c in changes if c.kind in ("added", "changed")}
    # Rows not mentioned are unchanged, and equal in number on both sides.
    assert len(old) - len(removed) == len(new) - len(added)
    if old == new:
        assert changes == []
    else:
        assert changes
