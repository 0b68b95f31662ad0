"""Packages of the three real-world kinds the strict edXML profile refuses.

The document systems connected to the national axis today send them (seen in
packages taken from the current national test axis, issue #10):

- ``lower-case``: agency codes in lower case, e.g. the tenant-style ``vxp.saas.03``;
- ``null-trace``: ``TraceHeader/OrganId`` empty, or the text ``null``;
- ``no-organ-name``: ``From`` and ``To`` without ``OrganName``.

Built with the project's own builder from the model (the builder writes what
the model holds, so these are exactly the shapes on the wire), unsigned.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from edoc_axis.core.compose import new_document, new_status
from edoc_axis.edxml import (
    Organization,
    StatusCode,
    TraceHeader,
    build_document,
    build_status,
)

KINDS = ("lower-case", "null-trace", "no-organ-name")
# The [interop] switch that lets each kind through.
SWITCH = {
    "lower-case": "case_insensitive_codes",
    "null-trace": "null_trace_organ_id",
    "no-organ-name": "missing_organ_name",
}


def vietnam_now() -> datetime:
    return (datetime.now(UTC) + timedelta(hours=7)).replace(tzinfo=None, microsecond=0)


def real_world_document(
    kind: str,
    *,
    sender: str,
    recipients: Sequence[str],
    code_number: str = "1",
    subject: str = "V/v kết nối liên thông",
) -> bytes:
    """An unsigned document package of ``kind`` (one of ``KINDS``).

    For ``lower-case`` the codes are written as given (pass them in lower case);
    the DocumentId is built from the sender code as written.
    """
    at = vietnam_now()
    package = new_document(
        sender=sender, recipients=recipients, subject=subject, at=at, code_number=code_number
    )
    if kind == "null-trace":
        package = dataclasses.replace(
            package,
            trace_headers=(TraceHeader("", at), TraceHeader("null", at)),
        )
    elif kind == "no-organ-name":
        package = dataclasses.replace(
            package,
            sender=Organization(package.sender.organ_id, None),
            recipients=tuple(Organization(r.organ_id, None) for r in package.recipients),
        )
    elif kind != "lower-case":
        raise ValueError(f"unknown real-world kind {kind!r}")
    return build_document(package)


def real_world_status(
    *, sender: str, counterparty: str, about_document_id: str, code: StatusCode
) -> bytes:
    """An unsigned status in the real-world shape: codes as given, From without OrganName."""
    status = new_status(
        sender=sender,
        about_document_id=about_document_id,
        counterparty=counterparty,
        code=code,
        at=vietnam_now(),
        staff="Văn thư",
    )
    return build_status(dataclasses.replace(status, sender=Organization(sender, None)))
