"""`print_trace`: a document's trace on a terminal, relayed hops included, in Vietnam time."""

from __future__ import annotations

from typing import Any

import pytest

from edoc_axis.terminal import print_trace

SHA = "ab" * 32


def _status(code: str, meaning: str, at: str) -> dict[str, Any]:
    return {
        "status_code": code,
        "meaning": meaning,
        "from": "000.00.01.H27",
        "kind": "status",
        "received_at": at,
    }


def _delivery(mode: str, state: str, relay: dict[str, Any] | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "agency": "000.00.01.H27",
        "mode": mode,
        "state": state,
        "queued_at": "2026-11-28T01:00:00+00:00",
        "delivered_at": "2026-11-28T01:00:01+00:00" if mode == "push" else None,
        "acked_at": "2026-11-28T01:00:02+00:00" if mode == "pull" else None,
        "statuses": [_status("03", "accepted and registered", "2026-11-28T01:00:03+00:00")],
        "recall_rounds": [],
    }
    if relay is not None:
        entry["relay"] = relay
    return entry


def _receipt(axis: str, axis_id: str, sha256: str = SHA) -> dict[str, Any]:
    return {
        "verified": True,
        "axis": axis,
        "axis_id": axis_id,
        "sha256": sha256,
        "accepted_at": "2026-11-28T01:00:00.5+00:00",
        "xml": "<Receipt/>",
    }


def _trace(first: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": "doc-1",
        "document_id": "000.00.00.H26,2026/11/28,27/UBND-VP",
        "sender": "000.00.00.H26",
        "subject": "Công văn liên tỉnh",
        "received_at": "2026-11-28T01:00:00+00:00",
        "sha256": SHA,
        "deliveries": [_delivery("push", "delivered", first)],
        "followups": [],
    }


def _part(axis: str, path: list[str], delivery: dict[str, Any]) -> dict[str, Any]:
    return {"axis": axis, "relay_path": path, "deliveries": [delivery], "followups": []}


def test_each_hop_shows_its_axis_its_verified_receipt_and_its_part(
    capsys: pytest.CaptureFixture[str],
) -> None:
    last = _delivery("pull", "acknowledged")
    second = {
        "peer": "LGSP-H27",
        "receipt": _receipt("LGSP-H27", "at-h27"),
        "next": _part("LGSP-H27", ["LGSP-H26", "NGSP"], last),
    }
    first = {
        "peer": "NGSP",
        "receipt": _receipt("NGSP", "at-ngsp"),
        "next": _part("NGSP", ["LGSP-H26"], _delivery("push", "delivered", second)),
    }
    print_trace(_trace(first))
    out = capsys.readouterr().out
    assert "000.00.01.H27 (push to NGSP): delivered" in out
    assert "  hop 1  LGSP-H26 → NGSP\n" in out
    assert (
        "receipt signed by NGSP, verified: accepted 2026-11-28 08:00:00 as at-ngsp, "
        "the sender's exact bytes"
    ) in out
    assert "at NGSP 000.00.01.H27 (push to LGSP-H27): delivered" in out
    assert "  hop 2  NGSP → LGSP-H27\n" in out
    assert "at LGSP-H27 000.00.01.H27 (pull): acknowledged" in out
    # Each axis's events, in Vietnam time (UTC+7), indented under its hop.
    assert "            2026-11-28 08:00:02  acknowledged" in out
    assert out.count("status 03 accepted and registered") == 3
    assert "hop 3" not in out


def test_a_hop_that_cannot_be_shown_whole_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    unverified = {"verified": False, "error": "signature.invalid", "xml": "<x/>"}
    second = {
        "peer": "LGSP-H27",
        "receipt": unverified,
        "next": {"error": "LGSP-H27 did not answer: connection refused"},
    }
    other_bytes = _receipt("NGSP", "at-ngsp", sha256="cd" * 32)
    first = {
        "peer": "NGSP",
        "receipt": other_bytes,
        "next": _part("NGSP", ["LGSP-H26"], _delivery("push", "delivered", second)),
    }
    print_trace(_trace(first))
    out = capsys.readouterr().out
    assert f"as at-ngsp, OTHER bytes (sha256 {'cd' * 8}…)" in out
    assert "  hop 2  → LGSP-H27\n" in out
    assert "receipt from LGSP-H27 NOT verified (signature.invalid)" in out
    assert "LGSP-H27 did not answer: connection refused" in out


def test_a_relay_not_yet_accepted_shows_no_receipt(capsys: pytest.CaptureFixture[str]) -> None:
    waiting = {"peer": "NGSP", "receipt": None, "next": {"error": "not yet accepted"}}
    print_trace(_trace(waiting))
    out = capsys.readouterr().out
    assert "no receipt from NGSP yet" in out
    assert "not yet accepted" in out
    assert "hop 2" not in out


def test_a_trace_without_relays_is_printed_as_before(capsys: pytest.CaptureFixture[str]) -> None:
    data = _trace({})
    data["deliveries"] = [_delivery("pull", "acknowledged")]
    print_trace(data)
    out = capsys.readouterr().out
    assert "000.00.01.H27 (pull): acknowledged" in out
    assert "  2026-11-28 08:00:02  acknowledged" in out
    assert "hop" not in out
