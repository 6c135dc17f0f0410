"""The one WSGI app every server of bench/servers runs, and the Waitress side of it.

Each worker process imports this module (gunicorn and granian by ``servers_app:app``;
Waitress through server.workers, as ``studygraph serve --workers`` does) and so opens
the store itself, read-only, as the workers of ``serve --workers`` do over the embedded
store. Settings come from the environment, so every server runs the very same app:

- ``BENCH_STORE``: the store folder;
- ``BENCH_COLD=1``: no representation cache at all, so every request is rendered
  (the cold case); otherwise the in-memory cache of each worker (the warm case).

Run as a script, it is Waitress with our extensions (server.connections) on N processes
sharing one socket: ``servers_app.py waitress PORT WORKERS THREADS``.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from studygraph.graph.embedded import open_catalogue

HOST = "127.0.0.1"


def make_app() -> Any:
    from studygraph.server.app import ServerSettings, create_app

    store = open_catalogue(os.environ["BENCH_STORE"], read_only=True)
    cold = os.environ.get("BENCH_COLD") == "1"
    assert store.base_url is not None
    settings = ServerSettings(base_url=store.base_url, cache_bytes=0 if cold else 256 * 1024 * 1024, cache_path=None)
    return create_app(store, settings)


def waitress_worker(threads: int, listening: Any) -> None:
    """One Waitress worker (server.connections) on the supervisor's socket."""
    from studygraph.server import connections

    server = connections.create(
        make_app(), host=HOST, port=0, threads=threads, limits=connections.Limits(),
        refuses_body=lambda method, path, authorization: False, max_body_bytes=1 << 20, listen_socket=listening,
    )
    server.run()


def main(argv: list[str]) -> int:
    from studygraph.server import workers

    _, port, count, threads = argv
    listening = workers.bind(HOST, int(port))
    return workers.Supervisor(listening, int(count), waitress_worker, (int(threads),), announce=print).run()


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "waitress":
        sys.exit(main(sys.argv[1:]))
    sys.exit("usage: servers_app.py waitress PORT WORKERS THREADS")
else:
    # Imported by the WSGI servers (gunicorn, granian) in each worker; not when spawned
    # by the Waitress supervisor, which calls make_app in waitress_worker.
    if os.environ.get("BENCH_STORE") and __name__ == "servers_app":
        app = make_app()
