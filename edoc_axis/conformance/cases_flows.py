"""FLOW-*: recall (13/15/16) and the revoke, update and replace business messages."""

from __future__ import annotations

from typing import Any

from edoc_axis.conformance.context import RunContext, Sent
from edoc_axis.conformance.corpus import E, _bytes, _detach, _tree
from edoc_axis.conformance.model import Case, Probe, collector
from edoc_axis.edxml import BusinessDocType, DocumentPackage, read_package

_cases: list[Case] = []
case = collector(_cases)
CODES = "EDXML.md §Status package: 13 recall, 15 agrees, 16 refuses"
BUSINESS = "EDXML.md §Document package: Bussiness (1 revoke, 2 update, 3 replace)"
CHECKS = "EDXML.md §Document package: checks beyond the schema"


async def _recall(ctx: RunContext, probe: Probe) -> Sent:
    sent = await ctx.send(probe)
    raw = ctx.status("sender", sent.document_id, "recipient", "13")
    probe.expect(await ctx.client("sender").post_status(raw), 202)
    return sent


@case(
    "FLOW-001",
    "the sender may ask to recall (13)",
    CODES,
    sends="'sender' posts a signed 13 about a document it sent to 'recipient'",
    expects="202",
)
async def recall(ctx: RunContext, probe: Probe) -> None:
    await _recall(ctx, probe)


async def _answer(ctx: RunContext, probe: Probe, code: str) -> None:
    sent = await _recall(ctx, probe)
    raw = ctx.status("recipient", sent.document_id, "sender", code)
    probe.expect(await ctx.client("recipient").post_status(raw), 202)
    feed = await ctx.status_feed("sender")
    codes = [s.get("status_code") for s in feed if s.get("document_id") == sent.document_id]
    probe.check(code in codes, f"the sender's feed lacks the {code}: {codes}")


@case(
    "FLOW-002",
    "a recipient agrees to a recall (15)",
    CODES,
    sends="13 from 'sender', then 15 from 'recipient'",
    expects="202 for both; the sender's feed lists 15",
)
async def recall_agreed(ctx: RunContext, probe: Probe) -> None:
    await _answer(ctx, probe, "15")


@case(
    "FLOW-003",
    "a recipient refuses a recall (16)",
    CODES,
    sends="13 from 'sender', then 16 from 'recipient'",
    expects="202 for both; the sender's feed lists 16",
)
async def recall_refused(ctx: RunContext, probe: Probe) -> None:
    await _answer(ctx, probe, "16")


@case(
    "FLOW-004",
    "the recipient learns of a recall",
    CODES,
    sends="13 from 'sender'; 'recipient' reads its status feed",
    expects="the 13 is in the recipient's feed",
    required=False,
)
async def recall_seen(ctx: RunContext, probe: Probe) -> None:
    sent = await _recall(ctx, probe)
    feed = await ctx.status_feed("recipient")
    codes = [s.get("status_code") for s in feed if s.get("document_id") == sent.document_id]
    probe.check("13" in codes, "the recipient's feed lacks the 13")


async def _business(
    ctx: RunContext, probe: Probe, kind: BusinessDocType, **extra: Any
) -> tuple[Sent, Sent]:
    original = await ctx.send(probe)
    followup = await ctx.send(
        probe, business_type=kind, business_reference=original.document_id, **extra
    )
    response = probe.expect(await ctx.client("recipient").inbox_document(followup.axis_id), 200)
    package = read_package(response.body)
    probe.check(isinstance(package, DocumentPackage), "not a document package")
    assert isinstance(package, DocumentPackage)
    probe.check(package.business_type == kind, f"delivered as type {package.business_type}")
    return original, followup


@case(
    "FLOW-005",
    "revoke of a sent document is accepted and delivered",
    BUSINESS,
    sends="a document, then a signed revoke (type 1) naming it",
    expects="202; the recipient can fetch the revoke",
)
async def revoke(ctx: RunContext, probe: Probe) -> None:
    await _business(ctx, probe, BusinessDocType.REVOKE)


@case(
    "FLOW-006",
    "update of a sent document is accepted and delivered",
    BUSINESS,
    sends="a document, then a signed update (type 2) with Bussiness/DocumentId",
    expects="202; the recipient can fetch the update",
)
async def update(ctx: RunContext, probe: Probe) -> None:
    await _business(ctx, probe, BusinessDocType.UPDATE)


@case(
    "FLOW-007",
    "replace of a sent document is accepted and delivered",
    BUSINESS,
    sends="a document, then a signed replace (type 3) with ReplacementInfoList",
    expects="202; the recipient can fetch the replacement",
)
async def replace(ctx: RunContext, probe: Probe) -> None:
    await _business(ctx, probe, BusinessDocType.REPLACE)


async def _unknown_reference(ctx: RunContext, probe: Probe, reference: str) -> None:
    raw = ctx.signed(business_type=BusinessDocType.REVOKE, business_reference=reference)
    probe.refused(await ctx.client("sender").submit(raw))
    probe.expected = "4xx refusal (ours: 422 business.unknown-document)"


@case(
    "FLOW-008",
    "revoke of a document never sent is refused",
    CHECKS,
    sends="a signed revoke naming a DocumentId nobody sent",
    expects="4xx refusal (ours: 422 business.unknown-document)",
)
async def revoke_unknown(ctx: RunContext, probe: Probe) -> None:
    await _unknown_reference(ctx, probe, ctx.fresh_id("NEVER"))


@case(
    "FLOW-009",
    "revoke of another agency's document is refused",
    CHECKS,
    sends="'second' sends a document; 'sender' revokes it by its DocumentId",
    expects="4xx refusal",
)
async def revoke_foreign(ctx: RunContext, probe: Probe) -> None:
    foreign = await ctx.send(probe, "second", ("recipient",))
    await _unknown_reference(ctx, probe, foreign.document_id)


async def _without(ctx: RunContext, probe: Probe, kind: BusinessDocType, part: str) -> None:
    original = await ctx.send(probe)
    raw = ctx.document(business_type=kind, business_reference=original.document_id)
    root = _tree(raw)
    node = root.find(f".//{E}Bussiness/{E}{part}")
    probe.check(node is not None, f"could not build the package without {part}")
    assert node is not None
    _detach(node)
    response = await ctx.client("sender").submit(ctx.sign(_bytes(root)))
    probe.expect(response, 400, "schema.invalid")


@case(
    "FLOW-010",
    "update without Bussiness/DocumentId is refused",
    CHECKS + " (2 needs it)",
    sends="a signed update (type 2) without Bussiness/DocumentId",
    expects="400 schema.invalid",
)
async def update_without_reference(ctx: RunContext, probe: Probe) -> None:
    await _without(ctx, probe, BusinessDocType.UPDATE, "DocumentId")


@case(
    "FLOW-011",
    "replace without ReplacementInfoList is refused",
    CHECKS + " (3 needs it)",
    sends="a signed replace (type 3) without ReplacementInfoList",
    expects="400 schema.invalid",
)
async def replace_without_list(ctx: RunContext, probe: Probe) -> None:
    await _without(ctx, probe, BusinessDocType.REPLACE, "ReplacementInfoList")


@case(
    "FLOW-012",
    "an update adding a recipient reaches it",
    "README: an update goes to its To list and every agency its ReceiverList adds",
    sends="a document to 'recipient', then an update to both adding 'second'",
    expects="202; 'second' finds the update in its inbox",
    required=False,
)
async def update_adds(ctx: RunContext, probe: Probe) -> None:
    original = await ctx.send(probe)
    followup = await ctx.send(
        probe,
        to=("recipient", "second"),
        business_type=BusinessDocType.UPDATE,
        business_reference=original.document_id,
        added_recipients=[ctx.code("second")],
    )
    probe.check(
        await ctx.find_in_inbox("second", followup.axis_id) is not None,
        "not in the added recipient's inbox",
        expected="in its inbox",
    )


@case(
    "FLOW-013",
    "a recipient agrees to an update (15)",
    CODES + " (15 answers recall/update)",
    sends="a document, an update naming it, then 15 from 'recipient'",
    expects="202 for the 15",
    required=False,
)
async def update_agreed(ctx: RunContext, probe: Probe) -> None:
    original, _ = await _business(ctx, probe, BusinessDocType.UPDATE)
    raw = ctx.status("recipient", original.document_id, "sender", "15")
    probe.expect(await ctx.client("recipient").post_status(raw), 202)


@case(
    "FLOW-014",
    "an identical revoke re-submitted returns the original receipt",
    "API.md §Agency API rules (README: business messages keyed with their digest)",
    sends="the same signed revoke twice",
    expects="202 then 200 with the same receipt",
)
async def revoke_again(ctx: RunContext, probe: Probe) -> None:
    _, followup = await _business(ctx, probe, BusinessDocType.REVOKE)
    again = probe.expect(await ctx.client("sender").submit(followup.raw), 200)
    probe.check(again.body == followup.response.body, "a different receipt")


CASES: tuple[Case, ...] = tuple(_cases)
