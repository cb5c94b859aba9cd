"""Functions the sandbox tests run in the child (importable by name, as the sandbox needs)."""

import os
import time


def answer(data: bytes) -> dict:
    return {"size": len(data), "first": data[:1]}


def abort(*args) -> None:
    os.abort()


def allocate(*args) -> int:
    return len(bytearray(4 * 1024 ** 3))


def sleep(*args) -> None:
    time.sleep(60)


def spin(*args) -> None:
    while True:
        pass
