"""The one JSON shape of each record, for the API, the trace, the admin API and the CLI.

A delivery is described the same way in a document's trace, in
`edoc-axis deadletter list --json` and wherever else one is shown; the same
goes for a status (the feed, the answer to a submitted status, the trace).
Callers may add what only they know (the trace adds a delivery's statuses and
recall rounds, a status's description) but never rename or drop a field.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from edoc_axis.edxml import StatusCode
from edoc_axis.store import Agency, Delivery, StoredStatus

NOTICE_MEANING = "delivery failed for good"


def iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def agency_json(agency: Agency) -> dict[str, Any]:
    """An agency of the registry (token hashes are not part of the record)."""
    data = asdict(agency)
    data["created_at"] = agency.created_at.isoformat()
    data["alias_codes"] = list(agency.alias_codes)
    data["certificate_fingerprints"] = list(agency.certificate_fingerprints)
    return data


def delivery_json(delivery: Delivery) -> dict[str, Any]:
    """A delivery of one document to one agency, and where it stands."""
    pending = delivery.state == "pending"
    return {
        "id": delivery.id,
        "document": delivery.axis_id,
        "agency": delivery.recipient_code,
        "mode": delivery.mode,
        "state": delivery.state,
        "attempts": delivery.attempts,
        "last_error": delivery.last_error,
        "queued_at": iso(delivery.created_at),
        "next_attempt_at": iso(delivery.next_attempt_at) if pending else None,
        "delivered_at": iso(delivery.delivered_at),
        "acked_at": iso(delivery.acked_at),
        "status_code": delivery.status_code,
        "status_at": iso(delivery.status_at),
    }


def status_meaning(status: StoredStatus) -> str:
    """What a status code means, or that a notice reports a delivery that failed for good."""
    if status.kind == "notice" or status.status_code is None:
        return NOTICE_MEANING
    return StatusCode(str(status.status_code)).info.meaning


def status_json(status: StoredStatus) -> dict[str, Any]:
    """A status message (or the axis's delivery-failure notice) between two agencies."""
    return {
        "status_id": status.status_id,
        "id": status.axis_id,
        "document_id": status.document_id,
        "from": status.from_code,
        "to": status.to_code,
        "kind": status.kind,
        "status_code": status.status_code,
        "meaning": status_meaning(status),
        "timestamp": iso(status.timestamp),
        "received_at": iso(status.received_at),
        "recall_round": status.recall_round,
    }
