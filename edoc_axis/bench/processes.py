"""The processes under test: the axis, the reference endpoint and the bare ceiling.

Each runs as its own child process (``python -m ...``) with stdout and stderr
in files of the run folder, so a chatty child can never block on a pipe. Its
peak RSS comes from ``/proc/PID/status`` (VmHWM) and its CPU time from
``/proc/PID/stat`` (utime + stime).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

_URL = re.compile(r"listening on (http://\S+)")
_TICKS = os.sysconf("SC_CLK_TCK")


class ChildFailed(RuntimeError):
    """A child exited or never said where it listens."""


@dataclass
class Child:
    """A started child process and the URL it listens on."""

    name: str
    process: subprocess.Popen[bytes]
    url: str
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def pids(self) -> list[int]:
        """The process and its children (the processes of `serve --processes N`)."""
        try:
            children = Path(f"/proc/{self.pid}/task/{self.pid}/children").read_text().split()
        except OSError:
            children = []
        return [self.pid, *(int(pid) for pid in children)]

    def peak_rss_bytes(self) -> int:
        """The high-water mark of resident memory (VmHWM) so far, summed over workers."""
        return sum(_status_kib(pid, "VmHWM") for pid in self.pids()) * 1024

    def rss_bytes(self) -> int:
        return sum(_status_kib(pid, "VmRSS") for pid in self.pids()) * 1024

    def cpu_seconds(self) -> float:
        """User + system CPU time used so far, summed over the process and its workers."""
        total = 0
        for pid in self.pids():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += int(fields[11]) + int(fields[12])
        return total / _TICKS

    def stop(self, timeout_s: float = 20.0) -> None:
        """SIGTERM, then SIGKILL if it does not stop in time."""
        if self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _status_kib(pid: int, field: str) -> int:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return 0
    for line in text.splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def start_child(
    name: str, args: list[str], folder: Path, *, env: dict[str, str] | None = None
) -> Child:
    """Run ``python -m <args>``; wait for its "listening on URL" line on stdout."""
    out, log = folder / f"{name}.out", folder / f"{name}.log"
    child_env = {**os.environ, **(env or {})}
    # Emptied, then opened to append: the workers of `serve --processes N` share
    # these files, and without O_APPEND their lines overwrite each other.
    out.write_bytes(b"")
    log.write_bytes(b"")
    with out.open("ab") as stdout, log.open("ab") as stderr:
        process = subprocess.Popen(  # noqa: S603  (our own interpreter and module)
            [sys.executable, "-m", *args], stdout=stdout, stderr=stderr, env=child_env
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        found = _URL.search(out.read_text(errors="replace"))
        if found:
            return Child(name, process, found.group(1), log)
        if process.poll() is not None:
            tail = log.read_text(errors="replace")[-2000:]
            raise ChildFailed(f"{name} exited with {process.returncode}: {tail}")
        time.sleep(0.05)
    process.kill()
    raise ChildFailed(f"{name} did not start listening within 60 s")


def start_axis(config: Path, folder: Path) -> Child:
    args = ["edoc_axis.cli.axis", "serve", "--config", str(config), "--port", "0"]
    return start_child("axis", args, folder)


@dataclass
class NodeGroup:
    """Several axis nodes (``serve`` processes on one shared store), seen as one axis."""

    nodes: list[Child]

    @property
    def url(self) -> str:
        return self.nodes[0].url

    @property
    def urls(self) -> list[str]:
        return [node.url for node in self.nodes]

    def pids(self) -> list[int]:
        return [pid for node in self.nodes for pid in node.pids()]

    def peak_rss_bytes(self) -> int:
        return sum(node.peak_rss_bytes() for node in self.nodes)

    def rss_bytes(self) -> int:
        return sum(node.rss_bytes() for node in self.nodes)

    def cpu_seconds(self) -> float:
        return sum(node.cpu_seconds() for node in self.nodes)

    def stop(self, timeout_s: float = 20.0) -> None:
        for node in self.nodes:
            node.stop(timeout_s)


def start_nodes(config: Path, folder: Path, count: int) -> NodeGroup:
    """``count`` separate `serve` processes on the config's (shared) store."""
    args = ["edoc_axis.cli.axis", "serve", "--config", str(config), "--port", "0"]
    return NodeGroup([start_child(f"axis-node{n + 1}", args, folder) for n in range(count)])


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU time of one process (0 if it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / _TICKS


def start_endpoint(out_dir: Path, pki: Path, folder: Path) -> Child:
    args = [
        "edoc_axis.cli.edoc", "endpoint", "--listen", "127.0.0.1:0", "--out", str(out_dir),
        "--axis-cert", str(pki / "axis.cert.pem"), "--ca", str(pki / "ca.cert.pem"),
        "--crl", str(pki / "ca.crl.pem"),
    ]  # fmt: skip
    return start_child("endpoint", args, folder)


def start_ceiling(folder: Path) -> Child:
    return start_child("ceiling", ["edoc_axis.bench.ceiling", "--port", "0"], folder)
