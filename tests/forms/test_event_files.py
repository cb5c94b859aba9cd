"""Event attachments are recognised by their content, and must be whole."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from event_samples import jpeg, pdf, png

from forms import event_files
from forms.definition import EventRules
from forms.events import attachment_limits, check_attachment_count, read_event
from forms.periods import Frequency, Period, Schedule, days_until, is_late


@pytest.mark.parametrize(("data", "name", "kind"), [
    (png(), "现场.png", event_files.PNG), (jpeg(), "photo.JPG", event_files.JPEG),
    (jpeg(), "photo.jpeg", event_files.JPEG), (pdf(), "通报.pdf", event_files.PDF),
])
def test_whole_files_of_the_three_formats_are_accepted(data, name, kind):
    assert event_files.check(data, name) == event_files.Checked(content_type=kind)


@pytest.mark.parametrize(("data", "name", "problem"), [
    (png(), "现场.pdf", "extension"),  # a PNG renamed .pdf
    (pdf(), "scan.png", "extension"),
    (b"GIF89a\x01\x00\x01\x00", "x.gif", "type"),
    (b"MZ\x90\x00 an executable", "photo.jpg", "type"),
    (b"<html>not a pdf</html>", "a.pdf", "type"),
    (png()[:40], "cut.png", "damaged"),  # cut short: no IEND
    (png(0, 2), "empty.png", "damaged"),  # zero width
    (png(2, 100_000), "huge.png", "damaged"),  # forged dimensions
    (png()[:29] + b"\x00\x00\x00\x00" + png()[33:], "crc.png", "damaged"),
    (jpeg()[:-2], "cut.jpg", "damaged"),
    (jpeg(0, 16), "zero.jpg", "damaged"),
    (b"%PDF-1.4\n1 0 obj\n", "cut.pdf", "damaged"),
    (b"%PDF-x.y\n%%EOF", "bad.pdf", "damaged"),
])
def test_other_formats_damaged_files_and_wrong_names_are_refused(data, name, problem):
    assert event_files.check(data, name).problem == problem


NOW = datetime(2024, 7, 10, 4, 0, tzinfo=UTC)  # noon in Beijing


def test_the_event_time_is_beijing_time_and_not_in_the_future():
    info, issues = read_event({"at": "2024-07-10T11:30"}, NOW)
    assert issues == [] and info.at == datetime(2024, 7, 10, 3, 30, tzinfo=UTC)
    _, issues = read_event({"at": "2024-07-10T12:30"}, NOW)  # half an hour ahead of now
    assert [i.code for i in issues] == ["event_time_future"]
    _, issues = read_event({"at": ""}, NOW)
    assert [i.code for i in issues] == ["event_time_required"]
    _, issues = read_event({"at": "yesterday"}, NOW)
    assert [i.code for i in issues] == ["event_time_bad"]


def test_coordinates_come_in_pairs_within_range():
    info, issues = read_event({"at": "2024-07-01 08:00", "location": " 勐董镇  茶厂 ",
                               "latitude": "23.15", "longitude": "99.25"}, NOW)
    assert issues == [] and info.location == "勐董镇 茶厂" and info.latitude == Decimal("23.15")
    for lat, lon in (("23.1", ""), ("91", "99"), ("23", "181"), ("north", "99")):
        _, issues = read_event({"at": "2024-07-01 08:00", "latitude": lat, "longitude": lon},
                               NOW)
        assert [i.code for i in issues] == ["coordinates_bad"], (lat, lon)


def test_count_and_total_size_limits():
    rules = EventRules(max_files=2, max_file_mb=Decimal(1), max_total_mb=Decimal("1.5"))
    assert attachment_limits(rules, None) == (1024 * 1024, 1536 * 1024)
    assert attachment_limits(rules, 1000) == (1000, 1000)  # never above the request limit
    assert check_attachment_count(rules, [10, 10], None) == []
    assert [i.code for i in check_attachment_count(rules, [1, 1, 1], None)] == \
        ["too_many_attachments"]
    assert [i.code for i in check_attachment_count(rules, [1024 * 1024] * 2, None)] == \
        ["attachments_too_large"]


def test_an_event_schedule_owes_nothing_and_is_never_late():
    schedule = Schedule(frequency="event")
    assert schedule.periods() == [] and schedule.first == "event"
    event = Period.parse("event-12")
    assert event == Period.event(12) and event.key == "event-12" and event.is_event
    assert event.label("zh_CN") == "第12号事件" and event.label("en") == "Event 12"
    assert schedule.contains(event) and not schedule.contains(Period.parse("2024Q1"))
    due = schedule.due_date(event)
    assert not is_late(due, datetime(2100, 1, 1, tzinfo=UTC)) and days_until(due, NOW) > 0
    assert Period(Frequency.EVENT, 0, 3).next() is None
    for key in ("event-0", "event-01", "event-x"):
        with pytest.raises(ValueError):
            Period.parse(key)
