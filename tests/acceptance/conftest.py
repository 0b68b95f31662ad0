"""Acceptance helpers: the real console scripts, run as subprocesses.

``run_cli("edoc", ...)`` / ``run_cli("edoc-axis", ...)`` run a command with a
timeout in a clean environment (no EDOC_* variables, no profile file) and return
a ``CliResult`` (exit code, stdout, stderr). ``AxisServer`` starts
``edoc-axis serve --port 0``, reads its URL from stdout within a deadline and
stops it with SIGTERM or SIGKILL. Every process started here is registered and
killed at the end of the session at the latest.

Module-scoped fixtures: ``axis_home`` (an ``edoc-axis init`` home with two pull
agencies, G22 and H49, registered through the CLI) and ``axis`` (that home's
server, running). Documents are built by ``signed_document`` (in-process, with
the agency's key from the home) when the building is not what a test is about.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import queue
import signal
import ssl
import subprocess
import sys
import threading
import time
import urllib.parse
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.reference import SDK_SAMPLES
from tests.waiting import eventually_sync

BIN = Path(sys.executable).parent
TOOLS = {"edoc": BIN / "edoc", "edoc-axis": BIN / "edoc-axis"}
SAMPLES = SDK_SAMPLES  # copied into tests/data (see its README)
G22 = "000.00.00.G22"
H49 = "000.00.00.H49"
CLI_TIMEOUT_S = 60.0
START_DEADLINE_S = 20.0
STOP_DEADLINE_S = 15.0
ISOLATED_ENV = ("EDOC_AXIS_URL", "EDOC_TOKEN", "EDOC_KEY", "EDOC_CERT", "EDOC_AXIS_CONFIG")


# --- processes -------------------------------------------------------------------------

_STARTED: list[subprocess.Popen[Any]] = []
_STARTED_LOCK = threading.Lock()


def _register(process: subprocess.Popen[Any]) -> subprocess.Popen[Any]:
    with _STARTED_LOCK:
        _STARTED.append(process)
    return process


def _kill(process: subprocess.Popen[Any]) -> None:
    if process.poll() is None:
        process.kill()
    with contextlib.suppress(subprocess.TimeoutExpired):  # the kernel did not reap it in time
        process.wait(timeout=STOP_DEADLINE_S)


@pytest.fixture(scope="session", autouse=True)
def _kill_leftover_processes() -> Iterator[None]:
    """Whatever a test or fixture started and did not stop dies here."""
    yield
    with _STARTED_LOCK:
        leftovers = list(_STARTED)
        _STARTED.clear()
    for process in leftovers:
        _kill(process)


def cli_env(extra: Mapping[str, str] | None = None, *, home: Path | None = None) -> dict[str, str]:
    """The environment for a CLI run: ours minus every EDOC_* setting, no profile file."""
    env = {k: v for k, v in os.environ.items() if k not in ISOLATED_ENV}
    env["EDOC_PROFILE"] = str((home or Path("/nonexistent")) / "no-such-profile.toml")
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env


@dataclass(frozen=True)
class CliResult:
    args: tuple[str, ...]
    exit_code: int
    stdout: str
    stderr: str

    @property
    def stderr_lines(self) -> list[str]:
        return self.stderr.splitlines()

    def json(self) -> Any:
        return json.loads(self.stdout)

    def describe(self) -> str:
        return (
            f"$ {' '.join(self.args)}\nexit {self.exit_code}\n"
            f"--- stdout\n{self.stdout}\n--- stderr\n{self.stderr}"
        )

    def ok(self) -> CliResult:
        """Assert exit 0 and a quiet stderr (apart from log lines); return self."""
        assert self.exit_code == 0, self.describe()
        assert "Traceback" not in self.stderr, self.describe()
        return self

    def refused(self, code: str, exit_code: int = 1) -> CliResult:
        """Assert the contract's failure shape: exit code and one stderr line 'code: ...'."""
        assert self.exit_code == exit_code, self.describe()
        assert "Traceback" not in self.stderr, self.describe()
        assert len(self.stderr_lines) == 1, self.describe()
        assert self.stderr_lines[0].startswith(f"{code}:"), self.describe()
        return self


def run_cli(
    tool: str,
    *args: str | Path,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    stdin: bytes | None = None,
    timeout: float = CLI_TIMEOUT_S,
) -> CliResult:
    """Run ``edoc`` or ``edoc-axis`` with a timeout; the process is killed if it overruns."""
    argv = [str(TOOLS[tool]), *map(str, args)]
    process = _register(
        subprocess.Popen(
            argv,
            cwd=cwd,
            env=cli_env(env),
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
    )
    try:
        out, err = process.communicate(stdin, timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill(process)
        pytest.fail(f"{' '.join(argv)} did not finish within {timeout} s")
    finally:
        with _STARTED_LOCK:
            if process in _STARTED and process.poll() is not None:
                _STARTED.remove(process)
    return CliResult(
        (tool, *map(str, args)),
        process.returncode,
        out.decode("utf-8", "replace"),
        err.decode("utf-8", "replace"),
    )


# --- a running axis ----------------------------------------------------------------------


class AxisServer:
    """``edoc-axis serve --config F --port 0`` as a subprocess."""

    def __init__(
        self,
        config: Path,
        log_dir: Path,
        *,
        cafile: Path | None = None,
        extra_args: tuple[str, ...] = (),
    ) -> None:
        self.config = config
        self.log_dir = log_dir
        self.cafile = cafile  # the CA of the axis's TLS certificate, when it serves https
        self.extra_args = extra_args
        self.process: subprocess.Popen[bytes] | None = None
        self.url = ""
        self.stdout_lines: queue.Queue[str] = queue.Queue()
        self._starts = 0
        self._reader: threading.Thread | None = None

    @property
    def port(self) -> int:
        return urllib.parse.urlsplit(self.url).port or 0

    def start(self, deadline_s: float = START_DEADLINE_S) -> str:
        assert self.process is None or self.process.poll() is not None, "already running"
        self._starts += 1
        stderr_log = (self.log_dir / f"serve-{self._starts}.stderr.log").open("wb")
        self.stdout_lines = queue.Queue()
        self.process = _register(
            subprocess.Popen(
                [
                    str(TOOLS["edoc-axis"]),
                    "serve",
                    "--config",
                    str(self.config),
                    "--port",
                    "0",
                    *self.extra_args,
                ],
                env=cli_env(),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=stderr_log,
            )
        )
        stderr_log.close()
        self._reader = threading.Thread(target=self._drain, args=(self.process,), daemon=True)
        self._reader.start()
        self.url = self._await_url(deadline_s)
        self._await_health(deadline_s)
        return self.url

    def _drain(self, process: subprocess.Popen[bytes]) -> None:
        assert process.stdout is not None
        for raw in process.stdout:
            self.stdout_lines.put(raw.decode("utf-8", "replace").rstrip("\n"))
        self.stdout_lines.put("")  # EOF marker

    def _await_url(self, deadline_s: float) -> str:
        end = time.monotonic() + deadline_s
        seen: list[str] = []
        while True:
            remaining = end - time.monotonic()
            if remaining <= 0:
                self.kill()
                pytest.fail(f"serve printed no URL within {deadline_s} s: {seen} {self.stderr()}")
            try:
                line = self.stdout_lines.get(timeout=remaining)
            except queue.Empty:
                continue
            if line == "" and self.process is not None and self.process.poll() is not None:
                pytest.fail(f"serve exited {self.process.returncode}: {seen} {self.stderr()}")
            seen.append(line)
            if line.startswith("edoc-axis listening on "):
                return line.removeprefix("edoc-axis listening on ").strip()

    def _await_health(self, deadline_s: float) -> None:
        def healthy() -> bool:
            try:
                status, _, _ = http_request(
                    self.url, "GET", "/healthz", timeout=2.0, cafile=self.cafile
                )
            except OSError:
                return False
            return status == 200

        try:
            eventually_sync(healthy, deadline_s, f"{self.url}/healthz", poll_s=0.02)
        except AssertionError:
            pytest.fail(f"{self.url}/healthz not answering: {self.stderr()}")

    def stderr(self) -> str:
        path = self.log_dir / f"serve-{self._starts}.stderr.log"
        return path.read_text("utf-8", "replace")[-4000:] if path.exists() else ""

    def stop(self, timeout: float = STOP_DEADLINE_S) -> int:
        """SIGTERM and wait; SIGKILL if it does not stop in time. Returns the exit code."""
        process = self.process
        if process is None:
            return 0
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
                pytest.fail(f"serve did not stop on SIGTERM within {timeout} s")
        self._close_pipes()
        return int(process.returncode)

    def kill(self) -> None:
        """SIGKILL: the crash case."""
        if self.process is not None:
            _kill(self.process)
            self._close_pipes()

    def _close_pipes(self) -> None:
        if self._reader is not None:
            self._reader.join(timeout=STOP_DEADLINE_S)
        if self.process is not None and self.process.stdout is not None:
            self.process.stdout.close()


def http_request(
    base_url: str,
    method: str,
    path: str,
    *,
    body: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    timeout: float = 30.0,
    cafile: Path | None = None,
) -> tuple[int, dict[str, str], bytes]:
    """One HTTP(S) request on a fresh connection; OSError when the axis is gone."""
    parts = urllib.parse.urlsplit(base_url)
    connection: http.client.HTTPConnection
    if parts.scheme == "https":
        context = ssl.create_default_context(cafile=None if cafile is None else str(cafile))
        connection = http.client.HTTPSConnection(
            parts.hostname, parts.port, timeout=timeout, context=context
        )
    else:
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=timeout)
    try:
        connection.request(method, path, body=body, headers=dict(headers or {}))
        response = connection.getresponse()
        data = response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, data
    except http.client.HTTPException as exc:  # a half-answered request is a cut-off one
        raise ConnectionError(str(exc)) from exc
    finally:
        connection.close()


# --- an axis home ------------------------------------------------------------------------


@dataclass
class Agency:
    code: str
    key: Path
    cert: Path
    token: str


@dataclass
class AxisHome:
    root: Path
    work: Path
    agencies: dict[str, Agency] = field(default_factory=dict)

    @property
    def config(self) -> Path:
        return self.root / "axis.toml"

    @property
    def ca_cert(self) -> Path:
        return self.root / "pki" / "ca.cert.pem"

    @property
    def axis_cert(self) -> Path:
        return self.root / "pki" / "axis.cert.pem"

    @property
    def operator_token(self) -> str:
        return (self.root / "operator.token").read_text("utf-8").strip()

    def axis(self, *args: str | Path, **kwargs: Any) -> CliResult:
        """``edoc-axis ARGS --config HOME/axis.toml``."""
        return run_cli("edoc-axis", *args, "--config", self.config, **kwargs)

    def issue(self, code: str, out: str, key_type: str = "rsa") -> tuple[Path, Path]:
        target = self.work / out
        self.axis("pki", "issue", code, "--out", target, "--key-type", key_type).ok()
        return target / "key.pem", target / "cert.pem"

    def register(self, code: str, name: str) -> Agency:
        """``pki issue`` + ``agency add --pull --json``: an agency with key, cert and token."""
        return self.register_many({code: name})[0]

    def register_many(self, names: Mapping[str, str]) -> list[Agency]:
        """Several agencies: certificates issued in parallel, registered one by one."""
        folders = {code: self.work / code.replace(".", "_") for code in names}
        issued = run_many(
            [
                ("edoc-axis", ("pki", "issue", code, "--out", out, "--config", self.config))
                for code, out in folders.items()
            ]
        )
        for result in issued:
            result.ok()
        agencies = []
        for code, name in names.items():
            cert = folders[code] / "cert.pem"
            added = self.axis("agency", "add", code, "--name", name, "--cert", cert, "--pull",
                              "--json").ok()  # fmt: skip
            agency = Agency(code, folders[code] / "key.pem", cert, added.json()["token"])
            self.agencies[code] = agency
            agencies.append(agency)
        return agencies


def init_home(work: Path, name: str = "home") -> AxisHome:
    work.mkdir(parents=True, exist_ok=True)
    run_cli("edoc-axis", "init", work / name, "--port", "0").ok()
    return AxisHome(root=work / name, work=work)


@pytest.fixture(scope="module")
def axis_home(tmp_path_factory: pytest.TempPathFactory) -> AxisHome:
    """An initialised home with G22 and H49 registered as pull agencies (via the CLI)."""
    home = init_home(tmp_path_factory.mktemp("axis-home"))
    home.register_many({G22: "Văn phòng Chính phủ", H49: "UBND tỉnh Hòa Bình"})
    return home


@pytest.fixture(scope="module")
def axis(axis_home: AxisHome) -> Iterator[AxisServer]:
    """The module's running axis on ``axis_home``."""
    server = AxisServer(axis_home.config, axis_home.work)
    server.start()
    yield server
    server.stop()


# --- documents ---------------------------------------------------------------------------

_SERIAL = iter(range(1, 10**9))
_SERIAL_LOCK = threading.Lock()


def next_number() -> str:
    """A code number no other document of this test session has."""
    with _SERIAL_LOCK:
        return f"{os.getpid()}{next(_SERIAL):05d}"


def signed_document(
    agency: Agency,
    *,
    to: tuple[str, ...] = (H49,),
    subject: str = "V/v kết nối, liên thông phần mềm quản lý văn bản",
    code_number: str | None = None,
    attachment: bytes = b"%PDF-1.4 acceptance test\n",
) -> bytes:
    """A signed document package built in-process with the agency's key (not under test)."""
    from edoc_axis.core.compose import new_document
    from edoc_axis.edxml import Attachment, build_document
    from edoc_axis.pki import load_certs, load_key
    from edoc_axis.signature import sign_package

    at = (datetime.now(UTC) + timedelta(hours=7)).replace(tzinfo=None)
    package = new_document(
        sender=agency.code,
        recipients=list(to),
        subject=subject,
        at=at,
        code_number=code_number or next_number(),
        code_notation="KT-NT",
        attachments=[Attachment.from_bytes("cid:1", "cong_van.pdf", attachment)],
    )
    return sign_package(build_document(package), load_key(agency.key), load_certs(agency.cert)[0])


# --- many commands at once ---------------------------------------------------------------


def run_many(calls: list[tuple[str, tuple[str | Path, ...]]], workers: int = 4) -> list[CliResult]:
    """Run independent CLI calls in parallel (process start dominates); results in order."""
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(lambda call: run_cli(call[0], *call[1]), calls))


def subcommand_paths(parser: Any, prefix: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every subcommand path of an argparse parser: groups and leaves, depth first."""
    import argparse

    paths: list[tuple[str, ...]] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                paths.append((*prefix, name))
                paths.extend(subcommand_paths(sub, (*prefix, name)))
    return paths


def help_text(main: Any, path: tuple[str, ...], capsys: pytest.CaptureFixture[str]) -> str:
    """``TOOL PATH... --help`` in-process (the parser is what is under test): exit 0, the text.

    The real console scripts are exercised by every other test; running a
    process per subcommand only to print help would cost most of the time budget.
    """
    capsys.readouterr()
    with pytest.raises(SystemExit) as exited:
        main([*path, "--help"])
    captured = capsys.readouterr()
    assert exited.value.code in (0, None), f"{' '.join(path)} --help exited {exited.value.code}"
    assert captured.err == ""
    return captured.out.lower()
