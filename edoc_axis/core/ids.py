"""Axis identifiers: opaque, URL-safe, unique and roughly time-ordered."""

from __future__ import annotations

import secrets
from datetime import datetime

_CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz"


def _base32(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        value, digit = divmod(value, 32)
        chars.append(_CROCKFORD[digit])
    return "".join(reversed(chars))


def new_axis_id(at: datetime, random_bits: int | None = None) -> str:
    """A 26-character ULID-style id: 48 bits of milliseconds, 80 random bits.

    Time first so that ids sort roughly by acceptance, which keeps index pages
    of the store warm; the random part makes them unguessable.
    """
    millis = int(at.timestamp() * 1000) & ((1 << 48) - 1)
    rand = secrets.randbits(80) if random_bits is None else random_bits & ((1 << 80) - 1)
    return _base32(millis, 10) + _base32(rand, 16)


# The conformance suite's deliveries to a push endpoint carry ids with this
# prefix, which the axis never hands out (its ids are 26 base32 characters).
# The id is covered by the axis's delivery signature, so nobody without the
# axis key can make a real delivery look like a test one.
CONFORMANCE_ID_PREFIX = "conformance-"


def conformance_id(at: datetime) -> str:
    """An id for a conformance test delivery (never one the axis hands out)."""
    return CONFORMANCE_ID_PREFIX + new_axis_id(at)


def is_conformance_id(axis_id: str) -> bool:
    return axis_id.startswith(CONFORMANCE_ID_PREFIX)
