"""The pure audit chain, as tables: encodings that must differ, and chain damage."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone

import pytest

from edoc_axis.core.audit import (
    GENESIS,
    AuditEntry,
    AuditHead,
    canonical_detail,
    entry_hash,
    utc_iso,
    verify_chain,
)

T0 = datetime(2026, 1, 1, tzinfo=UTC)
BASE = (GENESIS, 1, "2026-01-01T00:00:00.000000+00:00", "e", "ax", "G01", "{}")


@pytest.mark.parametrize(
    ("label", "fields"),
    [
        ("field boundary moved", (GENESIS, 1, BASE[2], "ea", "x", "G01", "{}")),
        ("None is not empty", (GENESIS, 1, BASE[2], "e", "ax", None, "{}")),
        ("empty is not None", (GENESIS, 1, BASE[2], "e", "ax", "", "{}")),
        ("seq", (GENESIS, 2, *BASE[2:])),
        ("prev hash", ("1" * 64, *BASE[1:])),
        ("time", (GENESIS, 1, "2026-01-01T00:00:00.000001+00:00", *BASE[3:])),
        ("detail", (*BASE[:6], '{"a":1}')),
    ],
)
def test_every_field_and_boundary_changes_the_hash(label: str, fields: tuple) -> None:  # type: ignore[type-arg]
    assert entry_hash(*fields) != entry_hash(*BASE), label


def test_hash_is_stable_hex_sha256() -> None:
    digest = entry_hash(*BASE)
    assert digest == entry_hash(*BASE)
    assert len(digest) == 64
    assert int(digest, 16) >= 0


def test_canonical_detail_and_time() -> None:
    assert canonical_detail({"b": 1, "a": "Sở"}) == '{"a":"Sở","b":1}'
    assert canonical_detail(None) == "{}"
    hanoi = timezone(timedelta(hours=7))
    assert utc_iso(datetime(2026, 1, 1, 7, tzinfo=hanoi)) == "2026-01-01T00:00:00.000000+00:00"
    with pytest.raises(ValueError):
        utc_iso(datetime(2026, 1, 1))  # naive on purpose


def chain(n: int) -> list[AuditEntry]:
    entries, prev = [], GENESIS
    for seq in range(1, n + 1):
        at = T0 + timedelta(seconds=seq)
        detail = canonical_detail({"n": seq})
        digest = entry_hash(prev, seq, utc_iso(at), "ev", f"ax-{seq}", None, detail)
        entries.append(AuditEntry(seq, at, "ev", f"ax-{seq}", None, detail, prev, digest))
        prev = digest
    return entries


def head_of(entries: list[AuditEntry]) -> AuditHead:
    return AuditHead(entries[-1].seq, entries[-1].hash)


Damage = Callable[[list[AuditEntry]], list[AuditEntry]]


def _edit(e: list[AuditEntry]) -> list[AuditEntry]:
    return [*e[:2], dataclasses.replace(e[2], detail_json='{"n":0}'), *e[3:]]


def _edit_event(e: list[AuditEntry]) -> list[AuditEntry]:
    return [*e[:4], dataclasses.replace(e[4], event="other"), *e[5:]]


def _rechained_after_delete(e: list[AuditEntry]) -> list[AuditEntry]:
    # Delete seq 2 and renumber the rest: the seq line-up holds, the links do not.
    rest = [dataclasses.replace(x, seq=x.seq - 1) for x in e[2:]]
    return [e[0], *rest]


@pytest.mark.parametrize(
    ("label", "damage", "first_broken", "with_head"),
    [
        ("edited content", _edit, 3, True),
        ("edited event", _edit_event, 5, True),
        ("deleted row", lambda e: e[:1] + e[2:], 2, True),
        ("deleted first row", lambda e: e[1:], 1, True),
        ("deleted and renumbered", _rechained_after_delete, 2, True),
        ("reordered", lambda e: [e[0], e[2], e[1], *e[3:]], 2, True),
        ("truncated tail (head catches it)", lambda e: e[:4], 5, True),
        ("everything deleted (head catches it)", lambda e: [], 1, True),
    ],
)
def test_damage_is_found_at_its_first_seq(
    label: str, damage: Damage, first_broken: int, with_head: bool
) -> None:
    entries = chain(6)
    report = verify_chain(damage(entries), head_of(entries) if with_head else None)
    assert not report.ok, label
    assert report.first_broken_seq == first_broken, (label, report)
    assert report.reason


def test_intact_chain_and_empty_chain_verify() -> None:
    entries = chain(6)
    report = verify_chain(iter(entries), head_of(entries))
    assert (report.ok, report.entries, report.first_broken_seq) == (True, 6, None)
    assert verify_chain([], AuditHead(0, GENESIS)).ok
    assert verify_chain([]).ok


def test_truncation_without_a_head_is_invisible_which_is_why_the_head_exists() -> None:
    assert verify_chain(chain(6)[:4]).ok


def test_head_that_disagrees_with_the_last_entry() -> None:
    entries = chain(3)
    report = verify_chain(entries, AuditHead(3, "f" * 64))
    assert (report.ok, report.first_broken_seq) == (False, 3)
    report = verify_chain(entries, AuditHead(2, entries[1].hash))
    assert (report.ok, report.first_broken_seq) == (False, 3)
