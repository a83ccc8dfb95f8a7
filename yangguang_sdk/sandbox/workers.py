"""Several sandbox processes serving one listening socket: ``serve(workers=N)`` and
``yangguang sandbox serve --workers N``.

The parent binds the socket, starts N worker processes (spawned, so none inherits a connection or a
thread) and supervises them: a worker that dies (killed, crashed) is replaced, and SIGINT or SIGTERM
stops them all. Each worker opens its own ``Sandbox`` on the same database and serves the inherited
socket with uvicorn; the kernel hands each new connection to one of them. Only PostgreSQL can be
shared this way: its per-tenant advisory locks serialise a tenant's operations across the workers.
"""

from __future__ import annotations

import multiprocessing
import signal
import socket
import sys
import time
from types import FrameType
from typing import Any, Literal

__all__ = ["is_shared_db", "serve_workers"]

_RESTART_PAUSE = 0.5
"""Seconds between two restarts of the same worker slot (a worker that dies at once would spin)."""
_STOP_GRACE = 10.0
"""Seconds a worker gets to finish its requests after SIGTERM before it is killed."""
_EARLY_EXIT = 5.0
_EARLY_EXITS = 3
"""A slot whose workers exit this many times in a row within ``_EARLY_EXIT`` seconds of their start
is failing at start (a database that went away, say): the supervisor gives up instead of spinning."""


def is_shared_db(db: str | None) -> bool:
    """Whether several processes can share ``db`` (a PostgreSQL URL)."""
    return db is not None and db.startswith(("postgresql://", "postgres://"))


def _worker(
    listener: socket.socket, db: str, clock: Literal["manual", "realtime"], allow_private: bool
) -> None:
    """One worker process: its own Sandbox on ``db``, serving ``listener`` until SIGTERM."""
    import uvicorn

    from . import Sandbox

    sb = Sandbox(
        db=db,
        realtime=clock == "realtime",
        allow_private_endpoints=allow_private,
        background_deliveries=True,
    )
    try:
        if clock == "realtime":
            sb.start_ticking()
        uvicorn.Server(uvicorn.Config(sb.app, log_level="warning")).run(sockets=[listener])
    finally:
        sb.close()


def serve_workers(
    listener: socket.socket,
    *,
    db: str,
    clock: Literal["manual", "realtime"],
    workers: int,
    announce: str,
    allow_private: bool = False,
) -> None:
    """Serve ``listener`` with ``workers`` processes until SIGINT or SIGTERM; print ``announce``
    once they are started. ``allow_private``: webhook endpoints may be on private addresses."""
    from .store_pg import PostgresStore

    # Once here first: a database that cannot be opened fails now, in one clear error, rather than
    # in every worker, and the tables exist before the workers race to create them.
    PostgresStore(db).close()
    context = multiprocessing.get_context("spawn")
    stopping = False

    def start() -> Any:
        process = context.Process(target=_worker, args=(listener, db, clock, allow_private), daemon=False)
        process.start()
        return process

    def stop(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGINT, signal.SIGTERM)}
    processes = [start() for _ in range(workers)]
    started = [time.monotonic()] * workers
    early_exits = [0] * workers
    print(f"{announce}  ({workers} workers: pids {', '.join(str(p.pid) for p in processes)})", flush=True)
    try:
        while not stopping:
            time.sleep(0.1)
            for slot, process in enumerate(processes):
                if not process.is_alive() and not stopping:
                    print(
                        f"sandbox worker pid {process.pid} exited ({process.exitcode}); starting another",
                        file=sys.stderr,
                        flush=True,
                    )
                    process.join()
                    early = time.monotonic() - started[slot] < _EARLY_EXIT
                    early_exits[slot] = early_exits[slot] + 1 if early else 0
                    if early_exits[slot] >= _EARLY_EXITS:
                        raise OSError(
                            f"sandbox workers keep exiting as they start ({process.exitcode}): see above"
                        )
                    time.sleep(_RESTART_PAUSE)
                    processes[slot] = start()
                    started[slot] = time.monotonic()
    finally:
        for process in processes:
            if process.is_alive():
                process.terminate()  # SIGTERM: uvicorn finishes its requests and exits
        deadline = time.monotonic() + _STOP_GRACE
        for process in processes:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
                process.join()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
