"""gunicorn settings of the benchmarks' servers: nothing but a hook that says when a worker
has built its application and can serve (the command line carries the real settings).

Each worker writes a file named after its pid into ``$TIANBAO_BENCH_READY`` once its
application is loaded; ``bench/load.py`` starts the clients only when every worker has.
A worker still importing the application when 50 keep-alive clients connect at once
leaves them all to the other one, for the whole run.
"""

import os
from pathlib import Path


def post_worker_init(worker) -> None:
    folder = os.environ.get("TIANBAO_BENCH_READY")
    if folder:
        Path(folder, str(worker.pid)).touch()
