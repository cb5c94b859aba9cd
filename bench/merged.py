"""The merged workbook of a consolidator with 1,000 and 10,000 units below it.

Synthetic reports of the 21-item progress template (chidian-progress): a town
with 10 direct children (villages; ``--villages`` for more) and the rest of the
units as companies under them, every company reporting all 52 numeric
indicators and the 21 推进情况 texts, with a previous period for the 本期新增
increments. The villages' reports are their consolidations, computed before
timing as the server stores them. Company values are generated as the export
reads them, so no input is held in memory.

What is timed, per size, in rounds that alternate which side goes first (the
medians of ``--repeats`` rounds, 3 by default, wall-clock and CPU time of the
process):

* **ours**: ``exports.merged_workbook.write_merged_workbook`` from the reports
  in memory to a file: the official-layout summary and one sheet per village,
  the completeness, validation-issues, explanations and flat-data sheets. The
  typed reports and the town's consolidated figures are its input (not timed);
  turning them into cells — flat rows, labels, increments, 不适用 — is timed;
* **floor**: XlsxWriter alone, in constant-memory mode, writing the very cells
  of our flat-data and completeness sheets (the same values, with the same
  cell formats and header, autofilter and frozen pane), computed beforehand
  and held in memory (not timed): what any exporter of these cells pays. The
  layout sheets (summary and villages, about 0.1 % of the cells at 10 villages)
  and the short issues and explanations sheets are left out of the floor;
* **peer**: a pandas script doing the merge the usual way: ``read_excel`` on
  each company's own small workbook (written beforehand, not timed),
  ``concat``, ``groupby().sum()`` by village and for the town, ``to_excel``
  of the merged rows and the totals; one run. pandas is not a dependency of
  Tianbao: without it (or with ``--no-peer``) the peer is skipped;
* **peak memory** of ours under tracemalloc: Python's allocations above what
  was allocated before, in a separate pass because tracing slows Python down
  several times (it runs in a child process while the peer's input workbooks
  are written, neither being timed).

Usage: ``python bench/merged.py [--units 1000 10000] [--repeats 3] [--no-peer]``.
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from multiprocessing import Queue, get_context
from pathlib import Path

import xlsxwriter

from exports.flat_data import FLAT_HEADERS, UnitReport, data_fields, flat_rows
from exports.merged_workbook import COMPLETENESS_HEADERS, write_merged_workbook
from forms.consolidation import ChildReport, consolidate
from forms.definition import Definition
from forms.loader import load_catalog

PERIOD, PREVIOUS = "2024Q4", "2024Q3"
VILLAGES = 10
TEMPLATE = "chidian-progress"


def pick_definition() -> Definition:
    return next(d for d in load_catalog() if d.key == TEMPLATE)


@dataclass
class Synthetic:
    """A town, its villages and their companies, with reproducible values."""

    definition: Definition
    units: int
    villages: int = VILLAGES

    def __post_init__(self) -> None:
        fields = data_fields(self.definition)
        self.numeric = [f.key for f in fields if f.is_numeric]
        self.texts = [f.key for f in fields if f.key.endswith("_progress")]
        companies = self.units - self.villages
        self.companies = [range(v * companies // self.villages,
                                (v + 1) * companies // self.villages)
                          for v in range(self.villages)]
        self.village_values = [self._consolidate(v) for v in range(self.villages)]
        self.town = consolidate(self.definition, [
            ChildReport(self.village_code(v), self.village_name(v), values)
            for v, values in enumerate(self.village_values)
        ])

    @staticmethod
    def village_code(v: int) -> str:
        return f"350582100{v:03d}"

    @staticmethod
    def village_name(v: int) -> str:
        return f"第{v + 1}村"

    def company(self, i: int) -> tuple[dict, dict]:
        """A company's values and previous values, the same on every call."""
        rnd = random.Random(i)
        previous = {key: rnd.randint(0, 40) for key in self.numeric}
        values = {key: value + rnd.randint(0, 9) for key, value in previous.items()}
        done = rnd.randint(1, 9)
        values.update({key: f"第{i}号企业已按计划推进，完成{done}项" for key in self.texts})
        return values, previous

    def _consolidate(self, v: int) -> dict:
        children = [ChildReport(f"C{i:06d}", f"企业{i}", self.company(i)[0])
                    for i in self.companies[v]]
        return consolidate(self.definition, children).values

    def reports(self) -> Iterator[UnitReport]:
        """The subtree in tree order, as the server would stream it from the database."""
        moment = datetime(2025, 1, 3, 2, 0)
        for v in range(self.villages):
            code = self.village_code(v)
            yield UnitReport(code, self.village_name(v), "350582100", 1, PERIOD, TEMPLATE, 1,
                             "approved", moment, False, "村安办", "0595-85600000", 1,
                             self.village_values[v])
            for i in self.companies[v]:
                values, previous = self.company(i)
                yield UnitReport(f"C{i:06d}", f"企业{i}", code, 2, PERIOD, TEMPLATE, 1,
                                 "approved", moment, i % 7 == 0, f"联系人{i}", "13800000000",
                                 1, values, previous, PREVIOUS)


def ours(syn: Synthetic, path: Path) -> int:
    """The export as the server runs it; returns the number of flat rows.

    The town's consolidated report is input, like the villages' (the server
    stores it when the office rolls up); its narrative drafts list every
    company's text, so it grows with the units and is not counted here.
    """
    result = write_merged_workbook(
        path, syn.definition, unit_code="350582100", unit_name="池店镇", period=PERIOD,
        consolidated=syn.town.values, reports=syn.reports(), previous_period=PREVIOUS,
    )
    return result.data_rows


def floor_cells(syn: Synthetic) -> tuple[list[tuple], list[tuple]]:
    """The cells of our flat-data and completeness sheets, as our export writes them (not
    timed): the floor writes exactly these."""
    data = []
    for row in flat_rows(syn.definition, syn.reports(), locale="zh_CN"):
        cells = tuple(row)
        while cells and cells[-1] in (None, ""):
            cells = cells[:-1]
        data.append(cells)
    listing = [(r.unit_code, r.unit_name, r.parent_code, r.depth, "已审核", "是",
                r.submitted_at, "是" if r.late else "否", r.submitter, r.phone, r.revision,
                r.version, "") for r in syn.reports()]
    return data, listing


def floor(cells: tuple[list[tuple], list[tuple]], path: Path) -> None:
    """XlsxWriter alone writing the same cells, row by row, with the same formats."""
    data_rows, listing = cells
    book = xlsxwriter.Workbook(path, {"constant_memory": True, "strings_to_formulas": False,
                                      "strings_to_numbers": False, "strings_to_urls": False})
    header = book.add_format({"bold": True, "bg_color": "#D9E1F2", "border": 1,
                              "valign": "vcenter"})
    text = book.add_format({"text_wrap": False, "valign": "top"})
    wrapped = book.add_format({"text_wrap": True, "valign": "top"})
    moment = book.add_format({"num_format": "yyyy-mm-dd hh:mm", "valign": "top"})
    for name, headers, rows in (("data", FLAT_HEADERS, data_rows),
                                ("completeness", COMPLETENESS_HEADERS, listing)):
        ws = book.add_worksheet(name)
        for col, title in enumerate(headers):
            ws.write_string(0, col, title, header)
        ws.freeze_panes(1, 0)
        write_string, write_number = ws.write_string, ws.write_number
        for r, cells in enumerate(rows, start=1):
            for col, value in enumerate(cells):
                if value is None or value == "":
                    continue
                if isinstance(value, str):
                    write_string(r, col, value, wrapped if "\n" in value else text)
                elif isinstance(value, datetime):
                    ws.write_datetime(r, col, value, moment)
                else:
                    write_number(r, col, value)
        ws.autofilter(0, 0, max(len(rows), 1), len(headers) - 1)
    book.close()


def write_unit_workbooks(syn: Synthetic, folder: Path) -> list[Path]:
    """The peer's input: each company's report as its own small workbook (not timed)."""
    labels = {f.key: f.label for f in syn.definition.fields()}
    paths = []
    for v in range(syn.villages):
        for i in syn.companies[v]:
            values, _ = syn.company(i)
            path = folder / f"C{i:06d}.xlsx"
            book = xlsxwriter.Workbook(path)
            ws = book.add_worksheet()
            for col, header in enumerate(("unit_code", "unit_name", "parent_code", "period",
                                          "field_key", "field", "value", "text")):
                ws.write_string(0, col, header)
            for r, (key, value) in enumerate(values.items(), start=1):
                for col, text in enumerate((f"C{i:06d}", f"企业{i}", syn.village_code(v), PERIOD,
                                            key, labels[key])):
                    ws.write_string(r, col, text)
                if isinstance(value, str):
                    ws.write_string(r, 7, value)
                else:
                    ws.write_number(r, 6, value)
            book.close()
            paths.append(path)
    return paths


def peer(paths: list[Path], out: Path) -> None:
    """The pandas way: read every workbook, concat, group, write."""
    import pandas as pd

    engine = "calamine" if _has("python_calamine") else None
    frames = [pd.read_excel(p, engine=engine) for p in paths]
    merged = pd.concat(frames, ignore_index=True)
    by_village = merged.groupby(["parent_code", "field_key"], as_index=False)["value"].sum()
    town = merged.groupby("field_key", as_index=False)["value"].sum()
    with pd.ExcelWriter(out, engine="xlsxwriter") as writer:
        town.to_excel(writer, sheet_name="town", index=False)
        by_village.to_excel(writer, sheet_name="villages", index=False)
        merged.to_excel(writer, sheet_name="data", index=False)


def _has(module: str) -> bool:
    try:
        __import__(module)
    except ImportError:
        return False
    return True


def timed(fn: Callable[[], object]) -> tuple[float, object]:
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def timed_cpu(fn: Callable[[], object]) -> tuple[float, float, object]:
    """Wall-clock seconds, CPU seconds of this process, and *fn*'s result."""
    wall, cpu = time.perf_counter(), time.process_time()
    value = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, value


def interleaved(sides: dict[str, Callable[[], object]], repeats: int) -> dict[str, list]:
    """Each side *repeats* times, the order reversed every round; side -> [(wall, cpu)]."""
    out: dict[str, list] = {name: [] for name in sides}
    names = list(sides)
    for round_ in range(repeats):
        for name in (names if round_ % 2 == 0 else names[::-1]):
            wall, cpu, _ = timed_cpu(sides[name])
            out[name].append((wall, cpu))
            print(f"  round {round_ + 1}: {name} {wall:.2f} s wall, {cpu:.2f} s CPU", flush=True)
    return out


def median(pairs: list[tuple[float, float]], which: int) -> float:
    return statistics.median(p[which] for p in pairs)


def peak_bytes(fn: Callable[[], object]) -> int:
    """Peak memory allocated while *fn* runs, above what was allocated before."""
    tracemalloc.start()
    try:
        base, _ = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        fn()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak - base


def mib(n: int) -> str:
    return f"{n / 2**20:.1f} MiB"


def _memory_pass(syn: Synthetic, folder: Path, results: Queue) -> None:
    results.put(peak_bytes(lambda: ours(syn, folder / f"ours-mem-{syn.units}.xlsx")))


def run(size: int, folder: Path, with_peer: bool, repeats: int, villages: int,
        memory: bool = True) -> dict:
    definition = pick_definition()
    syn = Synthetic(definition, size, villages)
    out = folder / f"ours-{size}.xlsx"
    rows = ours(syn, out)  # a warm-up, not timed: imports, caches
    cells = floor_cells(syn)
    times = interleaved({"ours": lambda: ours(syn, out),
                         "floor": lambda: floor(cells, folder / f"floor-{size}.xlsx")}, repeats)
    cells = ([], [])  # the floor's cells freed before the memory pass
    figures = {"units": size, "villages": villages, "rows": rows, "times": times,
               "size": out.stat().st_size, "peer": None}
    # Tracing memory makes Python several times slower but does not change the peak,
    # so it runs in a child process while the peer's input workbooks are written:
    # neither is timed, and every timed step above and below runs alone.
    if not memory:
        figures["ours_peak"] = None
        return figures
    fork = get_context("fork")
    results = fork.Queue()
    child = fork.Process(target=_memory_pass, args=(syn, folder, results))
    child.start()
    paths: list[Path] = []
    if with_peer:
        inputs = folder / f"units-{size}"
        inputs.mkdir()
        paths = write_unit_workbooks(syn, inputs)
    figures["ours_peak"] = results.get()
    child.join()
    if with_peer:
        figures["peer"], _ = timed(lambda: peer(paths, folder / f"peer-{size}.xlsx"))
        shutil.rmtree(paths[0].parent)
    return figures


def report(f: dict) -> None:
    times = f["times"]
    ours_wall, floor_wall = median(times["ours"], 0), median(times["floor"], 0)
    ours_cpu, floor_cpu = median(times["ours"], 1), median(times["floor"], 1)
    rounds = [o[0] / fl[0] for o, fl in zip(times["ours"], times["floor"], strict=True)]
    print(f"\n{f['units']:,} units ({f['units'] - f['villages']:,} companies under "
          f"{f['villages']:,} villages): {f['rows']:,} flat rows, "
          f"{f['size'] / 2**20:.1f} MiB workbook; medians of {len(rounds)} interleaved rounds")
    peak = mib(f["ours_peak"]) if f["ours_peak"] is not None else "not measured"
    print(f"  ours  {ours_wall:8.2f} s wall {ours_cpu:8.2f} s CPU   peak {peak}")
    print(f"  floor {floor_wall:8.2f} s wall {floor_cpu:8.2f} s CPU")
    print(f"  ours / floor = {ours_wall / floor_wall:.2f} wall, {ours_cpu / floor_cpu:.2f} CPU "
          f"(rounds, wall: {', '.join(f'{r:.2f}' for r in rounds)})")
    if f["peer"] is None:
        print("  peer skipped (pandas not installed, or --no-peer)")
    else:
        print(f"  peer  {f['peer']:8.2f} s wall (one run)   ours / peer  = "
              f"{ours_wall / f['peer']:.2f}")


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--villages", type=int, default=VILLAGES)
    parser.add_argument("--no-peer", action="store_true")
    parser.add_argument("--no-memory", action="store_true",
                        help="skip the traced pass (and the peer, which runs beside it)")
    args = parser.parse_args(argv)
    with_peer = _has("pandas") and not args.no_peer
    print(f"template {TEMPLATE}; period {PERIOD}; python {sys.version.split()[0]}; "
          f"xlsxwriter {xlsxwriter.__version__}")
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for size in args.units:
            results.append(run(max(size, args.villages + 1), Path(tmp), with_peer,
                               args.repeats, args.villages, not args.no_memory))
            report(results[-1])
    if len(results) > 1 and not args.no_memory:
        first, last = results[0], results[-1]
        print(f"\nmemory growth {first['units']:,} -> {last['units']:,} units: "
              f"x{last['ours_peak'] / first['ours_peak']:.2f} "
              f"(units x{last['units'] / first['units']:.0f})")


if __name__ == "__main__":
    main(sys.argv[1:])
