"""`edoc-axis` operator commands against a running axis over its operator
API: a separate process, a temporary HOME and working directory, no
configuration and no path to the axis's files."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

from edoc_axis.pki import cert_to_pem
from tests.integration.server.conftest import RunningAxis
from tests.integration.server.test_operator_api import _dead_letter

G22, H49 = "000.00.00.G22", "000.00.00.H49"


async def _cli(
    tmp: Path, axis: RunningAxis, *argv: str, token: bool = True
) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDOC_")}
    env["HOME"] = str(tmp)
    env["EDOC_AXIS_URL"] = axis.url
    if token:
        env["EDOC_OPERATOR_TOKEN"] = axis.operator_token
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "edoc_axis.cli.axis",
        *argv,
        cwd=tmp,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_operator_commands_over_the_api(axis: RunningAxis, tmp_path: Path) -> None:
    work = tmp_path / "elsewhere"
    work.mkdir()
    sender = await axis.register(G22)
    await axis.register(H49, mode="push", endpoint="https://h49.example.test/edoc")
    first = await _dead_letter(axis, sender, H49)
    second = await _dead_letter(axis, sender, H49)

    rc, out, err = await _cli(work, axis, "deadletter", "list", "--json")
    assert rc == 0, err
    assert [d["id"] for d in json.loads(out)] == [first, second]
    rc, out, _ = await _cli(work, axis, "deadletter", "list", "--agency", G22, "--json")
    assert json.loads(out) == []
    rc, out, _ = await _cli(work, axis, "deadletter", "show", str(first))
    assert json.loads(out)["sender"] == G22
    rc, out, _ = await _cli(work, axis, "deadletter", "retry", str(first))
    assert rc == 0 and "queued again (pending)" in out
    rc, _, err = await _cli(work, axis, "deadletter", "retry", str(first))
    assert rc == 1 and err.startswith("not-found:")
    rc, out, _ = await _cli(work, axis, "deadletter", "discard", str(second), "999999")
    assert rc == 1 and "discarded" in out and "not-found" in out

    rc, out, _ = await _cli(work, axis, "stats", "--json")
    stats = json.loads(out)
    assert next(a for a in stats["agencies"] if a["agency"] == G22)["window"]["accepted"] == 2

    extra = axis.issue(G22, key_type="ec")
    (work / "extra.pem").write_bytes(cert_to_pem(extra.cert))
    rc, out, err = await _cli(work, axis, "agency", "cert", "add", G22, "extra.pem")
    assert rc == 0 and "2 certificates" in out, err
    rc, out, _ = await _cli(work, axis, "agency", "cert", "list", G22, "--json")
    certs = json.loads(out)["certificates"]
    assert len(certs) == 2 and all(c["expires_in_days"] > 30 for c in certs)
    rc, out, _ = await _cli(work, axis, "agency", "cert", "remove", G22, certs[1]["fingerprint"])
    assert rc == 0 and "1 certificates" in out
    rc, out, _ = await _cli(work, axis, "agency", "search", "g22", "--json")
    assert [a["code"] for a in json.loads(out)["items"]] == [G22]

    rc, out, _ = await _cli(work, axis, "agency", "list", "--json")
    assert [a["code"] for a in json.loads(out)] == [G22, H49]
    rc, out, _ = await _cli(work, axis, "agency", "disable", H49)
    assert rc == 0 and "disabled" in out
    rc, out, _ = await _cli(work, axis, "agency", "show", H49, "--json")
    assert json.loads(out)["state"] == "disabled"
    rc, out, _ = await _cli(work, axis, "agency", "enable", H49)
    assert rc == 0

    rc, out, _ = await _cli(work, axis, "audit", "head", "--json")
    head = json.loads(out)
    rc, out, _ = await _cli(work, axis, "audit", "export")
    (work / "audit.jsonl").write_text(out, encoding="utf-8")
    # The re-queued delivery keeps failing in the background and appending to the chain,
    # so the export may run past the head read a moment before; at the head's seq it holds
    # the head's hash.
    exported = [json.loads(line) for line in out.splitlines()]
    assert len(exported) >= head["seq"]
    assert exported[head["seq"] - 1]["seq"] == head["seq"]
    assert exported[head["seq"] - 1]["hash"] == head["hash"]
    rc, out, _ = await _cli(work, axis, "audit", "verify", "--file", "audit.jsonl", "--json")
    assert rc == 0 and json.loads(out)["entries"] == len(exported)
    rc, out, _ = await _cli(work, axis, "audit", "verify", "--json")
    assert rc == 0 and json.loads(out)["scope"] == "chain"

    actors = {
        (e.detail["action"], e.detail["actor"])
        async for e in axis.store.iter_audit()
        if e.event == "operator.action"
    }
    assert ("deadletter.retry", "operator") in actors
    assert (f"POST /admin/v1/agencies/{G22}/certificates", "operator") in actors
    assert (f"POST /admin/v1/agencies/{H49}/disable", "operator") in actors

    rc, _, err = await _cli(work, axis, "deadletter", "list", token=False)
    assert rc == 2 and "--operator-token" in err
    assert sorted(p.name for p in work.iterdir()) == ["audit.jsonl", "extra.pem"]
