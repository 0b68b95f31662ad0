"""Time as a dependency, so that validity and retry decisions are testable."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

VIETNAM_OFFSET = timedelta(hours=7)


def to_vietnam_local(at: datetime) -> datetime:
    """An aware time as naive Vietnam wall time: edXML timestamps carry no zone."""
    return (at.astimezone(UTC) + VIETNAM_OFFSET).replace(tzinfo=None)


def vietnam_now() -> datetime:
    """Wall-clock time in Vietnam (naive), as the edXML wire expects it."""
    return to_vietnam_local(datetime.now(UTC))


def from_vietnam_local(local: datetime) -> datetime:
    """A naive Vietnam wall time (as read from edXML) as aware UTC."""
    return (local - VIETNAM_OFFSET).replace(tzinfo=UTC)


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


@dataclass
class FixedClock:
    """A clock tests move by hand."""

    current: datetime = field(default_factory=lambda: datetime(2026, 1, 1, tzinfo=UTC))

    def now(self) -> datetime:
        return self.current

    def advance(self, seconds: float) -> None:
        self.current += timedelta(seconds=seconds)
