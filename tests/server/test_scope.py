"""Scope: who sees which units. Out-of-scope requests get 404, as if nothing were there."""

import re

import pytest
from sqlalchemy import select
from werkzeug.exceptions import NotFound

from server.models import Role, Unit
from server.scope import can_see, get_unit_or_404, unit_scope, visible_units


def codes(units):
    return sorted(unit.code for unit in units)


def without_tokens(response) -> str:
    return re.sub(r'name="csrf_token" value="[^"]*"', 'name="csrf_token"',
                  response.get_data(as_text=True))


def linked_units(response) -> set[str]:
    """The unit codes a page links to (not mere substrings: CSRF tokens are random text)."""
    return set(re.findall(r'href="/admin/units/([^"]+)"', response.get_data(as_text=True)))


def test_submitter_sees_only_their_unit(session, make_user, tree):
    user = make_user("va1", unit=tree["VA1"])
    assert codes(visible_units(session, user)) == ["VA1"]
    assert can_see(user, tree["VA1"]) and not can_see(user, tree["VA2"])


def test_consolidator_sees_their_subtree(session, make_user, tree):
    town = make_user("ta-hz", Role.CONSOLIDATOR, tree["TA"])
    assert codes(visible_units(session, town)) == ["TA", "VA1", "VA2"]
    county = make_user("cy-hz", Role.CONSOLIDATOR, tree["CY"])
    assert codes(visible_units(session, county)) == ["CY", "TA", "TB", "VA1", "VA2", "VB1"]
    assert not can_see(town, tree["VB1"]) and not can_see(town, tree["CY"])


def test_admin_sees_everything_and_disabled_accounts_nothing(session, make_user, tree):
    admin = make_user("boss", Role.ADMIN)
    assert len(visible_units(session, admin)) == 6
    town = make_user("ta-hz", Role.CONSOLIDATOR, tree["TA"])
    town.active = False
    assert visible_units(session, town) == []


def test_sibling_codes_sharing_a_prefix_stay_apart(session, make_unit, make_user):
    """Ids 1 and 10..19 share a textual prefix; the path separator keeps them apart."""
    root = make_unit("R", kind="town")
    units = [make_unit(f"V{n}", root) for n in range(12)]
    first = units[0]  # id 2; units with ids 20.. do not exist, but id 2 vs 2x must not mix
    below_first = make_unit("V0-child", first)
    user = make_user("v0-hz", Role.CONSOLIDATOR, first)
    assert codes(visible_units(session, user)) == ["V0", "V0-child"]
    assert below_first.path.startswith(first.path)


def test_get_unit_or_404(app, session, make_user, tree):
    user = make_user("ta-hz", Role.CONSOLIDATOR, tree["TA"])
    with app.test_request_context():
        assert get_unit_or_404(session, user, "VA2").code == "VA2"
        with pytest.raises(NotFound):
            get_unit_or_404(session, user, "VB1")
        with pytest.raises(NotFound):
            get_unit_or_404(session, user, "NO-SUCH-UNIT")


def test_scope_filter_works_joined_from_another_table(session, make_user, tree):
    from server.models import User

    make_user("va1", unit=tree["VA1"])
    make_user("vb1", unit=tree["VB1"])
    town = make_user("ta-hz", Role.CONSOLIDATOR, tree["TA"])
    names = session.scalars(
        select(User.username).join(User.unit).where(unit_scope(town, Unit)).order_by(
            User.username)
    ).all()
    assert names == ["ta-hz", "va1"]


def test_village_submitter_cannot_open_another_village(browser, make_user, tree):
    make_user("va1", unit=tree["VA1"])
    browser.login_ok("va1")
    # Submitters have no units pages at all.
    assert browser.get("/admin/units/VA1").status_code == 403


def test_town_consolidator_cannot_see_another_town(browser, make_user, tree):
    make_user("ta-hz", Role.CONSOLIDATOR, tree["TA"])
    browser.login_ok("ta-hz")
    own = browser.get("/admin/units/TA")
    assert own.status_code == 200
    assert linked_units(own) == {"VA1", "VA2"}
    other = browser.get("/admin/units/TB")
    missing = browser.get("/admin/units/NO-SUCH-UNIT")
    assert other.status_code == missing.status_code == 404
    # Nothing distinguishes an existing unit outside the scope from a unit that does not exist
    # (but the CSRF tokens, which carry the second they were signed in).
    assert without_tokens(other).replace("/TB", "/X") == \
        without_tokens(missing).replace("/NO-SUCH-UNIT", "/X")
    assert "Unit TB" not in other.get_data(as_text=True)
    assert browser.get("/admin/units/VB1").status_code == 404
    assert browser.get("/admin/units/CY").status_code == 404


def test_consolidator_search_stays_inside_the_subtree(browser, make_user, tree):
    make_user("ta-hz", Role.CONSOLIDATOR, tree["TA"])
    browser.login_ok("ta-hz")
    assert linked_units(browser.get("/admin/units?q=V")) == {"VA1", "VA2"}
    assert linked_units(browser.get("/admin/units")) == {"TA"}


def test_consolidator_cannot_change_anything(browser, make_user, tree):
    make_user("ta-hz", Role.CONSOLIDATOR, tree["TA"])
    browser.login_ok("ta-hz")
    assert browser.get("/admin/units-import").status_code == 403
    assert browser.get("/admin/users").status_code == 403
