"""Fuzzing the sandboxed upload reader with mutations of a valid filled workbook.

Each case takes the filled workbook of ``bench/read_workbook.py`` and mutates
it: random bytes flipped, a range zeroed or duplicated, the file cut short,
or (for the zip) one part's bytes mutated and the zip rebuilt, so the
mutation reaches the XML the reader parses. Every case goes through
``read_workbook`` (pre-check and calamine in the sandbox child). Printed:
how many were accepted (read to a report), refused with a message,
crashed in the child (refused as ``reader_crashed``), stopped at a limit
(``reader_over_limit``: memory, CPU or wall time), and how many raised or took
longer than 5 s in the caller (both must stay 0), with the throughput and
the sandbox's per-upload overhead.

Usage: ``python bench/fuzz_upload.py [cases] [seed]`` (default 100000, 0).
"""

from __future__ import annotations

import io
import random
import sys
import time
import zipfile
from collections import Counter

from read_workbook import SECRET, filled_values, pick_definition

from exports import sandbox
from exports.template_workbook import build_template
from exports.workbook_reader import read_workbook


def echo(data: bytes) -> int:
    return len(data)


def mutate(data: bytes, rng: random.Random) -> bytes:
    kind = rng.randrange(5)
    if kind == 0:  # flip bytes anywhere
        out = bytearray(data)
        for _ in range(rng.randint(1, 20)):
            out[rng.randrange(len(out))] = rng.randrange(256)
        return bytes(out)
    if kind == 1:  # cut short
        return data[:rng.randrange(len(data))]
    if kind == 2:  # zero or duplicate a range
        start = rng.randrange(len(data))
        length = rng.randint(1, 2000)
        if rng.random() < 0.5:
            return data[:start] + b"\0" * length + data[start + length:]
        return data[:start] + data[start:start + length] * rng.randint(2, 50) + data[start:]
    # mutate the text of one part and rebuild the zip, so the XML itself is hostile
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        parts = [(info.filename, archive.read(info)) for info in archive.infolist()]
    index = rng.randrange(len(parts))
    name, content = parts[index]
    text = bytearray(content)
    for _ in range(rng.randint(1, 10)):
        position = rng.randrange(len(text) or 1)
        choice = rng.randrange(4)
        if choice == 0 and text:
            text[position] = rng.choice(b'0123456789<>"=/ABCXFD:')
        elif choice == 1:
            text[position:position] = rng.choice(
                [b'<c r="XFD1048576"><v>1</v></c>', b'<row r="1048576">', b"99999999",
                 b'<dimension ref="A1:XFD1048576"/>', b'count="4000000000"', b"</"])
        elif choice == 2:
            del text[position:position + rng.randint(1, 50)]
        else:
            text[position:position] = bytes(text[position:position + 200]) * 20
    parts[index] = (name, bytes(text))
    if kind == 4 and rng.random() < 0.3:
        parts[index] = (name.upper() if rng.random() < 0.5 else name.replace("/", "\\"),
                        bytes(text))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for part, content in parts:
            archive.writestr(part, content)
    return out.getvalue()


def main(cases: int, seed: int) -> None:
    definition = pick_definition()
    data = build_template(definition, unit_code="350582101", unit_name="池店镇",
                          period=definition.schedule.first_period.key, secret=SECRET,
                          values=filled_values(definition))

    def resolve(key: str, version: int):
        return definition if (key, version) == (definition.key, definition.version) else None

    started = time.perf_counter()
    for _ in range(50):
        sandbox.run(echo, data)
    overhead = (time.perf_counter() - started) / 50
    print(f"sandbox overhead per upload ({len(data)} bytes there and back): "
          f"{overhead * 1000:.1f} ms")

    rng = random.Random(seed)
    counts: Counter[str] = Counter()
    slowest = 0.0
    started = time.perf_counter()
    for case in range(1, cases + 1):
        sample = mutate(data, rng)
        began = time.perf_counter()
        try:
            result = read_workbook(sample, "fuzz.xlsx", secret=SECRET, resolve=resolve)
        except Exception:
            counts["raised"] += 1
            continue
        took = time.perf_counter() - began
        slowest = max(slowest, took)
        if took > 5:
            counts["hung"] += 1
        codes = {issue.code for issue in result.issues}
        if not result.refused:
            counts["accepted"] += 1
        elif "reader_crashed" in codes:
            counts["crashed_in_child"] += 1
        elif "reader_over_limit" in codes:
            counts["over_limit_in_child"] += 1
        else:
            counts["refused"] += 1
        if case % 1000 == 0 or case == cases:
            elapsed = time.perf_counter() - started
            print(f"{case} cases in {elapsed:.0f} s ({case / elapsed:.1f}/s): "
                  + ", ".join(f"{k} {v}" for k, v in sorted(counts.items()))
                  + f"; slowest {slowest:.2f} s", flush=True)
    for key in ("accepted", "refused", "crashed_in_child", "over_limit_in_child", "raised",
                "hung"):
        print(f"  {key}: {counts[key]}")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000,
         int(sys.argv[2]) if len(sys.argv) > 2 else 0)
