"""The ``tianbao`` command line, run against the test database."""

import pytest
from flask_babel import force_locale

from server import migrate
from server.cli import cli, common
from server.db import db_session, unit_of_work
from server.models import Role, Unit
from server.services import accounts
from server.services import units as unit_service
from server.services.errors import NotVisible


@pytest.fixture
def run(app, monkeypatch):
    monkeypatch.setenv("TIANBAO_LOCALE", "en")
    runner = app.test_cli_runner()

    def invoke(*args, input=None):
        return runner.invoke(cli, list(args), input=input)

    return invoke


def test_help_lists_every_command_with_a_description(run):
    result = run("--help")
    assert result.exit_code == 0
    for command in ("init", "serve", "db", "units", "users"):
        assert command in result.output
    for group, commands in {"db": ("upgrade", "downgrade", "current"),
                            "units": ("import", "list"),
                            "users": ("create", "import", "list", "disable")}.items():
        output = run(group, "--help").output
        for command in commands:
            line = next(line for line in output.splitlines()
                        if line.strip().startswith(command + " "))
            assert len(line.split()) > 1, f"{group} {command} has no description"


def test_init_is_safe_to_run_twice(run):
    first = run("init")
    assert first.exit_code == 0, first.output
    assert "Built-in templates: 9 new or changed." in first.output
    second = run("init")
    assert second.exit_code == 0, second.output
    assert migrate.head_revision() in second.output
    assert "Built-in templates: 0 new or changed." in second.output


def test_db_current(run):
    result = run("db", "current")
    assert result.exit_code == 0
    assert result.output.strip().splitlines()[0] == migrate.head_revision()


def test_units_import_and_list(run, tmp_path, session):
    table = tmp_path / "units.csv"
    table.write_text("code,name,kind,parent_code\nT,Town,town,\nV1,Village 1,village,T\n"
                     "V2,Village 2,village,T\nX,Elsewhere,town,\n", encoding="utf-8")
    result = run("units", "import", str(table))
    assert result.exit_code == 0, result.output
    assert "4 units created" in result.output
    listed = run("units", "list", "--under", "T")
    assert listed.exit_code == 0
    assert listed.output.splitlines() == ["T\ttown\tTown", "  V1\tvillage\tVillage 1",
                                          "  V2\tvillage\tVillage 2"]
    assert "X\ttown\tElsewhere" in run("units", "list").output


def test_units_import_reads_tags_and_list_shows_them(run, tmp_path, session):
    table = tmp_path / "units.csv"
    table.write_text("单位代码,单位名称,类型,上级单位代码,标签\nT,Town,town,,\n"
                     "C1,Chem works,company,T,危化；有限空间\n", encoding="utf-8")
    assert run("units", "import", str(table)).exit_code == 0
    assert run("units", "list", "--under", "T").output.splitlines() == [
        "T\ttown\tTown", "  C1\tcompany\tChem works\t危化、有限空间"]
    table.write_text("单位代码,单位名称,类型,上级单位代码,标签\n"
                     "C1,Chem works,company,T,\"危化(x)\"\n", encoding="utf-8")
    refused = run("units", "import", str(table))
    assert refused.exit_code == 1 and "危化(x)" in refused.output


def test_bad_units_file_fails_with_row_errors(run, tmp_path, session):
    table = tmp_path / "units.csv"
    table.write_text("code,name,kind,parent_code\nV1,Village 1,village,NOPE\n", encoding="utf-8")
    result = run("units", "import", str(table))
    assert result.exit_code == 1
    assert "row 2" in result.output and "NOPE" in result.output
    assert "Nothing was imported" in result.output
    assert unit_service.get_unit(session, "V1") is None


def test_errors_are_translated_for_chinese_terminals(app, monkeypatch):
    monkeypatch.delenv("TIANBAO_LOCALE", raising=False)
    monkeypatch.setenv("LANG", "zh_CN.UTF-8")
    result = app.test_cli_runner().invoke(cli, ["units", "list", "--under", "NOPE"])
    assert result.exit_code == 1
    assert result.output.strip() == "不存在代码为“NOPE”的单位。"


def test_users_create_list_disable(run, session, make_unit, browser):
    make_unit("T", kind="town")
    created = run("users", "create", "t-hz", "--role", "consolidator", "--unit", "T",
                  "--password", "long-enough-1")
    assert created.exit_code == 0, created.output
    admin = run("users", "create", "root", "--role", "admin", input="long-enough-2\n"
                "long-enough-2\n")
    assert admin.exit_code == 0, admin.output
    listed = run("users", "list")
    assert listed.output.splitlines() == ["root\tadmin\t-", "t-hz\tconsolidator\tT"]
    assert run("users", "disable", "t-hz").exit_code == 0
    assert browser.login("t-hz", "long-enough-1").status_code == 200  # refused
    assert "disabled" in run("users", "list").output


def test_users_create_refuses_bad_input(run, make_unit):
    make_unit("T", kind="town")
    unknown = run("users", "create", "v", "--role", "submitter", "--unit", "NOPE",
                  "--password", "long-enough-1")
    assert unknown.exit_code == 1 and "There is no unit with code “NOPE”." in unknown.output
    short = run("users", "create", "vv", "--role", "submitter", "--unit", "T",
                "--password", "short")
    assert short.exit_code == 1 and "at least 8 characters" in short.output
    no_unit = run("users", "create", "vv", "--role", "submitter", "--password", "long-enough-1")
    assert no_unit.exit_code == 1 and "must belong to a unit" in no_unit.output
    assert run("users", "disable", "nobody").exit_code == 1


def test_users_import(run, tmp_path, session, make_unit):
    make_unit("T", kind="town")
    table = tmp_path / "users.csv"
    table.write_text("username,role,unit_code,password\nt1,submitter,T,long-enough-1\n",
                     encoding="utf-8")
    result = run("users", "import", str(table))
    assert result.exit_code == 0, result.output
    assert accounts.get_user(session, "t1").role == Role.SUBMITTER


def test_commands_refuse_an_unmigrated_database(tmp_path, monkeypatch):
    from server.app import create_app
    from server.db import database

    monkeypatch.setenv("TIANBAO_LOCALE", "en")
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path / 'empty.db'}", "SECRET_KEY": "x",
                      "INSTANCE_PATH": str(tmp_path)})
    result = app.test_cli_runner().invoke(cli, ["users", "list"])
    assert result.exit_code == 1 and "tianbao init" in result.output
    database(app).engine.dispose()


def test_a_refusal_prints_its_translated_message_and_undoes_the_command(app, session,
                                                                        monkeypatch):
    """Every command runs through one handler: a refusal is a message on stderr, status 1,
    and whatever the command had begun to write is rolled back."""
    monkeypatch.setenv("TIANBAO_LOCALE", "zh_CN")

    @common.group("probe")
    def probe() -> None:
        """A group made like the real ones."""

    @probe.command("half")
    def half() -> None:
        with unit_of_work(db_session()) as work:
            work.add(Unit(code="HALF", name="Half", kind="town", path="/0/", depth=0))
            work.flush()
            raise NotVisible()

    result = app.test_cli_runner().invoke(probe, ["half"])
    with app.app_context(), force_locale("zh_CN"):
        expected = str(NotVisible())
    assert expected == "该资源不存在，或不在您账号的权限范围内。"
    assert (result.exit_code, result.stdout, result.stderr) == (1, "", expected + "\n")
    assert unit_service.get_unit(session, "HALF") is None
