"""Parsing untrusted files in a short-lived child process.

A crafted spreadsheet can make python-calamine abort the whole process (a
Rust allocation failure cannot be caught), loop for a long time, or allocate
gigabytes. So every parse of an uploaded file runs here: :func:`run` calls a
module-level function in a child with an address-space limit (RLIMIT_AS) and
a CPU-time limit (RLIMIT_CPU) set in the child, and a wall-time limit
enforced by the parent, which kills the child when it is over. What comes
back is the function's return value (plain, picklable data: no calamine
objects cross the boundary) or a :class:`Failure` that the caller turns into
a refusal. The web worker and the CLI carry on either way.

Children are forked from a multiprocessing *forkserver* that has the readers
already imported, so a parse costs one fork and two pipe transfers, not a
fresh interpreter: about 11 ms per upload of a 26 KB workbook on 2 cores
(20 ms and more when the machine is busy; ``bench/fuzz_upload.py`` prints
it). The forkserver starts on first use in the process that needs it (each
gunicorn worker, the CLI, a test run), never in a process that forks
afterwards. Preloading ``__main__`` means a script that uses the sandbox must
keep its work under ``if __name__ == "__main__":``.
"""

from __future__ import annotations

import multiprocessing
import os
import resource
import signal
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

MB = 1024 * 1024

# Modules the forkserver imports once, so that children start with them loaded.
PRELOAD = ["__main__", "exports.workbook_reader", "exports.unit_table", "forms.loader",
           "forms.importers", "exports.annotate"]

CRASHED, OVER_LIMIT = "crashed", "over_limit"


@dataclass(frozen=True)
class Budget:
    """What one parse may cost. The wall time keeps every refusal well under 5 s."""

    memory_bytes: int = 1024 * MB  # address space of the child
    cpu_seconds: int = 3
    wall_seconds: float = 4.0


DEFAULT_BUDGET = Budget()


@dataclass(frozen=True)
class Failure:
    """Why a parse gave no answer: ``crashed`` (a signal, an exception) or ``over_limit``."""

    kind: str
    detail: str = ""


_context = None


def _forkserver():
    global _context
    if _context is None:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(PRELOAD)
        _context = context
    return _context


def run(func: Callable[..., Any], *args: Any, budget: Budget = DEFAULT_BUDGET) -> Any:
    """``func(*args)`` computed in a child within *budget*, or a :class:`Failure`.

    *func* must be importable by name (a module-level function) and return
    picklable data.
    """
    context = _forkserver()
    reader, writer = context.Pipe(duplex=False)
    child = context.Process(target=_child, args=(writer, budget, func, args), daemon=True)
    try:
        child.start()
    finally:
        writer.close()
    try:
        if not reader.poll(budget.wall_seconds):
            return Failure(OVER_LIMIT, f"no answer within {budget.wall_seconds} s")
        try:
            status, value = reader.recv()
        except (EOFError, OSError):
            child.join(1)
            return _died(child.exitcode)
        return value if status == "ok" else Failure(status, value)
    finally:
        reader.close()
        if child.is_alive():
            child.kill()
        child.join(5)
        child.close()


def _died(exitcode: int | None) -> Failure:
    if exitcode is not None and -exitcode in (signal.SIGXCPU, signal.SIGKILL):
        return Failure(OVER_LIMIT, f"stopped by signal {-exitcode}")
    return Failure(CRASHED, f"exit code {exitcode}")


def _child(writer, budget: Budget, func: Callable[..., Any], args: tuple[Any, ...]) -> None:
    """In the child: set the limits, compute, answer, and leave without cleanup."""
    try:
        resource.setrlimit(resource.RLIMIT_CPU, (budget.cpu_seconds, budget.cpu_seconds + 1))
        resource.setrlimit(resource.RLIMIT_AS, (budget.memory_bytes, budget.memory_bytes))
        try:
            answer = ("ok", func(*args))
        except MemoryError:
            answer = (OVER_LIMIT, "out of memory")
        except RecursionError:
            answer = (OVER_LIMIT, "nested too deeply")
        except BaseException as exc:  # a parser's exception, or a Rust panic (pyo3)
            answer = (CRASHED, f"{type(exc).__name__}: {exc}")
        writer.send(answer)
        writer.close()
    finally:
        os._exit(0)
