"""The merged workbook of a consolidator with 1,000 and 10,000 units below it.

Synthetic reports of the 21-item progress template (chidian-progress): a town
with 10 direct children (villages) and the rest of the units as companies
under them, every company reporting all 52 numeric indicators and the 21
推进情况 texts, with a previous period for the 本期新增 increments. The
villages' reports are their consolidations, computed before timing as the
server stores them. Company values are generated as the export reads them, so
no input is held in memory.

Measured in one run, for each size:

* **ours**: consolidating the town's direct children plus
  ``exports.merged_workbook.write_merged_workbook`` (summary and 10 village
  sheets in the official layout, completeness, issues, flat data);
* **floor**: XlsxWriter alone, in constant-memory mode, writing as many cells
  of the same types as our flat-data and completeness sheets;
* **peer**: a pandas script doing the merge the usual way: ``read_excel`` on
  each company's own small workbook (written beforehand, not timed),
  ``concat``, ``groupby().sum()`` by village and for the town, ``to_excel``
  of the merged rows and the totals. pandas is not a dependency of Tianbao:
  without it the peer is skipped;
* **peak memory** of ours under tracemalloc: Python's allocations above what
  was allocated before, in a separate pass because tracing slows Python down
  several times (it runs in a child process while the peer's input workbooks
  are written, neither being timed).

Usage: ``python bench/merged.py [--units 1000 10000]``.
"""

from __future__ import annotations

import argparse
import random
import shutil
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

from exports.flat_data import FLAT_HEADERS, UnitReport, data_fields
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

    def __post_init__(self) -> None:
        fields = data_fields(self.definition)
        self.numeric = [f.key for f in fields if f.is_numeric]
        self.texts = [f.key for f in fields if f.key.endswith("_progress")]
        companies = self.units - VILLAGES
        self.companies = [range(v * companies // VILLAGES, (v + 1) * companies // VILLAGES)
                          for v in range(VILLAGES)]
        self.village_values = [self._consolidate(v) for v in range(VILLAGES)]
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
        for v in range(VILLAGES):
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


def floor(rows: int, units: int, path: Path) -> None:
    """XlsxWriter alone writing as many cells of the same types, row by row."""
    book = xlsxwriter.Workbook(path, {"constant_memory": True})
    data = book.add_worksheet("data")
    for col, header in enumerate(FLAT_HEADERS):
        data.write_string(0, col, header)
    for r in range(1, rows + 1):
        data.write_string(r, 0, "C000001")
        data.write_string(r, 1, "企业1")
        data.write_string(r, 2, "350582100001")
        data.write_number(r, 3, 2)
        data.write_string(r, 4, PERIOD)
        data.write_number(r, 5, 1)
        data.write_string(r, 6, "12")
        data.write_string(r, 7, "i12_hazards_found")
        data.write_string(r, 8, "排查发现事故隐患")
        data.write_number(r, 9, r % 97)
        data.write_number(r, 10, r % 9)
        data.write_string(r, 11, "处")
    data.autofilter(0, 0, rows, len(FLAT_HEADERS) - 1)
    listing = book.add_worksheet("completeness")
    for col, header in enumerate(COMPLETENESS_HEADERS):
        listing.write_string(0, col, header)
    for r in range(1, units + 1):
        for col in range(len(COMPLETENESS_HEADERS)):
            if col in (3, 10, 11):
                listing.write_number(r, col, r)
            else:
                listing.write_string(r, col, "企业1")
    book.close()


def write_unit_workbooks(syn: Synthetic, folder: Path) -> list[Path]:
    """The peer's input: each company's report as its own small workbook (not timed)."""
    labels = {f.key: f.label for f in syn.definition.fields()}
    paths = []
    for v in range(VILLAGES):
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


def run(size: int, folder: Path, with_peer: bool) -> dict:
    definition = pick_definition()
    syn = Synthetic(definition, size)
    out = folder / f"ours-{size}.xlsx"
    seconds, rows = timed(lambda: ours(syn, out))
    floor_seconds, _ = timed(lambda: floor(rows, size, folder / f"floor-{size}.xlsx"))
    figures = {"units": size, "rows": rows, "ours": seconds, "floor": floor_seconds,
               "size": out.stat().st_size, "peer": None}
    # Tracing memory makes Python several times slower but does not change the peak,
    # so it runs in a child process while the peer's input workbooks are written:
    # neither is timed, and every timed step above and below runs alone.
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
    print(f"\n{f['units']:,} units ({f['units'] - VILLAGES:,} companies under {VILLAGES} "
          f"villages): {f['rows']:,} flat rows, {f['size'] / 2**20:.1f} MiB workbook")
    print(f"  ours  {f['ours']:8.2f} s   peak {mib(f['ours_peak'])}")
    print(f"  floor {f['floor']:8.2f} s                 "
          f"ours / floor = {f['ours'] / f['floor']:.2f}")
    if f["peer"] is None:
        print("  pandas not installed: peer skipped")
    else:
        print(f"  peer  {f['peer']:8.2f} s                 ours / peer  = "
              f"{f['ours'] / f['peer']:.2f}")


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, nargs="+", default=[1000, 10000])
    args = parser.parse_args(argv)
    with_peer = _has("pandas")
    print(f"template {TEMPLATE}; period {PERIOD}; python {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory() as tmp:
        results = [run(max(size, VILLAGES + 1), Path(tmp), with_peer) for size in args.units]
    for figures in results:
        report(figures)
    if len(results) > 1:
        first, last = results[0], results[-1]
        print(f"\nmemory growth {first['units']:,} -> {last['units']:,} units: "
              f"x{last['ours_peak'] / first['ours_peak']:.2f} "
              f"(units x{last['units'] / first['units']:.0f})")


if __name__ == "__main__":
    main(sys.argv[1:])
