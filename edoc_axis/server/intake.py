"""POST /api/v1/documents: authenticate, examine, route-check, receipt, store."""

from __future__ import annotations

from datetime import datetime

import structlog
from aiohttp import web

from edoc_axis.core.ids import new_axis_id
from edoc_axis.core.intake import Examined
from edoc_axis.core.receipt import Receipt, sign_receipt
from edoc_axis.core.routing import idempotency_key, referenced_documents, routing_targets
from edoc_axis.edxml import DocumentPackage
from edoc_axis.errors import (
    AuthSenderMismatch,
    BusinessReferenceUnknown,
    CertificateNotAgency,
    DocumentConflict,
    EdocError,
    RateLimited,
    RecipientDisabled,
    RecipientUnknown,
    Unavailable,
)
from edoc_axis.server.admission import admitted
from edoc_axis.server.auth import calling_agency
from edoc_axis.server.context import SERVICES, AxisServices
from edoc_axis.store import Agency, NewDocument, StoredDocument

log = structlog.get_logger("edoc_axis.intake")


def receipt_response(document: StoredDocument, created: bool) -> web.Response:
    return web.Response(
        status=202 if created else 200,
        body=document.receipt,
        content_type="application/xml",
        headers={
            "Location": f"/api/v1/documents/{document.axis_id}",
            "Edoc-Axis-Id": document.axis_id,
        },
    )


async def submit_document(request: web.Request) -> web.Response:
    services = request.app[SERVICES]
    caller = await calling_agency(request)
    structlog.contextvars.bind_contextvars(sender=caller.code)
    try:
        return await _accept(request, services, caller)
    except EdocError as error:
        services.metrics.rejected.labels(code=error.code).inc()
        if isinstance(error, RateLimited | Unavailable):
            raise  # auditing a flood or an outage would only feed it
        await services.store.append_audit(
            "document.refused",
            services.clock.now(),
            agency=caller.code,
            detail={"code": error.code, "detail": error.detail[:500]},
        )
        raise


async def _accept(request: web.Request, services: AxisServices, caller: Agency) -> web.Response:
    async with admitted(request, services, caller, expect_kind="document") as examined:
        return await _process(services, caller, examined)


async def _process(services: AxisServices, caller: Agency, examined: Examined) -> web.Response:
    now = services.clock.now()
    package = examined.package
    assert isinstance(package, DocumentPackage)
    structlog.contextvars.bind_contextvars(document_id=package.document_id)
    key = idempotency_key(package, examined.sha256)
    existing = await services.store.find_document(caller.code, key)
    if existing is not None:
        return _resubmission(existing, examined, package.document_id)
    await _check_sender(services, caller, package, examined)
    recipients = await _route(services, package)
    await _check_references(services, caller, package)
    return await _store(services, caller, package, examined, key, recipients, now)


def _resubmission(existing: StoredDocument, examined: Examined, document_id: str) -> web.Response:
    if existing.sha256 != examined.sha256:
        raise DocumentConflict(
            "this DocumentId was already accepted from this sender with other content",
            document_id=document_id,
        )
    log.info("document.resubmitted", axis_id=existing.axis_id)
    return receipt_response(existing, created=False)


async def _check_sender(
    services: AxisServices, caller: Agency, package: DocumentPackage, examined: Examined
) -> None:
    declared = await services.store.get_agency(package.sender.organ_id)
    if declared is None or declared.code != caller.code:
        raise AuthSenderMismatch(
            f"the token belongs to {caller.code}, the envelope's From is {package.sender.organ_id}",
            document_id=package.document_id,
        )
    if examined.signer_fingerprint not in caller.certificate_fingerprints:
        raise CertificateNotAgency(
            f"the signing certificate is not registered to {caller.code}",
            document_id=package.document_id,
        )


async def _route(services: AxisServices, package: DocumentPackage) -> tuple[str, ...]:
    codes: dict[str, None] = {}  # ordered, and a set: linear in the recipients
    for organ_id in routing_targets(package):
        agency = await services.store.get_agency(organ_id)
        if agency is None:
            raise RecipientUnknown(
                f"recipient {organ_id} is not registered", document_id=package.document_id
            )
        if agency.state != "active":
            raise RecipientDisabled(
                f"recipient {organ_id} is disabled", document_id=package.document_id
            )
        codes.setdefault(agency.code)
    return tuple(codes)


async def _check_references(
    services: AxisServices, caller: Agency, package: DocumentPackage
) -> None:
    for reference in referenced_documents(package):
        if await services.store.find_document(caller.code, reference) is None:
            raise BusinessReferenceUnknown(
                f"business type {int(package.business_type)} names document {reference}, "
                f"which {caller.code} never sent",
                document_id=package.document_id,
            )


async def _store(
    services: AxisServices,
    caller: Agency,
    package: DocumentPackage,
    examined: Examined,
    key: str,
    recipients: tuple[str, ...],
    now: datetime,
) -> web.Response:
    axis_id = new_axis_id(now)
    legacy = examined.signature is not None and examined.signature.legacy
    receipt = Receipt(
        axis_name=services.config.axis_name,
        axis_id=axis_id,
        sender=caller.code,
        document_id=package.document_id,
        sha256=examined.sha256,
        accepted_at=now,
        recipients=recipients,
        legacy_policy=legacy,
    )
    signed = sign_receipt(receipt, services.axis_key, services.axis_cert)
    references = referenced_documents(package)
    result = await services.store.accept_document(
        NewDocument(
            axis_id=axis_id,
            sender_code=caller.code,
            document_id=package.document_id,
            idempotency_key=key,
            kind="document",
            business_type=int(package.business_type),
            references_document_id=references[0] if references else None,
            subject=package.subject,
            sha256=examined.sha256,
            raw=package.raw,
            received_at=now,
            receipt=signed,
            recipients=recipients,
            legacy_policy=legacy,
        )
    )
    if result.created:
        services.metrics.accepted.inc()
        for hook in services.on_accepted:
            hook()
        log.info("document.accepted", axis_id=axis_id, recipients=list(recipients))
    return receipt_response(result.document, result.created)
