"""What the operator watches: documents by DocumentId, recent refusals, endpoints.

Read-only use cases over a ``Store`` for the console (server/console.py); the
figures themselves come from ``service.operator`` (statistics, dead letters).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from edoc_axis.core.health import EndpointHealth, endpoint_key
from edoc_axis.store import Agency, Peer, Store, StoredDocument

MAX_QUERY = 200
"""The longest DocumentId (or axis id) a search takes."""

REFUSAL_SCAN = 5000
"""Audit entries read back from the head to find the recent refusals."""


async def find_documents(store: Store, text: str) -> list[StoredDocument]:
    """Documents whose DocumentId (from any sender) or axis id is ``text``, oldest first.

    A DocumentId is unique per sender only, so every agency is asked: one
    indexed look-up each (the store's idempotency key).
    """
    text = text.strip()
    if not text or len(text) > MAX_QUERY:
        return []
    found: dict[str, StoredDocument] = {}
    by_axis_id = await store.get_document(text)
    if by_axis_id is not None:
        found[by_axis_id.axis_id] = by_axis_id
    for agency in await store.list_agencies():
        document = await store.find_document(agency.code, text)
        if document is not None:
            found[document.axis_id] = document
    return sorted(found.values(), key=lambda d: (d.received_at, d.axis_id))


@dataclass(frozen=True, slots=True)
class Refusal:
    """One ``document.refused`` audit event: who sent what was refused, and why."""

    seq: int
    at: datetime
    agency: str | None
    code: str
    detail: str


async def recent_refusals(store: Store, limit: int = 100) -> list[Refusal]:
    """The latest refusals, newest first, among the last ``REFUSAL_SCAN`` audit entries."""
    head = await store.audit_head()
    found: list[Refusal] = []
    async for entry in store.iter_audit(batch=1000, after=max(0, head.seq - REFUSAL_SCAN)):
        if entry.event != "document.refused":
            continue
        detail = entry.detail
        found.append(
            Refusal(
                entry.seq,
                entry.at,
                entry.agency,
                str(detail.get("code", "unknown")),
                str(detail.get("detail", "")),
            )
        )
    return list(reversed(found))[:limit]


def refusals_by_code(rows: Iterable[Mapping[str, Any]]) -> list[tuple[str, int]]:
    """Refusals per code over the agencies' statistics rows, most frequent first."""
    totals: dict[str, int] = {}
    for row in rows:
        for code, count in row["window"]["refused"].items():
            totals[code] = totals.get(code, 0) + int(count)
    return sorted(totals.items(), key=lambda item: (-item[1], item[0]))


@dataclass(frozen=True, slots=True)
class EndpointRow:
    """A push agency's endpoint: its breaker (when this process tracks it) and figures."""

    agency: str
    name: str
    endpoint: str | None
    health: EndpointHealth | None
    retries: int
    dead_lettered: int
    pending: int
    oldest_pending_age_s: float | None

    @property
    def failing(self) -> bool:
        broken = self.health is not None and (
            self.health.breaker != "closed" or self.health.consecutive_failures > 0
        )
        return broken or self.retries > 0 or self.dead_lettered > 0


def endpoint_rows(
    agencies: Sequence[Agency],
    statistics: Mapping[str, Any],
    health: Iterable[EndpointHealth],
) -> list[EndpointRow]:
    """Every push agency's endpoint, failing ones first, then by agency code.

    ``statistics`` is ``service.operator.statistics`` over the window shown;
    ``health`` what push delivery knows now (empty when it does not run here).
    """
    by_endpoint = {h.endpoint: h for h in health}
    figures = {row["agency"]: row for row in statistics["agencies"]}
    rows = []
    for agency in agencies:
        if agency.delivery_mode != "push":
            continue
        row = figures.get(agency.code, {})
        window = row.get("window", {})
        rows.append(
            EndpointRow(
                agency=agency.code,
                name=agency.name,
                endpoint=agency.endpoint_url,
                health=by_endpoint.get(endpoint_key(agency.endpoint_url)),
                retries=int(window.get("retries", 0)),
                dead_lettered=int(window.get("dead_lettered", 0)),
                pending=int(row.get("deliveries", {}).get("pending", 0)),
                oldest_pending_age_s=row.get("oldest_pending_age_s"),
            )
        )
    return sorted(rows, key=lambda r: (not r.failing, r.agency))


@dataclass(frozen=True, slots=True)
class PeerRow:
    """A peer axis as the console shows it: its registry, breaker and relays waiting."""

    peer: Peer
    remote_active: int
    remote_disabled: int
    pending: int
    dead: int
    health: EndpointHealth | None

    @property
    def failing(self) -> bool:
        broken = self.health is not None and (
            self.health.breaker != "closed" or self.health.consecutive_failures > 0
        )
        return broken or self.dead > 0 or self.peer.state != "active"


def peer_rows(
    peers: Sequence[Peer],
    agencies: Sequence[Agency],
    statistics: Mapping[str, Any],
    health: Iterable[EndpointHealth],
) -> list[PeerRow]:
    """Every peer axis with its remote agencies and the relays to it that wait or died.

    Relays to a peer are its remote agencies' deliveries; their breaker is the
    peer's address (its remote agencies' endpoint).
    """
    by_endpoint = {h.endpoint: h for h in health}
    figures = {row["agency"]: row.get("deliveries", {}) for row in statistics["agencies"]}
    rows = []
    for peer in peers:
        remote = [a for a in agencies if a.peer == peer.name]
        rows.append(
            PeerRow(
                peer=peer,
                remote_active=sum(1 for a in remote if a.state == "active"),
                remote_disabled=sum(1 for a in remote if a.state != "active"),
                pending=sum(int(figures.get(a.code, {}).get("pending", 0)) for a in remote),
                dead=sum(int(figures.get(a.code, {}).get("dead", 0)) for a in remote),
                health=by_endpoint.get(endpoint_key(peer.url)),
            )
        )
    return sorted(rows, key=lambda r: (not r.failing, r.peer.name))
