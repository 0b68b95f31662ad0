"""The tamper-evident audit chain: hashing and verification, with no I/O.

Each audit entry carries the hash of the entry before it, so editing, deleting
or reordering a stored row breaks the chain at that row. A tail truncation
leaves a valid prefix, so the store also keeps the head (last seq and hash) in
a separate row updated in the same transaction; verification compares the
chain's end with that head.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

GENESIS = "0" * 64
"""The prev_hash of entry 1: there is nothing before it."""

_DOMAIN = "edoc-axis-audit-v1\n"


def utc_iso(at: datetime) -> str:
    """The canonical text of an instant: fixed width, UTC, microseconds.

    Fixed width makes the text sort like the instant it names, which is why the
    store uses the same form for every timestamp column.
    """
    if at.tzinfo is None:
        raise ValueError("naive datetime: times must be timezone-aware UTC")
    return at.astimezone(UTC).isoformat(timespec="microseconds")


def canonical_detail(detail: Mapping[str, Any] | None) -> str:
    """Canonical JSON for an entry's detail: sorted keys, no spaces, UTF-8 text."""
    return json.dumps(dict(detail or {}), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def entry_hash(
    prev_hash: str,
    seq: int,
    at_iso: str,
    event: str,
    axis_id: str | None,
    agency: str | None,
    detail_json: str,
) -> str:
    """SHA-256 (hex) of one entry chained to the hash of the entry before it.

    Text fields are prefixed with their length in characters and None is "-"
    (a length starts with a digit), so no two different entries share an
    encoding: ("a", "bc") vs ("ab", "c"), None vs "". One f-string and one
    digest call, because verification runs this a million times.
    """
    axis = "-" if axis_id is None else f"{len(axis_id)}:{axis_id}"
    who = "-" if agency is None else f"{len(agency)}:{agency}"
    text = (
        f"{_DOMAIN}{len(prev_hash)}:{prev_hash}{seq}|{len(at_iso)}:{at_iso}"
        f"{len(event)}:{event}{axis}{who}{len(detail_json)}:{detail_json}"
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One stored audit row, as read back."""

    seq: int
    at: datetime
    event: str
    axis_id: str | None
    agency: str | None
    detail_json: str
    prev_hash: str
    hash: str

    @property
    def detail(self) -> dict[str, Any]:
        value: dict[str, Any] = json.loads(self.detail_json)
        return value


@dataclass(frozen=True, slots=True)
class AuditReport:
    """Result of a chain check; first_broken_seq names the first seq not vouched for."""

    ok: bool
    entries: int
    first_broken_seq: int | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class AuditHead:
    """The last seq and hash the store committed, kept apart from the rows."""

    seq: int
    hash: str


# A stored row as the store reads it: (seq, at_iso, event, axis_id, agency,
# detail_json, prev_hash, hash). Verification hashes the stored time text itself.
AuditRow = tuple[int, str, str, str | None, str | None, str, str, str]


def _row_fault(row: AuditRow, expected_seq: int, prev_hash: str) -> str | None:
    """Why this row breaks the chain, or None when it fits."""
    seq, at_iso, event, axis_id, agency, detail_json, row_prev, row_hash = row
    if seq != expected_seq:
        return f"seq {seq} where {expected_seq} was expected (row missing or moved)"
    if row_prev != prev_hash:
        return "prev_hash does not match the previous entry (row missing or moved)"
    if entry_hash(prev_hash, seq, at_iso, event, axis_id, agency, detail_json) != row_hash:
        return "hash does not match the entry's content (row edited)"
    return None


def verify_rows(rows: Iterable[AuditRow], head: AuditHead | None = None) -> AuditReport:
    """Check stored rows (in the order given, expected to be seq order) as a chain.

    Streams: holds one row at a time. With ``head`` the end of the chain must
    be exactly the recorded head, which is what catches a truncated tail.
    """
    count = 0
    prev_hash = GENESIS
    for row in rows:
        expected = count + 1
        # Fast path first: only a row that does not fit pays for the diagnosis.
        if (
            row[0] != expected
            or row[6] != prev_hash
            or entry_hash(prev_hash, expected, *row[1:6]) != row[7]
        ):
            return AuditReport(False, count, expected, _row_fault(row, expected, prev_hash))
        count = expected
        prev_hash = row[7]
    return _against_head(count, prev_hash, head)


def _against_head(count: int, last_hash: str, head: AuditHead | None) -> AuditReport:
    if head is None:
        return AuditReport(True, count)
    if head.seq > count:
        return AuditReport(False, count, count + 1, f"chain ends at {count}, head is {head.seq}")
    if head.seq < count:
        return AuditReport(False, count, head.seq + 1, "entries beyond the recorded head")
    if head.hash != last_hash:
        return AuditReport(False, count, count, "head hash does not match the last entry")
    return AuditReport(True, count)


def as_row(entry: AuditEntry) -> AuditRow:
    return (
        entry.seq,
        utc_iso(entry.at),
        entry.event,
        entry.axis_id,
        entry.agency,
        entry.detail_json,
        entry.prev_hash,
        entry.hash,
    )


def verify_chain(entries: Iterable[AuditEntry], head: AuditHead | None = None) -> AuditReport:
    """Check entries as a chain; see ``verify_rows``."""
    return verify_rows((as_row(e) for e in entries), head)


def verify_segment(rows: Iterable[AuditRow], prev_hash: str) -> AuditReport:
    """Check rows as a run of the chain that follows an entry whose hash is ``prev_hash``.

    The first row fixes the starting seq; every row must then follow its
    predecessor. Unlike ``verify_rows`` this cannot see a truncated tail or a
    rewritten past: it vouches for the run relative to ``prev_hash``, which is
    why a range check or an exported file should be compared with the head
    (or the whole chain verified) for the full guarantee. ``entries`` counts
    the rows checked; an empty run is vacuously intact.
    """
    count = 0
    expected: int | None = None
    for row in rows:
        if expected is None:
            expected = row[0]
            if expected == 1 and prev_hash != GENESIS:
                return AuditReport(False, 0, 1, "entry 1 must follow the genesis hash")
        fault = _row_fault(row, expected, prev_hash)
        if fault is not None:
            return AuditReport(False, count, expected, fault)
        count += 1
        expected += 1
        prev_hash = row[7]
    return AuditReport(True, count)
