"""The operator's use cases: dead letters, statistics, the audit chain, certificates.

No HTTP here: the operator API (server/operator_api.py) and the local CLI both
call these over a ``Store``. Every change an operator makes is followed by an
``operator.action`` audit event naming who made it (see ``audit_action``).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography import x509

from edoc_axis.core.audit import GENESIS, AuditReport, as_row, verify_segment
from edoc_axis.errors import EdocError, NotFound, SchemaInvalid
from edoc_axis.service.views import delivery_json
from edoc_axis.store import Agency, AuditEntry, Delivery, Store

MAX_WINDOW = timedelta(days=31)
"""The longest statistics window one request may ask for (744 hourly buckets)."""

MAX_BULK = 1000
"""Dead letters one bulk request may act on; more must be split by the caller."""

_SCAN_PAGES = 20
"""Store pages one filtered listing request reads at most, so its cost is bounded."""


async def audit_action(
    store: Store,
    at: datetime,
    actor: str,
    action: str,
    *,
    agency: str | None = None,
    axis_id: str | None = None,
    detail: Mapping[str, Any] | None = None,
) -> None:
    """Record who did what as an ``operator.action`` audit event.

    It is appended after the store verb committed, in a transaction of its own:
    the chain then never claims an action that did not happen, and a crash in
    between loses only the name (the verb's own event is there).
    """
    await store.append_audit(
        "operator.action",
        at,
        axis_id=axis_id,
        agency=agency,
        detail={"actor": actor, "action": action, **(detail or {})},
    )


# -- dead letters ---------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class DeadLetterFilter:
    """Which dead letters: addressed to ``agency`` and/or queued at or after ``since``."""

    agency: str | None = None
    since: datetime | None = None

    def matches(self, delivery: Delivery) -> bool:
        if self.agency is not None and delivery.recipient_code != self.agency:
            return False
        return self.since is None or delivery.created_at >= self.since


async def dead_letter_page(
    store: Store, where: DeadLetterFilter, limit: int, cursor: str | None
) -> tuple[list[Delivery], str | None]:
    """Dead letters matching ``where``, oldest first, and the cursor of the rest.

    The store pages by ``limit`` and the filter applies to whole pages, so a
    filtered page may hold fewer (or, reading on to fill it, up to 2*limit-1)
    items; at most ``_SCAN_PAGES`` store pages are read per call.
    """
    found: list[Delivery] = []
    for _ in range(_SCAN_PAGES):
        page = await store.dead_letters(limit, cursor)
        found.extend(d for d in page.items if where.matches(d))
        cursor = page.next_cursor
        if cursor is None or len(found) >= limit:
            break
    return found, cursor


async def all_dead_letters(store: Store, where: DeadLetterFilter) -> AsyncIterator[Delivery]:
    cursor: str | None = None
    while True:
        page = await store.dead_letters(500, cursor)
        for delivery in page.items:
            if where.matches(delivery):
                yield delivery
        cursor = page.next_cursor
        if cursor is None:
            return


async def dead_letter(store: Store, delivery_id: int) -> Delivery:
    delivery = await store.get_delivery(delivery_id)
    if delivery is None:
        raise NotFound(f"no delivery {delivery_id}")
    return delivery


async def act_on_dead_letter(
    store: Store, action: str, delivery_id: int, at: datetime, actor: str
) -> Delivery:
    """Retry or discard one dead letter and record who did it."""
    if action == "retry":
        delivery = await store.retry_dead_letter(delivery_id, at)
    elif action == "discard":
        delivery = await store.discard_dead_letter(delivery_id, at)
    else:
        raise ValueError(action)
    await audit_action(
        store,
        at,
        actor,
        f"deadletter.{action}",
        agency=delivery.recipient_code,
        axis_id=delivery.axis_id,
        detail={"delivery": delivery.id},
    )
    return delivery


async def act_on_dead_letters(
    store: Store, action: str, ids: Sequence[int], at: datetime, actor: str
) -> list[dict[str, Any]]:
    """Retry or discard each dead letter; one result per id, failures included.

    A failure (not a dead letter, unknown id) does not stop the others: the
    result names its error code, as a single request would have answered it.
    """
    if len(ids) > MAX_BULK:
        raise SchemaInvalid(f"at most {MAX_BULK} dead letters per request")
    results: list[dict[str, Any]] = []
    for delivery_id in ids:
        try:
            delivery = await act_on_dead_letter(store, action, delivery_id, at, actor)
        except EdocError as error:
            failure = {"code": error.code, "detail": error.detail}
            results.append({"id": delivery_id, "ok": False, "error": failure})
            continue
        results.append({"id": delivery_id, "ok": True, "delivery": delivery_json(delivery)})
    return results


# -- statistics -----------------------------------------------------------------
_COLUMNS = {
    "document.accepted": "accepted",
    "delivery.delivered": "delivered",
    "delivery.acknowledged": "acknowledged",
    "delivery.retry_scheduled": "retries",
    "delivery.dead_lettered": "dead_lettered",
}


def _bucket() -> dict[str, Any]:
    return {column: 0 for column in _COLUMNS.values()} | {"refused": {}}


def _hour(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def stats_window(
    since: datetime | None, until: datetime | None, now: datetime
) -> tuple[datetime, datetime]:
    """[since, until) on whole hours: the last 24 hours when not given."""
    end = _hour(until) if until is not None else _hour(now) + timedelta(hours=1)
    start = _hour(since) if since is not None else end - timedelta(hours=24)
    if start >= end:
        raise SchemaInvalid("since must be before until")
    if end - start > MAX_WINDOW:
        raise SchemaInvalid(f"the window is at most {MAX_WINDOW.days} days")
    return start, end


async def statistics(
    store: Store, since: datetime, until: datetime, now: datetime, agency: str | None = None
) -> dict[str, Any]:
    """Traffic per agency and hour, delivery states now and what waits longest.

    ``hours`` is sparse (an agency's row appears for hours it had events) and
    ``hour_starts`` lists every hour of the window, so a chart can fill zeros.
    Refusals are counted from the ``document.refused`` audit events intake
    writes (rate limiting and outages are not audited, so not counted here;
    /metrics counts them per process).
    """
    activity = await store.activity(since, until)
    stats = await store.stats(now)
    agencies = {a.code: a for a in await store.list_agencies()}
    hours: dict[tuple[datetime, str], dict[str, Any]] = defaultdict(_bucket)
    totals: dict[str, dict[str, Any]] = defaultdict(_bucket)
    for count in activity.counts:
        who = count.agency or "-"
        if agency is not None and who != agency:
            continue
        for bucket in (hours[(count.hour, who)], totals[who]):
            if count.event == "document.refused":
                code = count.code or "unknown"
                bucket["refused"][code] = bucket["refused"].get(code, 0) + count.count
            else:
                bucket[_COLUMNS[count.event]] += count.count
    states: dict[str, dict[str, int]] = defaultdict(dict)
    for (code, state), n in stats.by_agency_state.items():
        states[code][state] = n
    codes = sorted(set(agencies) | set(totals) | set(states))
    if agency is not None:
        codes = [c for c in codes if c == agency]
    rows = []
    for code in codes:
        pending = activity.pending.get(code)
        known = agencies.get(code)
        rows.append(
            {
                "agency": code,
                "name": None if known is None else known.name,
                "test": False if known is None else known.test,
                "window": totals.get(code, _bucket()),
                "deliveries": states.get(code, {}),
                "oldest_pending_at": None if pending is None else pending[1].isoformat(),
                "oldest_pending_age_s": (
                    None if pending is None else max(0.0, (now - pending[1]).total_seconds())
                ),
            }
        )
    hour_starts = []
    hour = since
    while hour < until:
        hour_starts.append(hour.isoformat())
        hour += timedelta(hours=1)
    return {
        "since": since.isoformat(),
        "until": until.isoformat(),
        "generated_at": now.isoformat(),
        "by_state": dict(stats.by_state),
        "oldest_pending_age_s": stats.oldest_pending_age_s,
        "hour_starts": hour_starts,
        "agencies": rows,
        "hours": [
            {"hour": h.isoformat(), "agency": code, **bucket}
            for (h, code), bucket in sorted(hours.items())
        ],
    }


# -- the audit chain ------------------------------------------------------------
def audit_line(entry: AuditEntry) -> dict[str, Any]:
    """One exported entry: the stored text of every hashed field, so it verifies offline."""
    seq, at_iso, event, axis_id, agency, detail_json, prev_hash, hash_ = as_row(entry)
    return {
        "seq": seq,
        "at": at_iso,
        "event": event,
        "axis_id": axis_id,
        "agency": agency,
        "detail": detail_json,
        "prev_hash": prev_hash,
        "hash": hash_,
    }


def _row_of_line(
    line: Mapping[str, Any],
) -> tuple[int, str, str, str | None, str | None, str, str, str]:
    try:
        return (
            int(line["seq"]),
            str(line["at"]),
            str(line["event"]),
            None if line["axis_id"] is None else str(line["axis_id"]),
            None if line["agency"] is None else str(line["agency"]),
            str(line["detail"]),
            str(line["prev_hash"]),
            str(line["hash"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise SchemaInvalid(f"not an exported audit entry: {exc}") from exc


def verify_lines(lines: Iterable[str]) -> AuditReport:
    """Verify an export (JSON lines) offline: each entry follows the one before.

    The first entry's prev_hash is taken as given (genesis when it is entry 1);
    compare the last hash with the axis's head for the full guarantee.
    """
    rows = (_row_of_line(_json_line(text)) for text in lines if text.strip())
    first = next(rows, None)
    if first is None:
        return AuditReport(True, 0)
    prev = GENESIS if first[0] == 1 else first[6]

    def chained() -> Iterable[tuple[int, str, str, str | None, str | None, str, str, str]]:
        yield first
        yield from rows

    return verify_segment(chained(), prev)


def _json_line(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise SchemaInvalid(f"not a JSON line: {exc}") from exc
    if not isinstance(value, dict):
        raise SchemaInvalid("an audit line must be a JSON object")
    return value


async def audit_entries(
    store: Store, first: int, last: int | None, batch: int = 5000
) -> AsyncIterator[AuditEntry]:
    """Entries with first <= seq <= last (to the end when last is None)."""
    async for entry in store.iter_audit(batch=batch, after=first - 1):
        if last is not None and entry.seq > last:
            return
        yield entry


async def verify_range(store: Store, first: int, last: int | None) -> AuditReport:
    """Check entries first..last against each other and the stored entry before them."""
    if first < 1 or (last is not None and last < first):
        raise SchemaInvalid("the range must satisfy 1 <= from <= to")
    prev = GENESIS
    if first > 1:
        before = [e async for e in audit_entries(store, first - 1, first - 1)]
        if not before:
            raise NotFound(f"no audit entry {first - 1}")
        prev = before[0].hash
    rows = [as_row(e) async for e in audit_entries(store, first, last)]
    return verify_segment(rows, prev)


def report_json(report: AuditReport, **extra: Any) -> dict[str, Any]:
    return {
        "ok": report.ok,
        "entries": report.entries,
        "first_broken_seq": report.first_broken_seq,
        "reason": report.reason,
        **extra,
    }


# -- agencies and their certificates ----------------------------------------------
def certificate_json(fingerprint: str, pem: bytes | None, now: datetime) -> dict[str, Any]:
    if pem is None:
        return {"fingerprint": fingerprint, "error": "no PEM stored"}
    try:
        cert = x509.load_pem_x509_certificate(pem)
    except ValueError as exc:
        return {"fingerprint": fingerprint, "error": f"unreadable PEM: {exc}"}
    not_after = cert.not_valid_after_utc
    return {
        "fingerprint": fingerprint,
        "subject": cert.subject.rfc4514_string(),
        "issuer": cert.issuer.rfc4514_string(),
        "not_before": cert.not_valid_before_utc.isoformat(),
        "not_after": not_after.isoformat(),
        "expires_in_days": round((not_after - now).total_seconds() / 86400, 2),
    }


async def certificates(store: Store, agency: Agency, now: datetime) -> list[dict[str, Any]]:
    return [
        certificate_json(fp, await store.certificate_pem(fp), now)
        for fp in agency.certificate_fingerprints
    ]


def search_agencies(agencies: Iterable[Agency], text: str) -> list[Agency]:
    """Agencies whose code, an alias or the name contains ``text`` (any case)."""
    needle = text.casefold()
    return [
        a
        for a in agencies
        if needle in a.code.casefold()
        or needle in a.name.casefold()
        or any(needle in alias.casefold() for alias in a.alias_codes)
    ]
