"""Imports of uploaded plans: hostile files are refused with a reason, good ones read as usual."""

from __future__ import annotations

import io
import time

import docx
import pytest
from hostile_files import CORPUS, zip_bomb, zip_of

from exports import source_import
from forms.importers import MESSAGES, ImportRefused, import_document

PLAN = ("关于开展安全生产治本攻坚三年行动的通知\n"
        "一、重点任务\n（一）排查整治\n1. 开展隐患排查。\n2. 组织培训。\n"
        "每季度结束后5日内报送上一季度工作进展。\n")


def plan_docx() -> bytes:
    document = docx.Document()
    for line in PLAN.splitlines():
        document.add_paragraph(line)
    out = io.BytesIO()
    document.save(out)
    return out.getvalue()


def test_a_plan_reads_in_the_sandbox_as_it_reads_in_process():
    data = plan_docx()
    assert source_import.import_untrusted(data, "plan.docx") == import_document(data, "plan.docx")


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_every_hostile_workbook_is_refused_as_an_import(name):
    filename, data = CORPUS[name]()
    began = time.monotonic()
    with pytest.raises(ImportRefused) as refused:
        source_import.import_untrusted(data, filename, "excel")
    assert refused.value.code in MESSAGES
    assert time.monotonic() - began < 10


@pytest.mark.parametrize("kind", ["docx", "xlsform"])
def test_a_zip_bomb_named_as_a_document_or_an_xlsform_is_never_unpacked(kind):
    _, data = zip_bomb()
    with pytest.raises(ImportRefused) as refused:
        source_import.import_untrusted(data, f"plan.{'docx' if kind == 'docx' else 'xlsx'}", kind)
    assert refused.value.code == "damaged"


def test_a_damaged_document_is_refused_with_a_reason():
    """A .docx whose parts are not XML at all is refused, and the caller carries on."""
    data = zip_of([("[Content_Types].xml", b"<"), ("word/document.xml", b"\x00" * 100)])
    with pytest.raises(ImportRefused) as refused:
        source_import.import_untrusted(data, "plan.docx")
    assert refused.value.code in {"damaged", "unreadable"}


def test_an_empty_upload_says_it_is_empty():
    with pytest.raises(ImportRefused) as refused:
        source_import.import_untrusted(b"", "table.xlsx")
    assert refused.value.code == "empty"
