"""Bulk imports of units and accounts: all or nothing, with row-level errors in the
user's language."""

import io

from sqlalchemy import func, select

from server.db import unit_of_work
from server.models import Role, Unit, User
from server.models.units import child_path
from server.services import accounts
from server.services import units as unit_service

UNITS_CSV = """code,name,kind,parent_code,contact_name,contact_phone
CD,池店镇,town,,王小明,0595-88880000
CD-01,池店村,village,CD,李四,13800000001
CD-02,溜石村,village,CD,,
CD-AB,镇安办,office,CD,,
"""


def upload(browser, path, content: str, filename: str, language: str = "zh-CN"):
    return browser.post(
        path, {"file": (io.BytesIO(content.encode("utf-8")), filename)},
        content_type="multipart/form-data", headers={"Accept-Language": language},
    )


def unit_count(session) -> int:
    return session.scalar(select(func.count()).select_from(Unit))


def as_admin(browser, make_user):
    make_user("boss", Role.ADMIN)
    browser.login_ok("boss")
    return browser


def test_admin_imports_units(browser, session, make_user):
    as_admin(browser, make_user)
    response = upload(browser, "/admin/units-import", UNITS_CSV, "units.csv")
    assert response.status_code == 302
    town = unit_service.get_unit(session, "CD")
    village = unit_service.get_unit(session, "CD-01")
    assert village.parent_id == town.id and village.depth == 1
    assert village.path == child_path(child_path(None, town.id), village.id)
    assert village.contact_phone == "13800000001"
    assert [u.code for u in unit_service.subtree(session, town)] == [
        "CD", "CD-01", "CD-02", "CD-AB"]
    page = browser.get("/admin/units/CD").get_data(as_text=True)
    assert "溜石村" in page and "镇安办" in page


def test_units_import_from_an_excel_workbook(session, app):
    import xlsxwriter

    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = workbook.add_worksheet("单位")
    for number, row in enumerate([("单位代码", "单位名称", "类型", "上级单位代码"),
                                  ("JC", "积翠镇", "镇", ""), ("JC-01", "积翠村", "村", "JC")]):
        sheet.write_row(number, 0, row)
    workbook.close()
    with app.app_context(), unit_of_work(session):
        report = unit_service.import_units(session, buffer.getvalue(), "单位.xlsx")
    assert report.ok and report.created == ["JC", "JC-01"]
    village = unit_service.get_unit(session, "JC-01")
    assert village.kind == "village" and village.parent.code == "JC"


def test_reimport_updates_and_moves_units(session, app):
    with app.app_context(), unit_of_work(session):
        unit_service.import_units(session, UNITS_CSV.encode(), "units.csv")
        moved = """code,name,kind,parent_code
CD-X,池店新区,zone,CD
CD-01,池店村（改）,village,CD-X
"""
        report = unit_service.import_units(session, moved.encode(), "units.csv")
    assert report.ok
    assert report.created == ["CD-X"] and report.moved == ["CD-01"]
    session.expire_all()
    village = unit_service.get_unit(session, "CD-01")
    zone = unit_service.get_unit(session, "CD-X")
    assert village.name == "池店村（改）" and village.parent_id == zone.id
    assert village.path == child_path(zone.path, village.id) and village.depth == 2
    # Columns the file does not have are left alone.
    assert village.contact_name == "李四"


def test_bad_unit_file_reports_rows_and_changes_nothing(browser, session, make_user, make_unit):
    as_admin(browser, make_user)
    make_unit("OLD", kind="town", name="原有单位")
    bad = """code,name,kind,parent_code
A1,甲,village,NOPE
A2,乙,village,
A2,丙,village,
OLD,改名,town,A2
"""
    response = upload(browser, "/admin/units-import", bad, "units.csv")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "上级单位“NOPE”既不在文件中，也不在现有单位中。" in page
    assert "单位代码“A2”重复出现：第 3 行和第 4 行。" in page
    assert "文件中有 2 个问题，未导入任何数据。" in page
    english = upload(browser, "/admin/units-import", bad, "units.csv", "en").get_data(
        as_text=True)
    assert "The parent unit “NOPE” is neither in the file nor among the existing units." \
        in english
    assert unit_count(session) == 1
    assert unit_service.get_unit(session, "OLD").name == "原有单位"


def test_cycle_and_missing_column_are_reported(session, app, make_unit):
    top = make_unit("T", kind="town")
    make_unit("V", top)
    with app.app_context(), unit_of_work(session):
        cycle = unit_service.import_units(session, b"code,name,kind,parent_code\nT,T,town,V\n",
                                          "units.csv")
        missing = unit_service.import_units(session, b"code,name\nX,X\n", "units.csv")
    assert not cycle.ok and cycle.problems[0].code == "cycle" and cycle.problems[0].row == 2
    assert not missing.ok and missing.problems[0].column == "kind"
    assert unit_count(session) == 2
    session.expire_all()
    assert unit_service.get_unit(session, "T").parent_id is None


def test_admin_imports_users(browser, session, make_user, make_unit):
    as_admin(browser, make_user)
    town = make_unit("CD", kind="town")
    make_unit("CD-01", town)
    make_user("cd-01", Role.SUBMITTER, town)  # exists: moved to its village, same password
    csv = """username,role,unit_code,password
cd-hz,consolidator,CD,welcome-2024
CD-01,submitter,CD-01,
"""
    response = upload(browser, "/admin/users/import", csv, "users.csv")
    assert response.status_code == 302, response.get_data(as_text=True)
    consolidator = accounts.get_user(session, "cd-hz")
    assert consolidator.role == Role.CONSOLIDATOR and consolidator.unit.code == "CD"
    session.expire_all()
    assert accounts.get_user(session, "cd-01").unit.code == "CD-01"
    browser.post("/auth/logout", token_from="/")
    assert browser.login("cd-hz", "welcome-2024").status_code == 302


def test_bad_user_file_reports_rows_and_changes_nothing(browser, session, make_user, make_unit):
    as_admin(browser, make_user)
    make_unit("CD", kind="town")
    csv = """username,role,unit_code,password
new1,submitter,CD,
new2,submitter,NOPE,long-enough-1
new3,submitter,CD,long-enough-1
"""
    response = upload(browser, "/admin/users/import", csv, "users.csv")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "单位代码“NOPE”不存在。" in page
    english = upload(browser, "/admin/users/import", csv, "users.csv", "en").get_data(
        as_text=True)
    assert "The unit code “NOPE” does not exist." in english
    assert session.scalar(select(func.count()).select_from(User)) == 1  # only the admin
    # Once the reader is satisfied, the database checks follow: a new account needs a password.
    csv_ok_units = csv.replace("NOPE", "CD")
    english = upload(browser, "/admin/users/import", csv_ok_units, "users.csv", "en")
    assert english.status_code == 400
    assert "A new account needs a password (“new1”)." in english.get_data(as_text=True)
    assert session.scalar(select(func.count()).select_from(User)) == 1


def test_wrong_file_type_is_refused_by_the_form(browser, make_user):
    as_admin(browser, make_user)
    response = upload(browser, "/admin/units-import", "hello", "notes.txt", "en")
    assert response.status_code == 400
    assert "Only .xlsx and .csv files can be imported." in response.get_data(as_text=True)
