"""Demo data: units from YAML, one account per unit and role, safe to load again."""

from sqlalchemy import func, select

from server.demo import DEMO_FILE, demo_password, load_demo, read_tree
from server.models import Role, Unit, User
from server.services import accounts
from server.services import units as unit_service

SMALL_TREE = """
- code: T1
  name: 示范镇
  kind: town
  contact: 张三（示例）
  phone: "0595-00000000"
  children:
    - {code: T1-V1, name: 一村, kind: village, contact: 李四（示例）, phone: "13800000000"}
    - code: T1-OFF
      name: 镇安办
      kind: office
      children:
        - {code: T1-OFF-E1, name: 示例企业, kind: company}
"""


def count(session, model) -> int:
    return session.scalar(select(func.count()).select_from(model))


def test_demo_accounts_follow_the_tree(app, session, tmp_path, browser):
    source = tmp_path / "tree.yaml"
    source.write_text(SMALL_TREE, encoding="utf-8")
    with app.app_context():
        summary = load_demo(session, "demo-pass-1", source)
    assert summary.units_created == 4
    names = {u.username: (u.role, u.unit.code if u.unit else None)
             for u in session.scalars(select(User))}
    assert names == {
        "admin": (Role.ADMIN, None),
        "t1": (Role.SUBMITTER, "T1"), "t1-hz": (Role.CONSOLIDATOR, "T1"),
        "t1-v1": (Role.SUBMITTER, "T1-V1"),
        "t1-off": (Role.SUBMITTER, "T1-OFF"), "t1-off-hz": (Role.CONSOLIDATOR, "T1-OFF"),
        "t1-off-e1": (Role.SUBMITTER, "T1-OFF-E1"),
    }
    village = unit_service.get_unit(session, "T1-V1")
    assert village.contact_phone == "13800000000" and village.depth == 1
    assert browser.login("t1-hz", "demo-pass-1").status_code == 302


def test_loading_again_keeps_existing_data(app, session, tmp_path):
    source = tmp_path / "tree.yaml"
    source.write_text(SMALL_TREE, encoding="utf-8")
    with app.app_context():
        load_demo(session, "demo-pass-1", source)
        admin = accounts.get_user(session, "admin")
        accounts.reset_password(session, admin, "changed-by-admin")
        unit = unit_service.get_unit(session, "T1")
        unit.name = "改过的名字"
        session.commit()
        again = load_demo(session, "demo-pass-1", source)
    assert again.units_created == 0 and again.users_created == 0
    assert count(session, Unit) == 4 and count(session, User) == 7
    session.expire_all()
    assert unit_service.get_unit(session, "T1").name == "改过的名字"
    assert accounts.passwords.verify_password(
        accounts.get_user(session, "admin").password_hash, "changed-by-admin")


def test_overview_names_examples_and_how_to_list_all(app, session, tmp_path, monkeypatch):
    source = tmp_path / "tree.yaml"
    source.write_text(SMALL_TREE, encoding="utf-8")
    with app.test_request_context(headers={"Accept-Language": "en"}):
        text = load_demo(session, "demo-pass-1", source).accounts_overview()
    assert "demo-pass-1" in text and "admin" in text and "t1-hz (T1)" in text
    assert "tianbao users list" in text


def test_demo_password_comes_from_the_environment(monkeypatch):
    monkeypatch.delenv("TIANBAO_DEMO_PASSWORD", raising=False)
    assert demo_password() == "tianbao2024"
    monkeypatch.setenv("TIANBAO_DEMO_PASSWORD", "another-one")
    assert demo_password() == "another-one"


def test_the_shipped_demo_tree_loads(app, session):
    tree = read_tree(DEMO_FILE)
    codes = [unit.code for unit in tree]
    assert len(codes) == len(set(codes)) and len(codes) >= 50
    with app.app_context():
        summary = load_demo(session, "demo-pass-1")
    assert summary.units_created == len(codes)
    assert accounts.get_user(session, "admin").role == Role.ADMIN
    roots = session.scalars(select(Unit).where(Unit.parent_id.is_(None))).all()
    assert len(roots) >= 5  # the five jurisdictions of the plans
