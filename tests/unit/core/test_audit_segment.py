"""verify_segment: a run of the chain checked against the hash before it."""

from __future__ import annotations

from datetime import UTC, datetime

from edoc_axis.core.audit import GENESIS, AuditRow, entry_hash, utc_iso, verify_segment


def _chain(n: int) -> list[AuditRow]:
    rows: list[AuditRow] = []
    prev = GENESIS
    at = utc_iso(datetime(2026, 1, 1, tzinfo=UTC))
    for seq in range(1, n + 1):
        digest = entry_hash(prev, seq, at, "e", None, "A", "{}")
        rows.append((seq, at, "e", None, "A", "{}", prev, digest))
        prev = digest
    return rows


def test_a_middle_run_verifies_against_the_hash_before_it() -> None:
    rows = _chain(6)
    report = verify_segment(rows[2:5], rows[1][7])
    assert (report.ok, report.entries) == (True, 3)


def test_a_wrong_predecessor_an_edit_or_a_gap_is_found_at_its_seq() -> None:
    rows = _chain(6)
    assert verify_segment(rows[2:5], rows[0][7]).first_broken_seq == 3
    edited = list(rows)
    edited[3] = (*rows[3][:4], "B", *rows[3][5:])
    assert verify_segment(edited, GENESIS).first_broken_seq == 4
    gap = rows[:2] + rows[3:]
    assert verify_segment(gap, GENESIS).first_broken_seq == 3


def test_entry_one_must_follow_genesis_and_empty_is_vacuous() -> None:
    rows = _chain(2)
    assert not verify_segment(rows, "f" * 64).ok
    assert verify_segment([], "f" * 64).ok
