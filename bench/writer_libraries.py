"""The writer's floor itself: XlsxWriter against a Rust writer on the same cells.

The cells are those of ``bench/merged.py``'s floor (our flat-data sheet: one row per
unit × field, 73 per company), computed before timing. Timed, in rounds that
alternate which side goes first (medians of ``--repeats``, wall-clock and CPU):

* **xlsxwriter**: XlsxWriter in constant-memory mode writing them row by row, with
  the cell formats of our export (``bench/merged.py``'s ``floor``);
* **rustpy**: ``rustpy_xlsxwriter.write_worksheet`` (Python bindings of the Rust
  ``rust_xlsxwriter``), given the same rows as records (one dict per row), header
  in bold, autofilter and frozen header; it takes a whole sheet at once, so the
  records are built beforehand too (not timed) and held in memory.

rustpy-xlsxwriter is not a dependency of Tianbao: install it to run this
(``pip install rustpy-xlsxwriter``); without it the script says so and stops.

Usage: ``python bench/writer_libraries.py [--units 1000] [--repeats 3]``.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _pure_bench():
    spec = importlib.util.spec_from_file_location("bench_merged", ROOT / "bench" / "merged.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_merged"] = module
    spec.loader.exec_module(module)
    return module


def main(argv: list[str]) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=1000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    try:
        import rustpy_xlsxwriter
    except ImportError:
        print("rustpy-xlsxwriter not installed: nothing to compare")
        return
    pure = _pure_bench()
    from exports.flat_data import FLAT_HEADERS

    syn = pure.Synthetic(pure.pick_definition(), args.units)
    data, _ = pure.floor_cells(syn)
    records = [{header: (value if value != "" else None)
                for header, value in zip(FLAT_HEADERS, row, strict=False)} for row in data]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)

        def ours() -> None:
            pure.floor((data, []), folder / "xlsxwriter.xlsx")

        def rust() -> None:
            rustpy_xlsxwriter.write_worksheet(records, str(folder / "rustpy.xlsx"),
                                              sheet_name="data", freeze_row=1,
                                              bold_headers=True, autofilter=True)

        times = pure.interleaved({"xlsxwriter": ours, "rustpy": rust}, args.repeats)
        sizes = {name: (folder / f"{name}.xlsx").stat().st_size for name in times}
    print(f"{args.units:,} units, {len(data):,} rows; rustpy-xlsxwriter "
          f"{rustpy_xlsxwriter.get_version()}; medians of {args.repeats} interleaved rounds")
    for name, pairs in times.items():
        print(f"  {name:10} {pure.median(pairs, 0):7.2f} s wall {pure.median(pairs, 1):7.2f} s "
              f"CPU  {sizes[name] / 2**20:.1f} MiB")
    print(f"  rustpy / xlsxwriter = "
          f"{pure.median(times['rustpy'], 0) / pure.median(times['xlsxwriter'], 0):.2f} wall, "
          f"{pure.median(times['rustpy'], 1) / pure.median(times['xlsxwriter'], 1):.2f} CPU")


if __name__ == "__main__":
    main(sys.argv[1:])
