"""`edoc-axis serve --processes N`: several axis processes sharing one listening socket.

One axis process is bound by one core (the GIL). The supervisor binds the
socket once and starts N `serve` processes that accept on it; they share the
store (SQLite in WAL mode takes one writer at a time, each process group-commits
its own batches, and the audit head is re-read inside every write lock), and
their push workers share the queue through leases. A worker that dies is
restarted; if the supervisor itself is killed, its workers notice and stop: each
holds the read end of a "lifeline" pipe whose only write end the supervisor
keeps, so the kernel closing it (however the supervisor ended, SIGKILL
included) wakes the worker's event loop with EOF; nothing polls.
Each worker reports on a pipe of its own once it is serving: one that exits
before that (a store it cannot open, a broken configuration) will not do better
restarted, so the supervisor stops, however slowly the machine starts processes.
The workers share a directory the supervisor makes for this run and removes
when it stops: their Prometheus series (server/metrics.py says how a scrape
reads them; a dead worker's live gauges are dropped), the per-agency rate
buckets (server/shared_rates.py) and what each knows of the push endpoints
(server/shared_health.py).
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

import structlog
from prometheus_client.multiprocess import mark_process_dead

from edoc_axis.cli.common import EXIT_OK, EXIT_REFUSED, cannot_listen
from edoc_axis.processes import alive

log = structlog.get_logger("edoc_axis.serve")
READY = b"r"  # what a worker writes on its ready pipe once it serves
# prometheus-client's own variable: set, it keeps series in files there (server/metrics.py).
MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"
RUN_DIR = "EDOC_AXIS_RUN_DIR"  # read by server/run_dir.py
RUN_DIR_PREFIX = "edoc-axis-run-"


def sweep_stale_run_dirs(folder: Path) -> None:
    """Remove the run folders of supervisors that are gone (killed, so they could not)."""
    for path in folder.glob(f"{RUN_DIR_PREFIX}*-*"):
        pid = path.name[len(RUN_DIR_PREFIX) :].split("-", 1)[0]
        if pid.isdigit() and not alive(int(pid)):
            shutil.rmtree(path, ignore_errors=True)


@dataclass
class Worker:
    process: subprocess.Popen[bytes]
    ready_pipe: int  # read end; the worker holds the write end until it is serving

    def was_ready(self) -> bool:
        """After the worker exited: had it reported that it was serving?"""
        try:
            return os.read(self.ready_pipe, 1) == READY  # b"" (EOF): it never did
        finally:
            self.close()

    def close(self) -> None:
        if self.ready_pipe >= 0:
            os.close(self.ready_pipe)
            self.ready_pipe = -1


def report_ready(ready_fd: int | None) -> None:
    """In a worker: tell the supervisor this process now serves."""
    if ready_fd is not None:
        os.write(ready_fd, READY)
        os.close(ready_fd)


class Supervisor:
    def __init__(
        self, config_path: Path, host: str, port: int, workers: int, *, scheme: str = "http"
    ) -> None:
        try:
            self.sock = socket.create_server((host, port), backlog=2048)
        except OSError as exc:
            raise cannot_listen(host, port, exc) from exc
        self.sock.set_inheritable(True)
        # Never written to: only its closing matters (see the module docstring).
        self.lifeline, self._lifeline_write = os.pipe()
        bound = self.sock.getsockname()
        # Each worker wraps its accepted connections in TLS itself when configured.
        self.url = f"{scheme}://{bound[0]}:{bound[1]}"
        self.argv = [
            sys.executable, "-m", "edoc_axis.cli.axis", "serve", "--config", str(config_path),
            "--inherit-fd", str(self.sock.fileno()), "--lifeline-fd", str(self.lifeline),
            "--processes", str(workers),
        ]  # fmt: skip
        self.workers = workers
        self.children: list[Worker] = []
        self.stopping = False
        # A new, empty directory each run: files left by an earlier run would add
        # its counts to this one's. Its name carries this supervisor's pid, so that
        # the next one can remove it if this one is killed before it could.
        sweep_stale_run_dirs(Path(tempfile.gettempdir()))
        self.run_dir = Path(tempfile.mkdtemp(prefix=f"{RUN_DIR_PREFIX}{os.getpid()}-"))
        self.metrics_dir = self.run_dir / "metrics"
        self.metrics_dir.mkdir()
        self.env = os.environ | {
            MULTIPROCESS_DIR: str(self.metrics_dir),
            RUN_DIR: str(self.run_dir),
        }

    def spawn(self) -> Worker:
        read_end, write_end = os.pipe()
        argv = [*self.argv, "--ready-fd", str(write_end)]
        try:
            # Our own interpreter and module with arguments we built: no outside input.
            child = subprocess.Popen(  # noqa: S603
                argv, pass_fds=(self.sock.fileno(), self.lifeline, write_end), env=self.env
            )
        finally:
            os.close(write_end)  # the worker's copy is the only one left
        return Worker(child, read_end)

    def on_signal(self, _signum: int, _frame: FrameType | None) -> None:
        self.stopping = True

    def run(self) -> int:
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self.on_signal)
        self.children = [self.spawn() for _ in range(self.workers)]
        print(f"edoc-axis listening on {self.url}", flush=True)
        log.info("server.workers", url=self.url, workers=self.workers)
        failed = False
        while not self.stopping and not failed:
            failed = self._replace_dead()
            time.sleep(0.2)
        self._stop_all()
        return EXIT_REFUSED if failed else EXIT_OK

    def _replace_dead(self) -> bool:
        """Restart workers that exited; True if one died before it was serving."""
        for index, worker in enumerate(self.children):
            code = worker.process.poll()
            if code is None or self.stopping:
                continue
            log.warning("server.worker_exited", pid=worker.process.pid, exit_code=code)
            # its live gauges go; its counters stay, so totals never go down
            mark_process_dead(worker.process.pid, self.metrics_dir)  # type: ignore[no-untyped-call]
            if not worker.was_ready():
                print(f"error: a worker process exited at start (code {code})", file=sys.stderr)
                return True
            self.children[index] = self.spawn()
        return False

    def _stop_all(self) -> None:
        for worker in self.children:
            if worker.process.poll() is None:
                worker.process.send_signal(signal.SIGTERM)
        for worker in self.children:
            try:
                worker.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                worker.process.kill()
                worker.process.wait()
            worker.close()
        self.sock.close()
        os.close(self.lifeline)
        os.close(self._lifeline_write)
        shutil.rmtree(self.run_dir, ignore_errors=True)


def stop_with_supervisor(lifeline_fd: int, stop: asyncio.Event) -> Callable[[], None]:
    """In a worker: set ``stop`` once the supervisor is gone; returns the undo.

    The lifeline is never written to, so it becomes readable only at EOF, when
    the supervisor's write end is closed by its exit. A supervisor that was gone
    before this call is seen at once: the EOF stays.
    """
    loop = asyncio.get_running_loop()

    def gone() -> None:
        loop.remove_reader(lifeline_fd)  # EOF stays readable: report it once
        log.warning("server.supervisor_gone")
        stop.set()

    loop.add_reader(lifeline_fd, gone)

    def undo() -> None:
        loop.remove_reader(lifeline_fd)
        os.close(lifeline_fd)

    return undo
