"""Vietnam wall time (edXML timestamps have no zone) to and from aware UTC."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from edoc_axis.clock import from_vietnam_local, to_vietnam_local


def test_round_trip_and_offset() -> None:
    utc = datetime(2026, 11, 23, 18, 30, tzinfo=UTC)
    local = to_vietnam_local(utc)
    assert local == datetime(2026, 11, 24, 1, 30) and local.tzinfo is None
    assert from_vietnam_local(local) == utc
    other_zone = utc.astimezone(timezone(timedelta(hours=-5)))
    assert to_vietnam_local(other_zone) == local
