"""How gunicorn serves the application: the settings every deployment shares, and the
check that no other server already listens on the address.

Kept apart from :mod:`server.wsgi` (which builds the application) so that a gunicorn
configuration file can take these settings without importing the application: the
benchmarks' servers run under exactly these.
"""

from __future__ import annotations

import errno
import socket
import sys

# Each worker listens on a socket of its own (SO_REUSEPORT), and the kernel spreads new
# connections over them evenly. With one socket shared by all workers, whichever worker
# woke first took the connection: 50 keep-alive clients connecting at once split 46 to 4
# between two workers in one measurement, and the crowded worker's clients waited ten
# times as long as the others for as long as they stayed connected. Only Linux balances
# connections between such sockets; elsewhere the workers keep sharing one.
BALANCED_ACCEPT = sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")

SETTINGS = {
    "worker_class": "gthread",
    "timeout": 120,  # large uploads and exports on a slow machine
    "forwarded_allow_ips": "127.0.0.1",
    "reuse_port": BALANCED_ACCEPT,
}


def address_in_use(host: str, port: int) -> bool:
    """Whether another server listens on *host*:*port*.

    With SO_REUSEPORT a second server started by the same account on the same port
    would bind without an error and quietly take part of the connections (an old
    version left running, say); a socket bound without that option still fails where
    any server listens, so this is asked before serving. Connections that linger after
    a server stopped (TIME_WAIT) do not count, as SO_REUSEADDR lets a server bind there.
    """
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0]
    except socket.gaierror:
        return False  # gunicorn reports an address it cannot resolve in its own words
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as error:
            # Any other refusal (a privileged port, an address not of this machine) is
            # gunicorn's to report.
            return error.errno == errno.EADDRINUSE
    return False
