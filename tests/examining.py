"""``core.intake.examine`` with the defaults the tests share: the limits, now, a document."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from edoc_axis.core.intake import Examined, examine
from edoc_axis.edxml import DEFAULT_LIMITS
from edoc_axis.errors import EdocError
from edoc_axis.signature import TrustStore, VerificationPolicy


def examine_document(
    raw: bytes, trust: TrustStore, policy: VerificationPolicy | None = None, **options: Any
) -> Examined:
    """Examine ``raw`` as a posted document (``options`` override ``examine``'s keywords)."""
    keywords: dict[str, Any] = {
        "limits": DEFAULT_LIMITS,
        "policy": policy or VerificationPolicy(),
        "trust": trust,
        "at": datetime.now(UTC),
        "expect_kind": "document",
    }
    return examine(raw, **(keywords | options))


def outcome(raw: bytes, trust: TrustStore, **options: Any) -> str:
    """ "accepted", or the refusal's code."""
    try:
        examine_document(raw, trust, **options)
    except EdocError as exc:
        return exc.code
    return "accepted"
