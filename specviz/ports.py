"""A free TCP port for `make lab`: the one asked for, else the next free one above it.

    python -m specviz.ports 8888      # prints 8888, or e.g. 8889 when 8888 is taken (and says so)
"""

from __future__ import annotations

import socket
import sys

TRIES = 50


def is_free(port: int, host: str = "127.0.0.1") -> bool:
    """True iff a server could listen on ``host:port`` now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def free_port(preferred: int, host: str = "127.0.0.1", tries: int = TRIES) -> int:
    """``preferred`` if free, else the first free port of the next ``tries`` ones; raises
    OSError (saying what to do) if none is."""
    if not 1 <= preferred <= 65535:
        raise ValueError(f"a port is a number from 1 to 65535, got {preferred}")
    for port in range(preferred, min(preferred + tries, 65536)):
        if is_free(port, host):
            return port
    raise OSError(f"ports {preferred}-{preferred + tries - 1} are all taken on {host}; stop another "
                  "Jupyter (`jupyter server list`, then `jupyter server stop PORT`) or choose a "
                  "port: make lab PORT=9000")


def main(argv=None) -> int:
    args = sys.argv[1:] if argv is None else argv
    try:
        preferred = int(args[0]) if args else 8888
        port = free_port(preferred)
    except (ValueError, OSError) as err:
        print(f"specviz: {err}", file=sys.stderr)
        return 2
    if port != preferred:
        print(f"specviz: port {preferred} is taken (another Jupyter?), so JupyterLab uses {port}; "
              f"`make lab PORT=n` chooses one", file=sys.stderr)
    print(port)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
