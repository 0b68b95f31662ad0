"""POST /api/v1/documents: acceptance, receipts, idempotency, visibility."""

from __future__ import annotations

import hashlib

import aiohttp

from edoc_axis.core.receipt import verify_receipt
from edoc_axis.edxml import BusinessDocType
from tests.integration.server.conftest import RunningAxis, axis_certificate

G22, H49, G14 = "000.00.00.G22", "000.00.00.H49", "000.00.00.G14"


async def test_signed_document_is_accepted_with_a_verifiable_receipt(axis: RunningAxis) -> None:
    sender = await axis.register(G22)
    await axis.register(H49)
    await axis.register(G14)
    raw = axis.signed(sender, [H49, G14])

    response = await axis.submit(raw, sender)

    assert response.status == 202
    axis_id = response.headers["Edoc-Axis-Id"]
    assert response.headers["Location"] == f"/api/v1/documents/{axis_id}"
    receipt = verify_receipt(response.body, [axis_certificate(axis)])
    assert receipt.axis_id == axis_id
    assert receipt.sender == G22
    assert receipt.sha256 == hashlib.sha256(raw).hexdigest()
    assert receipt.recipients == (H49, G14)
    assert not receipt.legacy_policy
    stored = await axis.store.get_document(axis_id)
    assert stored is not None
    assert await axis.store.document_bytes(axis_id) == raw
    assert {d.recipient_code for d in await axis.store.deliveries_of(axis_id)} == {H49, G14}


async def test_exact_resubmission_returns_the_original_receipt(axis: RunningAxis) -> None:
    sender = await axis.register(G22)
    await axis.register(H49)
    raw = axis.signed(sender, [H49])
    first = await axis.submit(raw, sender)
    again = await axis.submit(raw, sender)
    assert (first.status, again.status) == (202, 200)
    assert again.body == first.body
    page = await axis.store.inbox(H49, limit=10)
    assert len(page.items) == 1


async def test_same_document_id_with_other_bytes_is_a_conflict(axis: RunningAxis) -> None:
    sender = await axis.register(G22)
    await axis.register(H49)
    first = axis.signed(sender, [H49], document_id="G22-DOC-1", subject="một")
    second = axis.signed(sender, [H49], document_id="G22-DOC-1", subject="hai")
    assert (await axis.submit(first, sender)).status == 202
    response = await axis.submit(second, sender)
    assert response.status == 409
    assert response.code == "document.conflict"
    assert response.json()["document_id"] == "G22-DOC-1"
    assert len((await axis.store.inbox(H49, limit=10)).items) == 1


async def test_a_resubmission_answers_the_stored_document_after_its_recipient_is_disabled(
    axis: RunningAxis,
) -> None:
    """The duplicate check is the store's unique key; a refusing check still finds the original."""
    sender = await axis.register(G22)
    await axis.register(H49)
    raw = axis.signed(sender, [H49], document_id="G22-DOC-2")
    first = await axis.submit(raw, sender)
    assert first.status == 202
    await axis.store.set_agency_state(H49, "disabled")
    again = await axis.submit(raw, sender)
    assert (again.status, again.body) == (200, first.body)
    other = axis.signed(sender, [H49], document_id="G22-DOC-2", subject="khác")
    conflict = await axis.submit(other, sender)
    assert (conflict.status, conflict.code) == (409, "document.conflict")
    fresh = await axis.submit(axis.signed(sender, [H49]), sender)
    assert (fresh.status, fresh.code) == (422, "recipient.disabled")


async def test_sender_and_recipients_read_the_exact_bytes_others_get_404(
    axis: RunningAxis,
) -> None:
    sender = await axis.register(G22)
    recipient = await axis.register(H49)
    outsider = await axis.register(G14)
    raw = axis.signed(sender, [H49])
    axis_id = (await axis.submit(raw, sender)).headers["Edoc-Axis-Id"]
    path = f"/api/v1/documents/{axis_id}"

    for kit in (sender, recipient):
        response = await axis.call("GET", path, token=kit.token, content_type=None)
        assert response.status == 200
        assert response.body == raw
    hidden = await axis.call("GET", path, token=outsider.token, content_type=None)
    assert (hidden.status, hidden.code) == (404, "not-found")
    missing = await axis.call("GET", "/api/v1/documents/nope", token=sender.token)
    assert (missing.status, missing.code) == (404, "not-found")


async def test_reference_multipart_form_with_file_doc_part(axis: RunningAxis) -> None:
    sender = await axis.register(G22)
    await axis.register(H49)
    raw = axis.signed(sender, [H49])
    form = aiohttp.FormData()
    form.add_field("file_doc", raw, filename="doc.edxml", content_type="application/xml")
    response = await axis.call("POST", "/api/v1/documents", token=sender.token, data=form)
    assert response.status == 202
    assert await axis.store.document_bytes(response.headers["Edoc-Axis-Id"]) == raw


async def test_from_may_use_a_registered_alias_code(axis: RunningAxis) -> None:
    sender = await axis.register(G22, aliases=("G22",))
    await axis.register(H49, aliases=("H49",))
    raw = sender.sign(axis.document("G22", ["H49"]))
    response = await axis.submit(raw, sender)
    assert response.status == 202
    receipt = verify_receipt(response.body, [axis_certificate(axis)])
    assert (receipt.sender, receipt.recipients) == (G22, (H49,))


async def test_business_messages_must_name_a_document_the_sender_sent(axis: RunningAxis) -> None:
    sender = await axis.register(G22)
    await axis.register(H49)
    original = axis.signed(sender, [H49], document_id="G22-ORIG")
    assert (await axis.submit(original, sender)).status == 202

    unknown = axis.signed(
        sender, [H49], business_type=BusinessDocType.UPDATE, business_reference="G22-NEVER"
    )
    refused = await axis.submit(unknown, sender)
    assert (refused.status, refused.code) == (422, "business.unknown-document")

    for business in (BusinessDocType.REVOKE, BusinessDocType.UPDATE, BusinessDocType.REPLACE):
        raw = axis.signed(sender, [H49], business_type=business, business_reference="G22-ORIG")
        response = await axis.submit(raw, sender)
        assert response.status == 202, (business, response.body)


async def test_revoke_under_the_original_document_id_is_not_a_conflict(axis: RunningAxis) -> None:
    """The reference SDK sends a revoke with the DocumentId of the document it revokes."""
    sender = await axis.register(G22)
    await axis.register(H49)
    original = axis.signed(sender, [H49], document_id="G22-SAME")
    assert (await axis.submit(original, sender)).status == 202
    revoke = axis.signed(
        sender, [H49], document_id="G22-SAME", business_type=BusinessDocType.REVOKE
    )
    first = await axis.submit(revoke, sender)
    again = await axis.submit(revoke, sender)
    assert (first.status, again.status) == (202, 200)
    assert again.body == first.body
    stored = await axis.store.get_document(first.headers["Edoc-Axis-Id"])
    assert stored is not None
    assert (stored.document_id, stored.business_type) == ("G22-SAME", 1)
