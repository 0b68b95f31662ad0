"""`edoc-axis conformance` as a subprocess against `edoc-axis serve`: exit codes and JUnit."""

from __future__ import annotations

import asyncio
import json
import os
import queue
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from lxml import etree

from edoc_axis.config import load_config
from edoc_axis.conformance import AgencyCreds, set_up
from edoc_axis.pki import cert_to_pem, key_to_pem
from tests.conformance import small_limit_home
from tests.ports import free_port

EDOC_AXIS = Path(sys.executable).parent / "edoc-axis"
START_DEADLINE_S = 20.0
RUN_TIMEOUT_S = 90.0


def _env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("EDOC_")}


def _conformance(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(EDOC_AXIS), "conformance", *args],
        capture_output=True,
        text=True,
        timeout=RUN_TIMEOUT_S,
        env={**_env(), **(env or {})},
        check=False,
    )


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """`edoc-axis serve --port 0` on a fresh home; its URL and config path."""
    config = small_limit_home(tmp_path / "home")
    process = subprocess.Popen(
        [str(EDOC_AXIS), "serve", "--config", str(config), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=_env(),
    )
    lines: queue.Queue[str] = queue.Queue()
    assert process.stdout is not None
    stdout = process.stdout
    reader = threading.Thread(target=lambda: [lines.put(line) for line in stdout], daemon=True)
    reader.start()
    try:
        while True:
            line = lines.get(timeout=START_DEADLINE_S)
            found = re.search(r"listening on (http://\S+)", line)
            if found:
                break
        yield found.group(1), config
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=15)
        reader.join(timeout=15)
        stdout.close()


def test_setup_run_passes_and_writes_junit(served: tuple[str, Path], tmp_path: Path) -> None:
    url, config = served
    junit = tmp_path / "out.xml"
    args = ("--axis", url, "--config", str(config), "--setup", "--junit", str(junit))
    result = _conformance(*args)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr
    lines = result.stdout.splitlines()
    total = sum(1 for line in lines if line.startswith("PASS "))
    assert f"{total} passed, 0 failed, 0 skipped" in lines
    suite = etree.parse(str(junit)).getroot()
    assert suite.tag == "testsuite"
    assert len(suite.findall("testcase")) == total >= 60
    assert suite.get("failures") == "0" and suite.get("skipped") == "0"
    # The suite ran as a peer axis too (FED-*), and those passed with the rest.
    assert len(suite.findall("testcase[@classname='conformance.FED']")) == 6
    # The suite's test agencies are gone, with their documents: nothing pending is left;
    # its test peer is disabled.
    assert _agencies(url, config) == []
    assert set(_peers(url, config).values()) == {"disabled"}
    stats = subprocess.run(
        [str(EDOC_AXIS), "stats", "--json", "--config", str(config)],
        capture_output=True, text=True, timeout=RUN_TIMEOUT_S, env=_env(), check=True,
    )  # fmt: skip
    figures = json.loads(stats.stdout)
    assert figures["by_state"] == {} and figures["oldest_pending_age_s"] is None, figures


def _admin_get(url: str, config: Path, path: str) -> Any:
    async def get() -> Any:
        token = load_config(config).operator_token()
        headers = {"Authorization": f"Bearer {token}"}
        async with (
            aiohttp.ClientSession() as session,
            session.get(url + path, headers=headers) as response,
        ):
            return await response.json()

    return asyncio.run(get())


def _agencies(url: str, config: Path) -> list[str]:
    return [str(a["code"]) for a in _admin_get(url, config, "/admin/v1/agencies")["agencies"]]


def _peers(url: str, config: Path) -> dict[str, str]:
    """Each peer axis's name and state."""
    items = _admin_get(url, config, "/admin/v1/peers")["items"]
    return {str(p["name"]): str(p["state"]) for p in items}


def test_cleanup_removes_what_an_interrupted_run_left(
    served: tuple[str, Path], tmp_path: Path
) -> None:
    url, config = served
    target = asyncio.run(set_up(url, load_config(config)))  # a run that never finished
    left = _agencies(url, config)
    # 8 agencies of its own and the 2 its test peer serves (test remote agencies).
    assert set(target.test_agencies) == set(left) and len(left) == 10
    assert target.test_peers and _peers(url, config) == {target.test_peers[0]: "active"}
    result = _conformance("--cleanup", "--axis", url, "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("removed 10 test agencies (")
    assert _agencies(url, config) == []
    assert _peers(url, config) == {target.test_peers[0]: "disabled"}
    again = _conformance("--cleanup", "--axis", url, "--config", str(config))
    assert (again.returncode, again.stdout) == (0, "no test agencies on this axis\n")
    assert _conformance("--cleanup", "--axis", url).returncode == 2  # needs --config


def _write_agency(creds: AgencyCreds, folder: Path) -> tuple[str, str]:
    folder.mkdir(parents=True)
    (folder / "key.pem").write_bytes(key_to_pem(creds.key))
    (folder / "cert.pem").write_bytes(cert_to_pem(creds.cert))
    return str(folder / "key.pem"), str(folder / "cert.pem")


def test_agencies_from_flags_and_the_skip_rule(served: tuple[str, Path], tmp_path: Path) -> None:
    # The operator registered the agencies himself; the suite gets no operator access.
    url, config = served
    target = asyncio.run(set_up(url, load_config(config)))
    sender = target.agencies["sender"]
    key, cert = _write_agency(sender, tmp_path / "sender")
    peers: list[str] = []
    for role in ("recipient", "second"):
        creds = target.agencies[role]
        peer_key, peer_cert = _write_agency(creds, tmp_path / role)
        peers += ["--peer", f"{creds.code},env:TOKEN_{role.upper()},{peer_key},{peer_cert}"]
    env = {"EDOC_TOKEN": sender.token, "TOKEN_RECIPIENT": target.agencies["recipient"].token,
           "TOKEN_SECOND": target.agencies["second"].token}  # fmt: skip
    args = ["--axis", url, "--agency-code", sender.code, "--agency-key", key,
            "--agency-cert", cert, *peers, "--only", "INTAKE-00[12]", "--only", "SIG-02[67]",
            "--json"]  # fmt: skip
    strict = _conformance(*args, env=env)
    data = json.loads(strict.stdout)
    outcomes = {r["id"]: r["outcome"] for r in data["results"]}
    assert outcomes == {"INTAKE-001": "pass", "INTAKE-002": "skip", "SIG-026": "skip",
                        "SIG-027": "skip"}  # fmt: skip
    assert strict.returncode == 1  # a skipped required case is not a pass
    assert _conformance(*args, "--allow-skipped", env=env).returncode == 0


def test_unreachable_axis_exits_3(tmp_path: Path) -> None:
    port = free_port()
    config = small_limit_home(tmp_path / "home")
    result = _conformance("--axis", f"http://127.0.0.1:{port}", "--config", str(config), "--setup")
    assert result.returncode == 3
    assert result.stderr.startswith("unreachable:")


def test_usage_errors_exit_2(tmp_path: Path) -> None:
    assert _conformance().returncode == 2
    missing_peers = _conformance("--axis", "http://127.0.0.1:9", "--only", "SIG-001")
    assert missing_peers.returncode == 2
    assert "missing agencies" in missing_peers.stderr


def test_vdxp_setup_run_passes(served: tuple[str, Path], tmp_path: Path) -> None:
    url, config = served
    junit = tmp_path / "vdxp.xml"
    args = ("--vdxp", "--axis", url, "--config", str(config), "--setup", "--junit", str(junit))
    result = _conformance(*args)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr
    passed = [line for line in result.stdout.splitlines() if re.match(r"PASS +VDXP-", line)]
    assert len(passed) >= 20
    assert f"{len(passed)} passed, 0 failed, 0 skipped" in result.stdout.splitlines()
    # systems given by flags, without operator access: the secret cases still run
    from edoc_axis.conformance.vdxp_context import register_systems

    target = asyncio.run(set_up(url, load_config(config)))
    systems = asyncio.run(register_systems(url, load_config(config).operator_token(), target))
    folders = {role: _write_agency(target.agencies[role], tmp_path / role) for role in systems}
    sender, recipient = target.agencies["sender"], target.agencies["recipient"]
    flags = ["--vdxp", "--axis", url, "--agency-code", sender.code, "--token", sender.token,
             "--agency-key", folders["sender"][0], "--agency-cert", folders["sender"][1],
             "--peer", f"{recipient.code},{recipient.token},{','.join(folders['recipient'])}",
             "--peer", f"{recipient.code},{recipient.token},{','.join(folders['recipient'])}",
             "--vdxp-system", f"{systems['sender'].system_id},env:SENDER_SECRET",
             "--vdxp-system", f"{systems['recipient'].system_id},{systems['recipient'].secret}",
             "--only", "VDXP-01[0-7]", "--json"]  # fmt: skip
    given = _conformance(*flags, env={"SENDER_SECRET": systems["sender"].secret})
    outcomes = {r["id"]: r["outcome"] for r in json.loads(given.stdout)["results"]}
    assert set(outcomes.values()) == {"pass"} and len(outcomes) == 8, given.stdout[-2000:]
