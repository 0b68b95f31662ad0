"""`edoc statuses` (in-process, against a real axis): the feed from a saved cursor.

The command runs in a worker thread (it has its own event loop) against the
axis fixture's HTTP server; every status sent is signed by its agency.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from edoc_axis.cli.edoc import main
from tests.integration.server.conftest import AgencyKit, RunningAxis
from tests.integration.server.test_business_flows import signed_status
from tests.integration.server.test_lifecycle import post_status

A, B = "000.00.00.G22", "000.00.00.H49"


async def _edoc(
    capsys: pytest.CaptureFixture[str], axis: RunningAxis, kit: AgencyKit, *args: str
) -> tuple[int, str, str]:
    capsys.readouterr()
    code = await asyncio.to_thread(
        main, ["statuses", *args, "--axis", axis.url, "--token", kit.token]
    )
    out, err = capsys.readouterr()
    return code, out, err


async def _answer(axis: RunningAxis, kit: AgencyKit, document_id: str, to: str, code: str) -> None:
    response = await post_status(axis, kit, signed_status(kit, document_id, to, code))
    assert response.status == 202, response.body


async def test_statuses_keeps_its_place_in_a_cursor_file(
    axis: RunningAxis, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = await axis.register(A), await axis.register(B)
    await axis.submit(axis.signed(a, [B], document_id="G22-FEED"), a)
    cursor_file = tmp_path / "state" / "statuses.cursor"
    keep = ("--cursor-file", str(cursor_file))

    assert (await _edoc(capsys, axis, a, *keep))[:2] == (0, "no statuses\n")
    await _answer(axis, b, "G22-FEED", A, "03")
    await _answer(axis, b, "G22-FEED", A, "04")
    code, out, _ = await _edoc(capsys, axis, a, *keep, "--json", "--limit", "1")
    assert code == 0
    listed = json.loads(out)
    assert [(s["status_code"], s["from"]) for s in listed["items"]] == [("03", B), ("04", B)]
    assert cursor_file.read_text().strip() == listed["cursor"]

    assert (await _edoc(capsys, axis, a, *keep))[:2] == (0, "no new statuses\n")
    await _answer(axis, b, "G22-FEED", A, "06")
    code, out, _ = await _edoc(capsys, axis, a, *keep)
    [line] = out.splitlines()
    assert "06" in line and "G22-FEED" in line and f"from {B}" in line

    # Without a cursor file: the whole feed, and the cursor to continue from on stderr.
    code, out, err = await _edoc(capsys, axis, a)
    assert code == 0 and len(out.splitlines()) == 3
    since = err.split("--since ")[1].strip()
    assert (await _edoc(capsys, axis, a, "--since", since))[1] == "no new statuses\n"


async def test_statuses_shows_a_recall_to_the_recipient_and_refuses_a_bad_cursor(
    axis: RunningAxis, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = await axis.register(A), await axis.register(B)
    await axis.submit(axis.signed(a, [B], document_id="G22-RECALL"), a)
    await _answer(axis, a, "G22-RECALL", B, "13")
    code, out, _ = await _edoc(capsys, axis, b, "--json")
    [recall] = json.loads(out)["items"]
    assert (recall["status_code"], recall["from"], recall["recall_round"]) == ("13", A, 1)
    code, out, _ = await _edoc(capsys, axis, b)
    assert "13" in out and "(round 1)" in out

    bad = tmp_path / "bad.cursor"
    bad.write_text("not-a-cursor\n")
    code, out, err = await _edoc(capsys, axis, b, "--cursor-file", str(bad))
    assert code == 1
    assert err.startswith("request.invalid: ") and str(bad) in err and "start over" in err
    code, _, err = await _edoc(capsys, axis, b, "--since", " ")
    assert code == 2 and "--since needs a cursor" in err


async def test_trace_prints_each_recipients_recall_rounds(
    axis: RunningAxis, capsys: pytest.CaptureFixture[str]
) -> None:
    a, b = await axis.register(A), await axis.register(B)
    axis_id = (await axis.submit(axis.signed(a, [B], document_id="G22-ROUNDS"), a)).headers[
        "Edoc-Axis-Id"
    ]
    for who, to, code in ((a, B, "13"), (b, A, "16"), (a, B, "13")):
        await _answer(axis, who, "G22-ROUNDS", to, code)
    capsys.readouterr()
    code = await asyncio.to_thread(main, ["trace", axis_id, "--axis", axis.url, "--token", a.token])
    out = capsys.readouterr().out
    assert code == 0
    assert "  recall round 1: asked by 13; answered 16" in out.splitlines()
    assert "  recall round 2: asked by 13; waiting for 15 or 16" in out.splitlines()
