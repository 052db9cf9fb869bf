"""``eam serve`` with several workers: one ``SO_REUSEPORT`` listening socket per worker.

Uvicorn's multi-worker mode hands every worker the same listening socket; the worker whose
event loop wakes first accepts every connection waiting in the backlog, so a burst of
keep-alive clients lands on one worker while the others idle (measured: all 16 connections on
one of two workers in 7 runs of 8). Here each worker binds its own socket to the address with
``SO_REUSEPORT`` and the Linux kernel spreads new connections over the workers' sockets.

Uvicorn keeps its supervisor role (starting, health-checking, restarting workers, forwarding
signals). The parent's socket only reserves the address: it is bound with ``SO_REUSEPORT`` but
never listened on, so it takes no connections.
"""

from __future__ import annotations

import socket
import sys
from typing import Any

import uvicorn
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors import multiprocess


def _socket_for(host: str, port: int, *, listening: bool, backlog: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    if listening:
        sock.listen(backlog)
    return sock


class ReusePortServer(uvicorn.Server):
    """A worker that listens on a socket of its own, bound to the reserved address."""

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        own = []
        for reserved in sockets or ():
            host, port = reserved.getsockname()[:2]
            own.append(_socket_for(host, port, listening=True, backlog=self.config.backlog))
            reserved.close()
        await super().startup(sockets=own or None)


class ReusePortProcess(multiprocess.Process):
    @property
    def server(self) -> uvicorn.Server:
        if self._server is None:
            self._server = ReusePortServer(config=self.config)
        return self._server


def reuse_port_supported() -> bool:
    return sys.platform.startswith("linux") and hasattr(socket, "SO_REUSEPORT")


def run_workers(config: uvicorn.Config) -> None:
    """Run ``config.workers`` workers, each on its own ``SO_REUSEPORT`` socket (Linux)."""
    try:
        reserved = _socket_for(config.host, config.port, listening=False, backlog=config.backlog)
    except OSError as exc:
        print(f"cannot bind {config.host}:{config.port}: {exc}", file=sys.stderr)
        sys.exit(STARTUP_FAILURE)
    reserved.set_inheritable(True)
    # Uvicorn's supervisor creates its workers through this name; point it at ours.
    multiprocess.Process = ReusePortProcess  # type: ignore[misc]
    multiprocess.Multiprocess(config, sockets=[reserved]).run()


def serve(app: str, *, workers: int, **options: Any) -> None:
    """``uvicorn.run`` for one worker; per-worker sockets for several (where the kernel balances)."""
    if workers <= 1 or not reuse_port_supported():
        uvicorn.run(app, workers=workers, **options)
        return
    config = uvicorn.Config(app, workers=workers, **options)
    run_workers(config)
