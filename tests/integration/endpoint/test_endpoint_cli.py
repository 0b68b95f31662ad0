"""`edoc endpoint`: help, flag checks, serving in-process, and a clean stop on SIGTERM."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

from edoc_axis.cli import edoc_endpoint
from edoc_axis.cli.common import EXIT_OK, EXIT_USAGE, HelpFormatter, run_command
from edoc_axis.pki import Issued, cert_to_pem, issue_server_certificate, save_issued
from edoc_axis.tls import client_context
from tests.integration.endpoint import AXIS_ID, signed_delivery
from tests.waiting import eventually

ROOT = Path(__file__).resolve().parents[3]


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="edoc", formatter_class=HelpFormatter)
    edoc_endpoint.add_commands(top.add_subparsers(dest="command", required=True))
    return top


@pytest.fixture
def axis_pem(tmp_path: Path, axis_signer: Issued) -> Path:
    path = tmp_path / "axis.cert.pem"
    path.write_bytes(cert_to_pem(axis_signer.cert))
    return path


def test_help_exits_0_and_shows_an_example(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        parser().parse_args(["endpoint", "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "--axis-cert PEM" in out
    assert "example:\n  edoc endpoint --listen" in out


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--listen", "nonsense"], "--listen wants HOST:PORT"),
        (["--listen", "127.0.0.1:99999"], "--listen wants HOST:PORT"),
        (["--crl", "ca.crl.pem"], "--crl needs --ca"),
    ],
)
def test_bad_flags_are_usage_errors(
    tmp_path: Path,
    axis_pem: Path,
    extra: list[str],
    message: str,
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = parser().parse_args(
        ["endpoint", "--out", str(tmp_path / "in"), "--axis-cert", str(axis_pem), *extra]
    )
    assert run_command(args.func, args) == EXIT_USAGE
    assert message in capsys.readouterr().err


def test_a_file_without_certificate_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty.pem"
    empty.write_text("no certificate here\n")
    args = parser().parse_args(["endpoint", "--out", str(tmp_path), "--axis-cert", str(empty)])
    assert run_command(args.func, args) == EXIT_USAGE
    assert capsys.readouterr().err.startswith("error: ")


def _announced(capsys: pytest.CaptureFixture[str], scheme: str) -> str | None:
    """The URL from the endpoint's "listening on" line, once it was printed."""
    for line in capsys.readouterr().out.splitlines():
        if line.startswith(f"edoc endpoint listening on {scheme}://127.0.0.1:"):
            return line.rsplit(" ", 1)[1]
    return None


async def test_serves_what_the_flags_say_until_stopped(
    tmp_path: Path,
    axis_pem: Path,
    dev_ca_pem_file: Path,
    dev_crl_pem_file: Path,
    signed_package: bytes,
    axis_signer: Issued,
    capsys: pytest.CaptureFixture[str],
) -> None:
    args = parser().parse_args(
        ["endpoint", "--listen", "127.0.0.1:0", "--out", str(tmp_path / "in"),
         "--axis-cert", str(axis_pem), "--ca", str(dev_ca_pem_file),
         "--crl", str(dev_crl_pem_file)]
    )  # fmt: skip
    stop = asyncio.Event()
    serving = asyncio.create_task(edoc_endpoint.serve(edoc_endpoint.options_from(args), stop))
    url = await eventually(
        lambda: _announced(capsys, "http"), 5, "the endpoint to say where it listens"
    )
    assert not url.endswith(":0")
    async with aiohttp.ClientSession() as session:
        async with session.get(f"{url}/healthz") as health:
            assert health.status == 200
        headers = signed_delivery(signed_package, axis_signer)
        async with session.post(f"{url}/", data=signed_package, headers=headers) as response:
            assert response.status == 201
    stop.set()
    assert await serving == EXIT_OK
    assert (tmp_path / "in" / "documents" / f"{AXIS_ID}.xml").read_bytes() == signed_package


def test_sigterm_stops_it_cleanly(tmp_path: Path, axis_pem: Path) -> None:
    script = (
        "import argparse, sys\n"
        "from edoc_axis.cli import edoc_endpoint\n"
        "from edoc_axis.cli.common import run_command\n"
        "top = argparse.ArgumentParser(prog='edoc')\n"
        "edoc_endpoint.add_commands(top.add_subparsers(dest='command', required=True))\n"
        "args = top.parse_args(sys.argv[1:])\n"
        "sys.exit(run_command(args.func, args))\n"
    )
    command = [sys.executable, "-c", script, "endpoint", "--listen", "127.0.0.1:0",
               "--out", str(tmp_path / "in"), "--axis-cert", str(axis_pem)]  # fmt: skip
    with subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as process:
        assert process.stdout is not None
        first = process.stdout.readline()  # blocks until it listens (pytest-timeout guards)
        assert first.startswith("edoc endpoint listening on http://127.0.0.1:")
        os.kill(process.pid, signal.SIGTERM)
        out, err = process.communicate(timeout=10)
    assert process.returncode == 0, err
    assert "edoc endpoint stopped" in out


async def test_serves_https_with_tls_cert_and_key(
    tmp_path: Path,
    axis_pem: Path,
    dev_ca: Issued,
    dev_ca_pem_file: Path,
    signed_package: bytes,
    axis_signer: Issued,
    capsys: pytest.CaptureFixture[str],
) -> None:
    save_issued(issue_server_certificate(dev_ca), tmp_path / "tls.key", tmp_path / "tls.pem")
    args = parser().parse_args(
        ["endpoint", "--listen", "127.0.0.1:0", "--out", str(tmp_path / "in"),
         "--axis-cert", str(axis_pem), "--tls-cert", str(tmp_path / "tls.pem"),
         "--tls-key", str(tmp_path / "tls.key")]
    )  # fmt: skip
    stop = asyncio.Event()
    serving = asyncio.create_task(edoc_endpoint.serve(edoc_endpoint.options_from(args), stop))
    url = await eventually(
        lambda: _announced(capsys, "https"), 10, "the endpoint to say where it listens"
    )
    trusting = aiohttp.TCPConnector(ssl=client_context(dev_ca_pem_file))
    async with aiohttp.ClientSession(connector=trusting) as session:
        headers = signed_delivery(signed_package, axis_signer)
        async with session.post(f"{url}/", data=signed_package, headers=headers) as response:
            assert response.status == 201
    async with aiohttp.ClientSession() as session:  # the system CAs do not know the dev CA
        with pytest.raises(aiohttp.ClientConnectorCertificateError):
            await session.get(f"{url}/healthz")
    stop.set()
    assert await serving == EXIT_OK


def test_tls_cert_without_key_is_a_usage_error(
    tmp_path: Path, axis_pem: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    args = parser().parse_args(
        ["endpoint", "--out", str(tmp_path), "--axis-cert", str(axis_pem),
         "--tls-cert", str(axis_pem)]
    )  # fmt: skip
    assert run_command(args.func, args) == EXIT_USAGE
    assert "--tls-cert and --tls-key go together" in capsys.readouterr().err
