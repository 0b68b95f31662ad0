"""`edoc-axis audit verify`, `deadletter` and `stats`, run in-process on a real home."""

from __future__ import annotations

import asyncio
import getpass
import hashlib
import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from edoc_axis.cli.axis import main
from edoc_axis.config import load_config
from edoc_axis.home import init_home
from edoc_axis.store import DeadLetter, NewAgency, NewDocument
from edoc_axis.store.factory import open_store

NOW = datetime(2026, 11, 23, 8, 0, tzinfo=UTC)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A home with one push delivery dead-lettered and one pull delivery pending."""
    created = init_home(tmp_path / "home")
    config = load_config(created.config)

    async def prepare() -> None:
        store = await open_store(config)
        for code, mode, url in (
            ("000.00.00.G22", "pull", None),
            ("000.00.00.H49", "push", "http://127.0.0.1:9/edoc"),
            ("000.00.00.G14", "pull", None),
        ):
            await store.create_agency(
                NewAgency(code, f"Agency {code}", (), mode, url),
                hashlib.sha256(code.encode()).hexdigest(),
                [],
                NOW,
            )
        raw = b"<edXML/>"
        await store.accept_document(
            NewDocument(
                axis_id="ax1",
                sender_code="000.00.00.G22",
                document_id="D1",
                kind="document",
                business_type=0,
                references_document_id=None,
                subject="s",
                sha256=hashlib.sha256(raw).hexdigest(),
                raw=raw,
                received_at=NOW,
                receipt=b"<r/>",
                recipients=("000.00.00.H49", "000.00.00.G14"),
            )
        )
        [claim] = await store.claim_due_deliveries(NOW, 10, 60, "test")
        await store.record_outcome(
            claim.delivery_id, claim.attempt, DeadLetter("HTTP 500 x12"), NOW
        )
        await store.close()

    asyncio.run(prepare())
    return created.config


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_deadletter_list_retry_discard(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "deadletter", "list", "--json", "--config", str(home))
    letters = json.loads(out)
    assert code == 0
    assert [(d["document"], d["agency"], d["last_error"]) for d in letters] == [
        ("ax1", "000.00.00.H49", "HTTP 500 x12")
    ]
    code, out, _ = run(capsys, "deadletter", "retry", str(letters[0]["id"]), "--config", str(home))
    assert code == 0 and "queued again (pending)" in out
    code, out, _ = run(capsys, "deadletter", "list", "--config", str(home))
    assert "no dead letters" in out
    code, _, err = run(capsys, "deadletter", "discard", "999", "--config", str(home))
    assert code == 1 and err.startswith("not-found:")
    with sqlite3.connect(load_config(home).store_path) as conn:
        (detail,) = conn.execute(
            "SELECT detail FROM audit_log WHERE event = 'operator.action'"
        ).fetchone()
    action = json.loads(detail)
    assert action["action"] == "deadletter.retry" and action["actor"] == f"cli:{getpass.getuser()}"


def test_stats_counts_per_state_and_agency(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "stats", "--json", "--config", str(home))
    stats = json.loads(out)
    assert code == 0
    assert stats["by_state"] == {"dead": 1, "pending": 1}
    assert {"agency": "000.00.00.G14", "state": "pending", "count": 1} in stats["by_agency"]
    assert stats["oldest_pending_age_s"] > 0


def test_audit_verify_finds_an_edited_row(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "audit", "verify", "--json", "--config", str(home))
    report = json.loads(out)
    assert code == 0 and report["ok"] and report["entries"] >= 5
    db = load_config(home).store_path
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE audit_log SET event = 'document.refused' WHERE seq = 4")
    code, out, _ = run(capsys, "audit", "verify", "--config", str(home))
    assert code == 1
    assert out.startswith("audit.broken: first broken entry seq=4")


def test_audit_export_head_and_offline_verify(
    home: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, _ = run(capsys, "audit", "head", "--json", "--config", str(home))
    head = json.loads(out)
    code, out, _ = run(capsys, "audit", "export", "--config", str(home))
    assert code == 0 and len(out.splitlines()) == head["seq"]
    export = tmp_path / "audit.jsonl"
    export.write_text(out, encoding="utf-8")
    code, out, _ = run(capsys, "audit", "verify", "--file", str(export), "--json")
    assert code == 0 and json.loads(out)["entries"] == head["seq"]
    code, out, _ = run(capsys, "audit", "verify", "--from", "3", "--config", str(home), "--json")
    assert code == 0 and json.loads(out)["entries"] == head["seq"] - 2
    lines = export.read_text(encoding="utf-8").splitlines()
    export.write_text("\n".join(lines[:2] + lines[3:]) + "\n", encoding="utf-8")  # one gone
    code, out, _ = run(capsys, "audit", "verify", "--file", str(export))
    assert code == 1 and out.startswith("audit.broken: first broken entry seq=3")
