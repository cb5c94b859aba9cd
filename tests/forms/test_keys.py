"""Generated keys: unique within a template, never reused after a deletion."""

from forms.keys import KeyMaker


def test_new_keys_continue_after_the_highest_taken():
    maker = KeyMaker(["item_1", "item_7", "field_2", "reporter"])
    assert maker.new("item") == "item_8"
    assert maker.new("item") == "item_9"
    assert maker.new("field") == "field_3"
    assert maker.new("section") == "section_1"


def test_a_deleted_key_is_not_handed_out_again():
    maker = KeyMaker(["field_1", "field_2", "field_3"])
    # field_3 was deleted from the draft, but a later maker seeded from the
    # published version still knows it: the next field is field_4.
    assert maker.new("field") == "field_4"


def test_keys_from_an_empty_template():
    maker = KeyMaker()
    assert [maker.new("rule") for _ in range(3)] == ["rule_1", "rule_2", "rule_3"]
