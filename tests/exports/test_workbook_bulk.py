"""A consolidator uploads many workbooks at once: files, or a .zip of them."""

from __future__ import annotations

import io
import random
import zipfile

from excel_helpers import read, template

from exports.bulk import expand_uploads
from exports.limits import Limits


def bundle(entries: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return out.getvalue()


def gbk_named_bundle(content: bytes) -> bytes:
    """A zip as Windows tools in China write it: a GBK member name, no UTF-8 flag."""
    gbk = "池店镇.xlsx".encode("gbk")
    placeholder = b"X" * (len(gbk) - 5) + b".xlsx"
    return bundle({placeholder.decode("ascii"): content}).replace(placeholder, gbk)


def test_plain_files_pass_through_one_by_one(every_kind):
    first, second = template(every_kind), template(every_kind, unit_code="350582102")

    uploads = expand_uploads([("a.xlsx", first), ("b.xlsx", second)])

    assert [(u.filename, u.data, u.problem) for u in uploads] == [
        ("a.xlsx", first, None), ("b.xlsx", second, None)]


def test_a_zip_of_workbooks_is_unpacked_and_each_is_read_on_its_own(every_kind):
    good = template(every_kind)
    data = bundle({
        "镇/一村.xlsx": good,
        "镇/二村.xlsx": b"this one is broken",
        "__MACOSX/镇/._一村.xlsx": b"resource fork",
        "镇/~$一村.xlsx": b"office lock file",
    })

    uploads = expand_uploads([("全镇.zip", data)])

    assert [u.filename for u in uploads] == ["一村.xlsx", "二村.xlsx"]
    results = [read(u.data, every_kind, filename=u.filename) for u in uploads]
    assert results[0].ok
    assert results[1].issues[0].code == "not_a_spreadsheet"


def test_gbk_member_names_are_decoded(every_kind):
    (upload,) = expand_uploads([("bundle.zip", gbk_named_bundle(template(every_kind)))])

    assert upload.filename == "池店镇.xlsx"
    assert upload.problem is None


def test_a_workbook_is_not_mistaken_for_a_bundle(every_kind):
    data = template(every_kind)

    (upload,) = expand_uploads([("a.xlsx", data)])

    assert upload.data == data


def test_an_empty_bundle_and_too_many_files(every_kind):
    (empty,) = expand_uploads([("empty.zip", bundle({"docs/": b""}))])
    (crowded,) = expand_uploads([("many.zip", bundle({f"{n}.xlsx": b"x" for n in range(4)}))],
                                max_files=3)

    assert empty.problem.code == "empty_bundle"
    assert crowded.problem.code == "too_many_files"
    assert "3" in crowded.problem.render()


def test_an_oversized_member_is_refused_alone(every_kind):
    good = template(every_kind)
    incompressible = random.Random(0).randbytes(2_000_000)
    data = bundle({"good.xlsx": good, "huge.xlsx": incompressible})

    uploads = expand_uploads([("b.zip", data)], limits=Limits(max_bytes=1_000_000))

    assert uploads[0].problem is None and uploads[0].data == good
    assert uploads[1].filename == "huge.xlsx"
    assert uploads[1].problem.code == "file_too_large"


def test_a_bundle_that_is_a_zip_bomb_is_refused(every_kind):
    data = bundle({"a.xlsx": b"\0" * 30_000_000})

    (upload,) = expand_uploads([("bomb.zip", data)], limits=Limits(max_bytes=1_000_000),
                               max_files=5)

    assert upload.problem.code == "unpacked_too_large"
