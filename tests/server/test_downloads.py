"""File names of downloads: the UTF-8 name for browsers, a readable ASCII one for the rest."""

from urllib.parse import quote

from server.downloads import content_disposition


def test_a_chinese_name_keeps_a_readable_ascii_fallback():
    name = "合并-chidian-progress-CHIDIAN-2026Q2.xlsx"
    header = content_disposition(name)
    assert header == ('attachment; filename="chidian-progress-CHIDIAN-2026Q2.xlsx"; '
                      f"filename*=UTF-8''{quote(name)}")


def test_a_name_with_nothing_ascii_falls_back_to_download():
    assert content_disposition("汇总表.csv").startswith('attachment; filename="download.csv"; ')


def test_an_ascii_name_is_sent_as_it_is():
    assert content_disposition("merged-chidian-progress-CHIDIAN-2026Q2.xlsx") == (
        'attachment; filename="merged-chidian-progress-CHIDIAN-2026Q2.xlsx"')
