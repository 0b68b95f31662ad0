"""FLOW-015..020: one identity rule for every business type, one answer per recall round.

A document of any business type is (sender, DocumentId): recipients send
statuses on replacements and updates as on new documents, and a DocumentId
re-used with other content is a conflict whatever the type (issue 13).
"""

from __future__ import annotations

from edoc_axis.conformance.context import RunContext, Sent
from edoc_axis.conformance.model import Case, Probe, collector
from edoc_axis.edxml import BusinessDocType

_cases: list[Case] = []
case = collector(_cases)
IDENTITY = "API.md §Identifiers: (sender OrganId, DocumentId) is the business key"
RULES = "API.md §Agency API rules: same (sender, DocumentId) with other bytes is 409"
ROUNDS = "EDXML.md §Status package: 15/16 answer the recall (README: one answer per 13)"


async def _followup(ctx: RunContext, probe: Probe, kind: BusinessDocType) -> tuple[Sent, Sent]:
    original = await ctx.send(probe)
    followup = await ctx.send(probe, business_type=kind, business_reference=original.document_id)
    return original, followup


async def _status_on(ctx: RunContext, probe: Probe, sent: Sent) -> None:
    probe.expect(await ctx.client("recipient").ack(sent.axis_id), 200)
    raw = ctx.status("recipient", sent.document_id, "sender", "03")
    probe.expect(await ctx.client("recipient").post_status(raw), 202)
    feed = await ctx.status_feed("sender")
    codes = [s.get("status_code") for s in feed if s.get("document_id") == sent.document_id]
    probe.check("03" in codes, f"the sender's feed lacks the 03: {codes}")


@case(
    "FLOW-015",
    "a recipient sends statuses on a replacement",
    IDENTITY,
    sends="a document, a replacement with its own DocumentId; 'recipient' acks it and posts 03 "
    "naming the replacement's DocumentId",
    expects="202; the sender's feed lists the 03",
)
async def status_on_replacement(ctx: RunContext, probe: Probe) -> None:
    _, replacement = await _followup(ctx, probe, BusinessDocType.REPLACE)
    await _status_on(ctx, probe, replacement)


@case(
    "FLOW-016",
    "a recipient sends statuses on an update",
    IDENTITY,
    sends="a document, an update with its own DocumentId; 'recipient' acks it and posts 03 "
    "naming the update's DocumentId",
    expects="202; the sender's feed lists the 03",
)
async def status_on_update(ctx: RunContext, probe: Probe) -> None:
    _, update = await _followup(ctx, probe, BusinessDocType.UPDATE)
    await _status_on(ctx, probe, update)


@case(
    "FLOW-017",
    "a second, different replacement under one DocumentId is a conflict",
    RULES,
    sends="a document, a replacement, then another replacement with the same DocumentId and "
    "other content",
    expects="409 document.conflict",
)
async def replacement_conflict(ctx: RunContext, probe: Probe) -> None:
    original, replacement = await _followup(ctx, probe, BusinessDocType.REPLACE)
    raw = ctx.signed(
        document_id=replacement.document_id,
        business_type=BusinessDocType.REPLACE,
        business_reference=original.document_id,
        subject="V/v thay thế khác",
    )
    probe.expect(await ctx.client("sender").submit(raw), 409, "document.conflict")


@case(
    "FLOW-018",
    "a new document re-using a replacement's DocumentId is a conflict",
    RULES,
    sends="a document, a replacement, then a new document (type 0) with the replacement's "
    "DocumentId",
    expects="409 document.conflict",
)
async def new_reusing_replacement(ctx: RunContext, probe: Probe) -> None:
    _, replacement = await _followup(ctx, probe, BusinessDocType.REPLACE)
    raw = ctx.signed(document_id=replacement.document_id)
    probe.expect(await ctx.client("sender").submit(raw), 409, "document.conflict")


async def _recall(ctx: RunContext, probe: Probe, sent: Sent, answer: str) -> None:
    recall = ctx.status("sender", sent.document_id, "recipient", "13")
    probe.expect(await ctx.client("sender").post_status(recall), 202)
    raw = ctx.status("recipient", sent.document_id, "sender", answer)
    probe.expect(await ctx.client("recipient").post_status(raw), 202)


@case(
    "FLOW-019",
    "a recall gets one answer",
    ROUNDS,
    sends="13 from 'sender', 16 from 'recipient', then 15 from 'recipient'",
    expects="202, 202, then a 4xx refusal for the 15 (ours: 409 status.transition)",
)
async def one_answer(ctx: RunContext, probe: Probe) -> None:
    sent = await ctx.send(probe)
    await _recall(ctx, probe, sent, "16")
    second = ctx.status("recipient", sent.document_id, "sender", "15")
    probe.refused(await ctx.client("recipient").post_status(second))
    probe.expected = "4xx refusal (ours: 409 status.transition)"


@case(
    "FLOW-020",
    "a new recall after the answer opens a new round",
    ROUNDS,
    sends="13, 16, then 13 again from 'sender' and 15 from 'recipient'",
    expects="202 for all four; the sender's feed lists 16 and 15",
)
async def second_round(ctx: RunContext, probe: Probe) -> None:
    sent = await ctx.send(probe)
    await _recall(ctx, probe, sent, "16")
    await _recall(ctx, probe, sent, "15")
    feed = await ctx.status_feed("sender")
    codes = [s.get("status_code") for s in feed if s.get("document_id") == sent.document_id]
    probe.check(codes == ["16", "15"], f"the sender's feed shows {codes}", expected="16, 15")


CASES: tuple[Case, ...] = tuple(_cases)
