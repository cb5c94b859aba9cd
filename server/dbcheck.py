"""``python -m server.dbcheck URL``: exit 0 if the database answers within a few seconds.

Used by ``make test`` to decide whether to run the suite on PostgreSQL too.
"""

from __future__ import annotations

import sys

from sqlalchemy import create_engine, text

from server.db import normalise_url


def reachable(url: str, timeout: int = 3) -> bool:
    url = normalise_url(url)
    connect_args = {"connect_timeout": timeout} if url.startswith("postgresql") else {}
    engine = create_engine(url, connect_args=connect_args)
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT 1"))
        return True
    except Exception:  # noqa: BLE001 - any failure means "not reachable" here
        return False
    finally:
        engine.dispose()


if __name__ == "__main__":
    sys.exit(0 if len(sys.argv) == 2 and reachable(sys.argv[1]) else 1)
