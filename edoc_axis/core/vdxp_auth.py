"""VDXP request authentication: the reference client's HMAC header set, verified.

The client sends each parameter as ``XroadVnpt-<name>: <value>`` and signs a
JSON object of those pairs (``XroadVnpt-sign-header``, in no fixed order)
with HMAC-SHA256 under the system's shared secret (``XroadVnpt-hash-header``,
lower-case hex). The axis verifies the HMAC over the sign-header string
exactly as received, then holds every signed name to the header actually sent
and refuses parameter headers that were not signed, so what the handler reads
is what was signed. Pure: the caller looks up the secret and supplies the time.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from edoc_axis.errors import VdxpAuthFailed, VdxpHeaderMismatch, VdxpStale, VdxpUnsigned

PREFIX = "XroadVnpt-"
SIGN_HEADER = PREFIX + "sign-header"
SIGN_HEADER_KEY = PREFIX + "sign-header-key"
HASH_HEADER = PREFIX + "hash-header"
# Sent by the client, never signed, carrying no parameter.
UNSIGNED_ALLOWED = frozenset(n.lower() for n in (SIGN_HEADER, SIGN_HEADER_KEY, HASH_HEADER))
UNSIGNED_ALLOWED |= {(PREFIX + "version").lower()}
_MAX_SIGNED_NAMES = 32
# ddMMyyyy'T'HHmmss+SSSS: the client's wall time; "+SSSS" is milliseconds, not a zone.
_TIMESTAMP = re.compile(r"^(\d{2})(\d{2})(\d{4})T(\d{2})(\d{2})(\d{2})\+(\d{1,4})$")
# The client's zone is not sent: its wall time may be anywhere from UTC-12 to UTC+14.
_EAST, _WEST = timedelta(hours=14), timedelta(hours=12)
_CLOCK_SKEW = timedelta(minutes=5)


@dataclass(frozen=True, slots=True)
class SignedRequest:
    """The verified parameters: name (without the prefix) to value."""

    system_id: str
    timestamp: str
    values: Mapping[str, str]

    def get(self, name: str) -> str | None:
        for key, value in self.values.items():
            if key.lower() == name.lower():
                return value
        return None


def signed_pairs(headers: Mapping[str, str]) -> tuple[str, dict[str, str]]:
    """The sign-header string as received and its pairs, checked for shape only."""
    sign_header = headers.get(SIGN_HEADER)
    if not sign_header or not headers.get(HASH_HEADER) or not headers.get(SIGN_HEADER_KEY):
        raise VdxpUnsigned(
            f"the {SIGN_HEADER}, {SIGN_HEADER_KEY} and {HASH_HEADER} headers are required"
        )
    try:
        pairs = json.loads(sign_header)
    except ValueError as exc:
        raise VdxpUnsigned(f"{SIGN_HEADER} is not JSON: {exc}") from None
    if not isinstance(pairs, dict) or not 0 < len(pairs) <= _MAX_SIGNED_NAMES:
        raise VdxpUnsigned(f"{SIGN_HEADER} must be a JSON object of up to 32 headers")
    for name, value in pairs.items():
        if not name.startswith(PREFIX) or not isinstance(value, str):
            raise VdxpUnsigned(f"{SIGN_HEADER} holds {name!r}, not an {PREFIX}<name> string")
    system_id = pairs.get(PREFIX + "systemid")
    if not system_id:
        raise VdxpUnsigned(f"{SIGN_HEADER} does not sign {PREFIX}systemid")
    return sign_header, pairs


def hmac_hex(secret: str, sign_header: str) -> str:
    return hmac.new(secret.encode(), sign_header.encode(), hashlib.sha256).hexdigest()


def verify_request(
    headers: Mapping[str, str],
    secret_of: Callable[[str], str | None],
    *,
    now: datetime,
    freshness_s: float,
) -> SignedRequest:
    """Verify a request's HMAC set; ``secret_of(system_id)`` is None for an unknown system.

    Raises ``VdxpUnsigned`` / ``VdxpAuthFailed`` / ``VdxpHeaderMismatch`` / ``VdxpStale``.
    """
    sign_header, pairs = signed_pairs(headers)
    system_id = pairs[PREFIX + "systemid"]
    secret = secret_of(system_id)
    presented = headers.get(HASH_HEADER, "").strip().lower()
    # Compare even for an unknown system, so that timing does not tell which exist.
    expected = hmac_hex(secret if secret is not None else "\0unknown", sign_header)
    if not hmac.compare_digest(expected.encode(), presented.encode()) or secret is None:
        raise VdxpAuthFailed("unknown or disabled system, or a signature that does not verify")
    names = {name[len(PREFIX) :] for name in pairs}
    _check_agreement(headers, pairs, names)
    timestamp = pairs.get(PREFIX + "timestamp")
    if not timestamp:
        raise VdxpUnsigned(f"{SIGN_HEADER} does not sign {PREFIX}timestamp")
    check_fresh(timestamp, now, freshness_s)
    values = {name[len(PREFIX) :]: value for name, value in pairs.items()}
    return SignedRequest(system_id=system_id, timestamp=timestamp, values=values)


def _check_agreement(headers: Mapping[str, str], pairs: Mapping[str, str], names: set[str]) -> None:
    listed = {n for n in headers.get(SIGN_HEADER_KEY, "").split(";") if n}
    if {n.lower() for n in listed} != {n.lower() for n in names}:
        raise VdxpHeaderMismatch(f"{SIGN_HEADER_KEY} does not list exactly the signed names")
    for name, value in pairs.items():
        sent = headers.get(name)
        if sent is None or not hmac.compare_digest(sent.encode(), value.encode()):
            raise VdxpHeaderMismatch(f"the {name} header sent is not the one signed")
    signed = {name.lower() for name in pairs}
    for name in headers:
        lowered = name.lower()
        if lowered.startswith(PREFIX.lower()) and lowered not in signed | UNSIGNED_ALLOWED:
            raise VdxpHeaderMismatch(f"the {name} header is not signed")


def check_fresh(timestamp: str, now: datetime, freshness_s: float) -> None:
    match = _TIMESTAMP.match(timestamp)
    if match is None:
        raise VdxpUnsigned(f"timestamp {timestamp!r} is not ddMMyyyyTHHmmss+SSSS")
    day, month, year, hour, minute, second, _ms = (int(g) for g in match.groups())
    try:
        wall = datetime(year, month, day, hour, minute, second, tzinfo=UTC)
    except ValueError:
        raise VdxpUnsigned(f"timestamp {timestamp!r} is not a date") from None
    if freshness_s <= 0:
        return
    earliest_instant, latest_instant = wall - _EAST, wall + _WEST
    if earliest_instant > now + _CLOCK_SKEW:
        raise VdxpStale(f"timestamp {timestamp} is in the future")
    if latest_instant < now - timedelta(seconds=freshness_s):
        raise VdxpStale(
            f"timestamp {timestamp} is older than the {int(freshness_s)} s window "
            "(the client fixes it when its object is made: make a new client object)"
        )
