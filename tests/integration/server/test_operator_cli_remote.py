"""`edoc-axis` operator commands against a running axis over its operator
API: a separate process, a temporary HOME and working directory, no
configuration and no path to the axis's files."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from pathlib import Path

from edoc_axis.cli.axis import build_parser
from edoc_axis.pki import cert_to_pem
from edoc_axis.service.registry import hash_token
from tests.integration.server.conftest import RunningAxis
from tests.integration.server.test_operator_api import _dead_letter
from tests.ports import free_port

G22, H49 = "000.00.00.G22", "000.00.00.H49"
A01, A02, A03, A04 = (f"000.00.00.A0{n}" for n in range(1, 5))
T01 = "000.00.00.T01"
# Commands that are not operator commands on an axis's store: they make or run
# an axis, or their --axis names the axis under test.
_NOT_OPERATOR = {"init", "serve", "demo", "conformance", "bench"}


async def _cli(
    tmp: Path, axis: RunningAxis, *argv: str, token: bool = True, url: str | None = None
) -> tuple[int, str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDOC_")}
    env["HOME"] = str(tmp)
    env["EDOC_AXIS_URL"] = url or axis.url
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


def _leaves(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    found: list[tuple[str, ...]] = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                found += _leaves(child, (*path, name))
    if not found and path:
        found.append(path)
    return found


def _command(path: tuple[str, ...]) -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = build_parser()
    for name in path:
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parser = sub.choices[name]
    return parser


def test_every_operator_command_takes_axis_and_the_local_ones_refuse_it() -> None:
    commands = [p for p in _leaves(build_parser()) if p[0] not in _NOT_OPERATOR]
    assert ("agency", "import") in commands and ("system", "rotate") in commands
    local = []
    for path in commands:
        parser = _command(path)
        flags = {flag for action in parser._actions for flag in action.option_strings}
        assert {"--axis", "--config"} <= flags, path
        if parser.get_default("local_only"):
            local.append(" ".join(path))
    assert sorted(local) == ["migrate", "pki issue", "store copy"]


async def test_registry_and_system_commands_over_the_api(axis: RunningAxis, tmp_path: Path) -> None:
    work = tmp_path / "elsewhere"
    work.mkdir()
    await axis.register(G22)
    for code in (A01, A02, A03, A04):
        (work / f"{code[-3:].lower()}.pem").write_bytes(cert_to_pem(axis.issue(code).cert))

    # agency add, pull and push, with an alias
    rc, out, err = await _cli(
        work, axis, "agency", "add", A01, "--name", "Bộ Một", "--cert", "a01.pem", "--pull",
        "--json",
    )  # fmt: skip
    assert rc == 0, err
    first_token = json.loads(out)["token"]
    assert (await axis.store.agency_for_token(hash_token(first_token))).code == A01  # type: ignore[union-attr]
    rc, out, err = await _cli(
        work, axis, "agency", "add", A02, "--name", "Bộ Hai", "--cert", "a02.pem",
        "--endpoint", "https://a02.example.test/edoc", "--alias", "A02",
    )  # fmt: skip
    assert rc == 0 and "push delivery" in out and "API token (shown once): edoc_" in out, err
    a02 = await axis.store.get_agency("A02")
    assert a02 is not None and a02.endpoint_url == "https://a02.example.test/edoc"
    rc, _, err = await _cli(
        work, axis, "agency", "add", A03, "--name", "x", "--cert", "a01.pem", "--pull"
    )
    assert rc == 1 and err.startswith("agency.exists:"), err

    # rotate-token: the old token stops working, the new one works
    rc, out, err = await _cli(work, axis, "agency", "rotate-token", A01, "--json")
    assert rc == 0, err
    rotated = json.loads(out)
    assert rotated["code"] == A01 and rotated["token"] != first_token
    assert await axis.store.agency_for_token(hash_token(first_token)) is None
    assert await axis.store.agency_for_token(hash_token(rotated["token"])) is not None

    # import: every line reported, good ones registered, the exit says which failed
    (work / "agencies.csv").write_text(
        "code,name,aliases,mode,endpoint,cert\n"
        f"{A03},Bộ Ba,A03;LEGACY.A03,pull,,a03.pem\n"
        "000.00.00.A05,Bộ Năm,,pull,,missing.pem\n"
        f"{A01},Bộ Một lần nữa,,pull,,a04.pem\n"
        f"{A04},Bộ Bốn,,push,https://a04.example.test/edoc,a04.pem\n",
        encoding="utf-8",
    )
    rc, out, err = await _cli(work, axis, "agency", "import", "agencies.csv", "--json")
    assert rc == 1 and "import.failed" in err and "3, 4" in err, err
    rows = {r["line"]: r for r in json.loads(out)}
    assert set(rows) == {2, 3, 4, 5}
    assert rows[2]["token"].startswith("edoc_") and rows[5]["token"].startswith("edoc_")
    assert "missing.pem" in rows[3]["error"] and rows[4]["error"].startswith("agency.exists")
    a03 = await axis.store.get_agency("LEGACY.A03")
    assert a03 is not None and a03.code == A03
    assert await axis.store.get_agency("000.00.00.A05") is None

    # a long file shows progress; an axis that goes away stops the import, saying where
    (work / "long.csv").write_text(
        "code,name,aliases,mode,endpoint,cert\n"
        + "".join(f"000.00.00.B{n:02d},B,,pull,,none.pem\n" for n in range(1, 100))
        + f"000.00.00.C01,C,,pull,,a01.pem\n{A02},x,,pull,,a01.pem\n",
        encoding="utf-8",
    )
    gone = f"http://127.0.0.1:{free_port()}"
    rc, out, err = await _cli(work, axis, "agency", "import", "long.csv", "--json", url=gone)
    assert rc == 1, err
    assert len(json.loads(out)) == 99  # the lines before the first call to the axis
    assert "agency import: " not in err  # 99 rows: no progress line yet
    assert "import.stopped: import stopped at CSV line 101" in err
    assert "lines 102..102 were not attempted" in err
    rc, out, err = await _cli(work, axis, "agency", "import", "long.csv")
    assert rc == 1 and "agency import: 100 of 101 rows" in err, err

    # remove: a test agency goes, a real one stays
    created = await axis.call(
        "POST",
        "/admin/v1/agencies",
        token=axis.operator_token,
        json_body={"code": T01, "name": "Test", "test": True},
    )
    assert created.status == 201, created.body
    rc, out, err = await _cli(work, axis, "agency", "remove", T01)
    assert rc == 0 and f"removed test agency {T01}" in out, err
    assert await axis.store.get_agency(T01) is None
    rc, _, err = await _cli(work, axis, "agency", "remove", G22)
    assert rc == 1 and err.startswith("agency.not-removable:"), err

    # VDXP systems
    rc, out, err = await _cli(
        work, axis, "system", "add", "vxp.saas.03", "--agency", G22, "--agency", A01, "--json"
    )
    assert rc == 0, err
    added = json.loads(out)
    assert added["agencies"] == [G22, A01] and added["secret"]
    rc, out, err = await _cli(work, axis, "system", "rotate", "vxp.saas.03")
    assert rc == 0 and "secret (shown once): " in out and added["secret"] not in out, err
    rc, out, _ = await _cli(work, axis, "system", "disable", "vxp.saas.03")
    assert rc == 0 and "is disabled" in out
    rc, out, _ = await _cli(work, axis, "system", "list", "--json")
    assert [(s["system_id"], s["state"]) for s in json.loads(out)] == [("vxp.saas.03", "disabled")]
    rc, out, _ = await _cli(work, axis, "system", "enable", "vxp.saas.03")
    assert rc == 0 and "is active" in out
    rc, out, _ = await _cli(work, axis, "system", "list")
    assert "vxp.saas.03" in out and "active" in out
    rc, _, err = await _cli(work, axis, "system", "rotate", "nobody")
    assert rc == 1 and err.startswith("not-found:"), err

    # named operators
    rc, out, err = await _cli(work, axis, "operator", "add", "kim", "--json")
    assert rc == 0 and json.loads(out)["token"].startswith("op_"), err
    rc, out, _ = await _cli(work, axis, "operator", "list")
    assert "kim" in out
    rc, out, err = await _cli(work, axis, "operator", "remove", "kim")
    assert rc == 0 and "removed operator kim" in out, err
    assert await axis.store.list_operators() == []

    # what only the axis host can do refuses --axis; --axis with --config is refused
    rc, _, err = await _cli(work, axis, "pki", "issue", A03, "--out", "x", "--axis", axis.url)
    assert rc == 2 and err.startswith("error: needs --config: "), err
    rc, _, err = await _cli(work, axis, "migrate")
    assert rc == 2 and "needs --config" in err, err
    rc, _, err = await _cli(
        work, axis, "agency", "list", "--axis", axis.url, "--config", "axis.toml"
    )
    assert rc == 2 and "not both" in err, err

    actions = {
        e.detail["action"] async for e in axis.store.iter_audit() if e.event == "operator.action"
    }
    assert {
        "POST /admin/v1/agencies",
        f"POST /admin/v1/agencies/{A01}/rotate-token",
        f"DELETE /admin/v1/agencies/{T01}",
        "POST /admin/v1/systems",
        "POST /admin/v1/systems/vxp.saas.03/rotate",
        "POST /admin/v1/operators",
        "DELETE /admin/v1/operators/kim",
    } <= actions
    assert sorted(p.name for p in work.iterdir()) == sorted(
        ["a01.pem", "a02.pem", "a03.pem", "a04.pem", "agencies.csv", "long.csv"]
    )


async def _cli_bare(home: Path, *argv: str) -> tuple[int, str, str]:
    """The CLI with no EDOC_* variable at all: only HOME (and its profile) to go on."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("EDOC_")}
    env["HOME"] = str(home)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "edoc_axis.cli.axis", *argv, cwd=home, env=env,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


async def test_the_operator_profile_names_the_axis_and_the_token(
    axis: RunningAxis, tmp_path: Path
) -> None:
    await axis.register(G22)
    profile = tmp_path / ".config" / "edoc-axis" / "profile.toml"
    profile.parent.mkdir(parents=True)
    profile.write_text(
        f'axis = "{axis.url}"\noperator_token = "{axis.operator_token}"\n', encoding="utf-8"
    )
    rc, out, err = await _cli_bare(tmp_path, "agency", "list", "--json")
    assert rc == 0, err
    assert [a["code"] for a in json.loads(out)] == [G22]

    profile.write_text(f'axis = "{axis.url}"\noperator_token = "op_wrong"\n', encoding="utf-8")
    rc, _, err = await _cli_bare(tmp_path, "agency", "list")
    assert rc == 1 and "auth.required" in err, err  # the profile's token was the one sent

    profile.write_text("axis = [not toml\n", encoding="utf-8")
    rc, _, err = await _cli_bare(tmp_path, "agency", "list")
    assert rc == 2 and f"profile {profile}" in err, err
