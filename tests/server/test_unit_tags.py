"""Unit tags: imported, edited by administrators, shown where units are listed."""

import io

from server.models import Role, Unit
from server.services import units as unit_service


def csv_file(text: str) -> tuple[io.BytesIO, str]:
    return io.BytesIO(text.encode("utf-8-sig")), "units.csv"


def test_import_reads_a_tag_column_with_every_separator(session, tree):
    data = ("单位代码,单位名称,类型,上级单位代码,标签\n"
            "CO1,甲化工,company,VA1,危化、有限空间；规模以上\n"
            "CO2,乙机械,company,VA1,\"粉尘涉爆, 有限空间\"\n"
            "VA2,VA2 村,village,TA,\n").encode("utf-8-sig")
    report = unit_service.import_units(session, data, "units.csv")
    assert report.ok, report.problems
    session.commit()
    assert unit_service.get_unit(session, "CO1").tag_list == ["危化", "有限空间", "规模以上"]
    assert unit_service.get_unit(session, "CO2").tag_list == ["粉尘涉爆", "有限空间"]
    assert unit_service.get_unit(session, "VA2").tag_list == []
    tagged = session.scalars(unit_service.units_with_tag("有限空间").order_by(Unit.code)).all()
    assert [u.code for u in tagged] == ["CO1", "CO2"]


def test_a_file_without_the_column_keeps_the_tags(session, tree):
    unit_service.set_tags(session, tree["VA1"], "危化")
    session.commit()
    data = "单位代码,单位名称,类型,上级单位代码\nVA1,新名字,village,TA\n".encode()
    assert unit_service.import_units(session, data, "units.csv").ok
    session.commit()
    assert unit_service.get_unit(session, "VA1").tag_list == ["危化"]
    data = "单位代码,单位名称,类型,上级单位代码,标签\nVA1,新名字,village,TA,\n".encode()
    assert unit_service.import_units(session, data, "units.csv").ok
    session.commit()
    assert unit_service.get_unit(session, "VA1").tag_list == []


def test_a_bad_tag_is_reported_at_its_cell_and_nothing_changes(session, tree):
    data = ("单位代码,单位名称,类型,上级单位代码,标签\n"
            "CO1,甲化工,company,VA1,危化\n"
            "CO2,乙化工,company,VA1,\"危化'\"\n").encode()
    report = unit_service.import_units(session, data, "units.csv")
    assert not report.ok
    assert [(p.row, p.column, p.code) for p in report.problems] == [(3, "tags", "tag_characters")]
    assert unit_service.get_unit(session, "CO1") is None


def test_admin_edits_tags_and_lists_show_them(browser, session, make_user, tree):
    make_user("boss", Role.ADMIN)
    browser.login_ok("boss")
    response = browser.post("/admin/units/VA1/tags", {"tags": "危化， 有限空间 危化"},
                            token_from="/admin/units/VA1")
    assert response.status_code == 302
    session.expire_all()
    assert tree["VA1"].tag_list == ["危化", "有限空间"]
    page = browser.get("/admin/units/TA").get_data(as_text=True)
    assert "危化" in page and "有限空间" in page  # in the list of units below
    found = browser.get("/admin/units?tag=危化").get_data(as_text=True)
    assert "/admin/units/VA1" in found and "/admin/units/VA2" not in found
    none = browser.get("/admin/units?tag=民爆", headers={"Accept-Language": "en"})
    assert "No visible unit carries the tag 民爆." in none.get_data(as_text=True)


def test_a_bad_tag_is_refused_beside_the_input(browser, session, make_user, tree):
    make_user("boss", Role.ADMIN)
    browser.login_ok("boss")
    response = browser.post("/admin/units/VA1/tags", {"tags": "危化、" + "长" * 21},
                            token_from="/admin/units/VA1", headers={"Accept-Language": "en"})
    assert response.status_code == 400
    assert "is longer than 20 characters" in response.get_data(as_text=True)
    zh = browser.post("/admin/units/VA1/tags", {"tags": "（危化）"}, token_from="/admin/units/VA1")
    assert "不能包含引号或括号" in zh.get_data(as_text=True)
    session.expire_all()
    assert tree["VA1"].tag_list == []


def test_consolidators_see_tags_but_cannot_change_them(browser, session, make_user, tree):
    unit_service.set_tags(session, tree["VA1"], "危化")
    make_user("con", Role.CONSOLIDATOR, tree["TA"])
    session.commit()
    browser.login_ok("con")
    page = browser.get("/admin/units/VA1").get_data(as_text=True)
    assert "危化" in page and "/admin/units/VA1/tags" not in page
    assert browser.post("/admin/units/VA1/tags", {"tags": ""},
                        token_from="/admin/units/VA1").status_code == 403


def test_tags_can_be_reordered_and_extended(session, tree):
    unit_service.set_tags(session, tree["VA1"], "危化、有限空间")
    session.commit()
    unit_service.set_tags(session, tree["VA1"], "有限空间 危化 规模以上")
    session.commit()
    session.expire_all()
    assert tree["VA1"].tag_list == ["有限空间", "危化", "规模以上"]
    assert tree["VA1"].tags == {"危化", "有限空间", "规模以上"}
