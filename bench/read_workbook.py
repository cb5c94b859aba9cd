"""How much reading and checking an upload costs over merely parsing the same file.

Builds the filled workbook of the 21-item progress template (chidian-progress;
the largest catalogue template if that one is missing) and times, in one run
and interleaved so all see the same machine state:

* the floor: python-calamine opening the file and reading every cell of every
  sheet, in this process;
* the sandboxed floor: the same, in a child of ``exports.sandbox`` (every
  upload is parsed in such a child, see the README's security section), so
  the distance left is what Tianbao's reading itself costs;
* ours: what an import does, ``exports.workbook_reader.read_workbook`` (the
  size and zip checks, the sheet extent checks and the parse in the sandbox
  child, the identity and signature, locating the inputs by their markers,
  coercing every value), then ``forms.validation.validate`` of the values read
  (rules, as for a draft);
* ours in-process: the same with the sandbox replaced by a direct call, to
  show the reader's own work without the child.

Usage: ``python bench/read_workbook.py [repetitions]`` (default 300).
"""

from __future__ import annotations

import io
import statistics
import sys
import time
from datetime import date
from decimal import Decimal

from python_calamine import CalamineWorkbook

from exports import sandbox
from exports.template_workbook import build_template
from exports.workbook_reader import read_workbook
from forms.definition import Definition, FieldKind
from forms.loader import load_catalog
from forms.validation import validate

SECRET = b"bench-secret"


def pick_definition() -> Definition:
    catalog = load_catalog()
    for definition in catalog:
        if definition.key == "chidian-progress":
            return definition
    return max(catalog, key=lambda d: len(list(d.fields())))


def filled_values(definition: Definition) -> dict:
    """A plausible value in every input, as a unit would report."""
    values: dict = {}
    for n, field in enumerate(definition.fields(), start=1):
        if field.kind in (FieldKind.INTEGER,):
            values[field.key] = n * 3
        elif field.kind in (FieldKind.DECIMAL, FieldKind.PERCENT):
            values[field.key] = Decimal(n) + Decimal("0.5")
        elif field.kind is FieldKind.DATE:
            values[field.key] = date(2024, 6, 30)
        elif field.kind is FieldKind.YESNO:
            values[field.key] = True
        elif field.kind is FieldKind.CHOICE:
            values[field.key] = field.choices[0].value
        elif field.kind is FieldKind.MULTICHOICE:
            values[field.key] = [field.choices[0].value]
        elif field.key == "phone":
            values[field.key] = "13800000000"
        elif field.kind in (FieldKind.TEXT, FieldKind.LONGTEXT):
            values[field.key] = f"已按方案推进第{n}项工作，完成阶段任务。"
    return values


def floor(data: bytes) -> None:
    book = CalamineWorkbook.from_filelike(io.BytesIO(data))
    for name in book.sheet_names:
        book.get_sheet_by_name(name).to_python()


def in_process(func, *args, **_budget):
    """A stand-in for ``sandbox.run`` that calls *func* here."""
    return func(*args)


def main(repetitions: int) -> None:
    definition = pick_definition()
    data = build_template(definition, unit_code="350582101", unit_name="池店镇",
                          period=definition.schedule.first_period.key, secret=SECRET,
                          values=filled_values(definition))

    def resolve(key: str, version: int) -> Definition | None:
        return definition if (key, version) == (definition.key, definition.version) else None

    def ours() -> None:
        result = read_workbook(data, "filled.xlsx", secret=SECRET, resolve=resolve)
        assert result.ok, result.issues
        # The made-up figures break some of the plan's rules: validation does all its work.
        validate(definition, result.values, check_required=False)

    def ours_in_process() -> None:
        run, sandbox.run = sandbox.run, in_process
        try:
            ours()
        finally:
            sandbox.run = run

    def sandboxed_floor() -> None:
        assert sandbox.run(floor, data) is None

    runs = {"floor": lambda: floor(data), "sandboxed floor": sandboxed_floor,
            "ours": ours, "ours in-process": ours_in_process}
    for run in runs.values():  # warm up every path once
        run()
    timings: dict[str, list[float]] = {name: [] for name in runs}
    cpu: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repetitions):
        for name, run in runs.items():
            start, start_cpu = time.perf_counter(), time.process_time()
            run()
            cpu[name].append(time.process_time() - start_cpu)
            timings[name].append(time.perf_counter() - start)

    fields = sum(1 for f in definition.fields() if f.kind is not FieldKind.ATTACHMENT)
    print(f"{definition.key} v{definition.version}: {fields} inputs, {len(data) / 1024:.0f} KiB,"
          f" {repetitions} repetitions")
    for name, values in timings.items():
        line = (f"  {name:16} median {statistics.median(values) * 1000:7.2f} ms"
                f"   min {min(values) * 1000:7.2f} ms")
        if name in IN_PROCESS:
            line += f"   CPU median {statistics.median(cpu[name]) * 1000:7.2f} ms"
        print(line)
    # The best times are the least disturbed by other load on the machine; the CPU
    # time of this process (in-process sides only: a child's time is not counted
    # here) is what the work costs whatever else runs.
    for ours_name, floor_name in (("ours", "sandboxed floor"), ("ours in-process", "floor"),
                                  ("ours", "floor")):
        mine, base = timings[ours_name], timings[floor_name]
        line = (f"  ratio {ours_name} / {floor_name}: {min(mine) / min(base):.2f} (best),"
                f" {statistics.median(mine) / statistics.median(base):.2f} (median)")
        if ours_name in IN_PROCESS and floor_name in IN_PROCESS:
            ratio = statistics.median(cpu[ours_name]) / statistics.median(cpu[floor_name])
            line += f", {ratio:.2f} (CPU median)"
        print(line)


IN_PROCESS = ("floor", "ours in-process")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 300)
