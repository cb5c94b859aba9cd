"""gunicorn settings of the benchmarks' servers: those of ``tianbao serve``
(``server/serving.py``), and a hook that says when a worker has built its application
and can serve. The command line adds the address, the workers and the threads.

Each worker writes a file named after its pid into ``$TIANBAO_BENCH_READY`` once its
application is loaded; ``bench/load.py`` starts the clients only when every worker has.
A worker still importing the application when 50 keep-alive clients connect at once
leaves them all to the other one, for the whole run.
"""

import os
from pathlib import Path

from server.serving import SETTINGS

# gunicorn takes every module-level name of a configuration file that is a setting.
globals().update(SETTINGS)


def post_worker_init(worker) -> None:
    folder = os.environ.get("TIANBAO_BENCH_READY")
    if folder:
        Path(folder, str(worker.pid)).touch()
