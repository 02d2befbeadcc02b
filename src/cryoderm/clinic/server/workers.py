"""The web of ``cryoderm serve`` as several worker processes on one listening socket.

A request is a few milliseconds of Python (Django, the ORM, JSON), and one Python process
runs Python on one core at a time: a single web process is full at a few hundred requests
a second however many cores the machine has. So the server opens the listening socket
itself and starts ``workers`` processes (:mod:`.web_worker`) that accept on it, each with
its own event loop, request threads and database connections; the kernel hands each new
connection to one of the workers waiting on the socket.

What stays in the server process (never in a worker): the interlock's supervision and the
journal forwarder, one of each whatever the number of workers, so the stop path and the
journal's single writer are never multiplied by the web.

- A worker that ends (crash, SIGKILL, out of memory) is replaced (after 1 s, or 5 s when it
  keeps ending); the other workers keep serving meanwhile, and the interlock is not touched.
- Each worker's standard input is a pipe from the server: when the server is gone (SIGKILL
  included), the workers read end of file and end, so none serves on unsupervised.
- Workers run in a process group of their own (in the server's session): Ctrl-C in a
  terminal reaches the server, which stops them in order (SIGTERM: running answers get
  their graceful shutdown).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time

from cryoderm.errors import UserInputError

log = logging.getLogger(__name__)

#: assumption: the kernel's default accept backlog (SOMAXCONN, 4096 on recent Linux) is the
#: ceiling anyway; 2048 holds a burst of every clinic device reconnecting at once.
BACKLOG = 2048
#: assumption: a worker that ends within seconds keeps ending (a broken set-up); wait 1 s
#: before the next start, 5 s after repeated failures, so it is logged, not spun.
RESTART_PAUSE_S = (1.0, 5.0)
#: assumption: a worker that served this long was healthy; its next end is a fresh failure.
HEALTHY_AFTER_S = 30.0
#: How often the server looks for ended workers.
CHECK_EVERY_S = 0.2


def listening_socket(host: str, port: int) -> socket.socket:
    """The server's TCP socket, bound and listening, inheritable by the workers."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as error:
        sock.close()
        raise UserInputError(
            f"--host {host} --port {port}: cannot listen there ({error.strerror})"
        ) from None
    sock.listen(BACKLOG)
    sock.set_inheritable(True)
    return sock


class WebWorkers:
    """``count`` worker processes accepting on ``listening``, replaced when they end."""

    def __init__(self, listening: socket.socket, count: int, access_log: bool = False) -> None:
        if count < 1:
            raise UserInputError(f"--workers = {count}: at least 1")
        self.listening = listening
        self.count = count
        self.command = [
            sys.executable,
            "-m",
            "cryoderm.clinic.server.web_worker",
            str(listening.fileno()),
            *(["--access-log"] if access_log else []),
        ]
        self._halt = threading.Event()
        self._lock = threading.Lock()
        self._workers: list[subprocess.Popen[bytes] | None] = [None] * count
        self._thread = threading.Thread(target=self._keep, name="web-workers", daemon=True)

    def pids(self) -> list[int]:
        with self._lock:
            return [w.pid for w in self._workers if w is not None and w.poll() is None]

    def start(self) -> None:
        with self._lock:
            for slot in range(self.count):
                self._workers[slot] = self._spawn()
        self._thread.start()

    def _spawn(self) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            self.command,
            stdin=subprocess.PIPE,
            pass_fds=(self.listening.fileno(),),
            # A process group of its own, in the server's session: Ctrl-C in a terminal
            # (sent to the foreground group) reaches the server only, which stops the
            # workers in order; and the workers stay in the server's session, so a kernel
            # that shares the CPUs between sessions (sched_autogroup) counts the whole web
            # as one, as a service manager's cgroup would.
            process_group=0,
        )

    def _keep(self) -> None:
        failures = [0] * self.count
        started = [_now()] * self.count
        due: dict[int, float] = {}
        while not self._halt.wait(CHECK_EVERY_S):
            with self._lock:
                if self._halt.is_set():
                    return
                for slot, worker in enumerate(self._workers):
                    if worker is not None and worker.poll() is not None:
                        lived = _now() - started[slot]
                        failures[slot] = 1 if lived > HEALTHY_AFTER_S else failures[slot] + 1
                        pause = RESTART_PAUSE_S[min(failures[slot], len(RESTART_PAUSE_S)) - 1]
                        log.error(
                            "web worker %d (pid %d) ended (exit %s) after %.0f s; "
                            "a new one in %g s",
                            slot,
                            worker.pid,
                            worker.returncode,
                            lived,
                            pause,
                        )
                        _release(worker)
                        self._workers[slot] = None
                        due[slot] = _now() + pause
                for slot, when in list(due.items()):
                    if _now() >= when:
                        self._workers[slot] = self._spawn()
                        started[slot] = _now()
                        del due[slot]

    def stop(self, timeout_s: float) -> None:
        """SIGTERM every worker (running answers get their graceful shutdown), wait up to
        ``timeout_s``, then SIGKILL what is left."""
        self._halt.set()
        with self._lock:
            workers = [w for w in self._workers if w is not None]
        for worker in workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM)
        deadline = _now() + timeout_s
        for worker in workers:
            try:
                worker.wait(timeout=max(0.0, deadline - _now()))
            except subprocess.TimeoutExpired:
                worker.kill()
                worker.wait()
            _release(worker)
        if self._thread.is_alive():
            self._thread.join(timeout=5)


def _release(worker: subprocess.Popen[bytes]) -> None:
    if worker.stdin is not None and not worker.stdin.closed:
        with contextlib.suppress(OSError):
            worker.stdin.close()


def _now() -> float:
    return time.monotonic()


def default_count() -> int:
    """One worker per core this process may run on (a request is CPU-bound Python; more
    workers than cores only adds switching), at most :data:`MAX_DEFAULT_WORKERS`."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cores = os.cpu_count() or 1
    return max(1, min(cores, MAX_DEFAULT_WORKERS))


#: assumption: each worker keeps its own database pool (PostgreSQL: up to 16 connections) and
#: request threads; beyond 8 workers a clinic's database sees more connections than requests
#: it has to answer. Set --workers (or CRYODERM_WEB_WORKERS) explicitly above that.
MAX_DEFAULT_WORKERS = 8
