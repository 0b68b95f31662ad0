"""STATUS-*: status messages, who may send which code, and the per-recipient state machine."""

from __future__ import annotations

from edoc_axis.conformance.context import RunContext, Sent
from edoc_axis.conformance.model import Case, Probe, collector

_cases: list[Case] = []
case = collector(_cases)
MACHINE = "EDXML.md §Status package: never backwards, 02 and 06 final"
WHO = "EDXML.md §Status package: codes and who may send them"
POST = "API.md §Agency API: POST /api/v1/statuses"
ERR = "API.md §Error codes: "
REFUSED = "4xx refusal (the spec names no code; ours is 409 status.transition)"


async def _progress(ctx: RunContext, probe: Probe, sent: Sent, *codes: str) -> None:
    """'recipient' posts ``codes`` in order; each must be accepted."""
    for code in codes:
        raw = ctx.status("recipient", sent.document_id, "sender", code)
        probe.expect(await ctx.client("recipient").post_status(raw), (200, 202))


async def _feed_codes(ctx: RunContext, sent: Sent, role: str = "sender") -> list[str]:
    feed = await ctx.status_feed(role)
    return [str(s.get("status_code")) for s in feed if s.get("document_id") == sent.document_id]


@case(
    "STATUS-001",
    "recipient's signed status reaches the sender",
    POST,
    sends="'recipient' posts a signed 03 about a document it received",
    expects="202; the sender's GET /api/v1/statuses lists 03 for that DocumentId",
)
async def accepted(ctx: RunContext, probe: Probe) -> None:
    sent = await ctx.send(probe)
    raw = ctx.status("recipient", sent.document_id, "sender", "03")
    probe.expect(await ctx.client("recipient").post_status(raw), 202)
    probe.check("03" in await _feed_codes(ctx, sent), "the sender's feed lacks the 03")


@case(
    "STATUS-002",
    "identical status re-post creates nothing new",
    POST,
    sends="the same signed 03 posted twice",
    expects="2xx both times; one 03 in the feed",
    required=False,
)
async def repost(ctx: RunContext, probe: Probe) -> None:
    sent = await ctx.send(probe)
    raw = ctx.status("recipient", sent.document_id, "sender", "03")
    probe.expect(await ctx.client("recipient").post_status(raw), 202)
    probe.expect(await ctx.client("recipient").post_status(raw), (200, 202))
    codes = await _feed_codes(ctx, sent)
    probe.check(codes.count("03") == 1, f"feed holds {codes}")


async def _refused_after(ctx: RunContext, probe: Probe, first: tuple[str, ...], then: str) -> None:
    sent = await ctx.send(probe)
    await _progress(ctx, probe, sent, *first)
    raw = ctx.status("recipient", sent.document_id, "sender", then)
    probe.refused(await ctx.client("recipient").post_status(raw))
    probe.expected = REFUSED
    codes = await _feed_codes(ctx, sent)
    probe.check(codes.count(then) == first.count(then), f"the refused {then} was recorded: {codes}")


@case(
    "STATUS-003",
    "a status never moves a delivery backwards",
    MACHINE,
    sends="'recipient' posts 05, then 03",
    expects=REFUSED + "; 03 not recorded",
)
async def backwards(ctx: RunContext, probe: Probe) -> None:
    await _refused_after(ctx, probe, ("05",), "03")


@case(
    "STATUS-004",
    "nothing follows 06 (finished)",
    MACHINE,
    sends="'recipient' posts 06, then 05",
    expects=REFUSED,
)
async def after_finished(ctx: RunContext, probe: Probe) -> None:
    await _refused_after(ctx, probe, ("06",), "05")


@case(
    "STATUS-005",
    "nothing follows 02 (refused)",
    MACHINE,
    sends="'recipient' posts 02, then 03",
    expects=REFUSED,
)
async def after_refused(ctx: RunContext, probe: Probe) -> None:
    await _refused_after(ctx, probe, ("02",), "03")


@case(
    "STATUS-006",
    "steps may be skipped",
    MACHINE + " (steps may be skipped)",
    sends="'recipient' posts 03, then 06 directly",
    expects="202 for both",
)
async def skipping(ctx: RunContext, probe: Probe) -> None:
    sent = await ctx.send(probe)
    await _progress(ctx, probe, sent, "03", "06")


@case(
    "STATUS-007",
    "the whole progress 03 04 05 06 is accepted in order",
    MACHINE,
    sends="'recipient' posts 03, 04, 05, 06",
    expects="2xx for each; all four in the feed",
)
async def full_progress(ctx: RunContext, probe: Probe) -> None:
    sent = await ctx.send(probe)
    await _progress(ctx, probe, sent, "03", "04", "05", "06")
    codes = await _feed_codes(ctx, sent)
    probe.check(all(c in codes for c in ("03", "04", "05", "06")), f"feed holds {codes}")


@case(
    "STATUS-008",
    "progress is per recipient",
    MACHINE + " (per recipient)",
    sends="a document to two recipients; 'recipient' posts 06, then 'second' posts 03",
    expects="202 for both",
)
async def per_recipient(ctx: RunContext, probe: Probe) -> None:
    sent = await ctx.send(probe, to=("recipient", "second"))
    await _progress(ctx, probe, sent, "06")
    raw = ctx.status("second", sent.document_id, "sender", "03")
    probe.expect(await ctx.client("second").post_status(raw), 202)


@case(
    "STATUS-009",
    "the sender may not send a recipient's code",
    WHO,
    sends="'sender' posts 03 about its own document",
    expects="4xx refusal",
)
async def sender_sends_recipient_code(ctx: RunContext, probe: Probe) -> None:
    sent = await ctx.send(probe)
    raw = ctx.status("sender", sent.document_id, "recipient", "03")
    probe.refused(await ctx.client("sender").post_status(raw))


@case(
    "STATUS-010",
    "a recipient may not send 13 (recall)",
    WHO,
    sends="'recipient' posts 13 about a document it received",
    expects="4xx refusal",
)
async def recipient_recalls(ctx: RunContext, probe: Probe) -> None:
    sent = await ctx.send(probe)
    raw = ctx.status("recipient", sent.document_id, "sender", "13")
    probe.refused(await ctx.client("recipient").post_status(raw))


@case(
    "STATUS-011",
    "15 without a pending recall is refused",
    WHO + " (15/16 answer a recall)",
    sends="'recipient' posts 15 with no recall pending",
    expects=REFUSED,
)
async def answer_without_recall(ctx: RunContext, probe: Probe) -> None:
    sent = await ctx.send(probe)
    raw = ctx.status("recipient", sent.document_id, "sender", "15")
    probe.refused(await ctx.client("recipient").post_status(raw))


@case(
    "STATUS-012",
    "a status From another agency than the token's is refused",
    ERR + "auth.sender-mismatch",
    sends="a status From 'second' (signed by it) posted with the token of 'recipient'",
    expects="403 auth.sender-mismatch",
)
async def status_sender_mismatch(ctx: RunContext, probe: Probe) -> None:
    sent = await ctx.send(probe)
    raw = ctx.status("second", sent.document_id, "sender", "03")
    probe.expect(await ctx.client("recipient").post_status(raw), 403, "auth.sender-mismatch")


@case(
    "STATUS-013",
    "a status signed with another agency's certificate is refused",
    ERR + "certificate.not-agency",
    sends="'recipient''s status signed with the key and cert of 'second'",
    expects="422 certificate.not-agency",
)
async def status_other_cert(ctx: RunContext, probe: Probe) -> None:
    sent = await ctx.send(probe)
    raw = ctx.status("recipient", sent.document_id, "sender", "03", signer="second")
    response = await ctx.client("recipient").post_status(raw)
    probe.expect(response, 422, "certificate.not-agency")


@case(
    "STATUS-014",
    "a tampered signed status is refused",
    ERR + "signature.invalid",
    sends="a signed 05 whose StatusCode was changed to 04 after signing",
    expects="422 signature.invalid",
)
async def status_tampered(ctx: RunContext, probe: Probe) -> None:
    sent = await ctx.send(probe)
    raw = ctx.status("recipient", sent.document_id, "sender", "05")
    raw = raw.replace(b"StatusCode>05<", b"StatusCode>04<")
    probe.expect(await ctx.client("recipient").post_status(raw), 422, "signature.invalid")


@case(
    "STATUS-015",
    "a status with an entity declaration is refused",
    ERR + "xml.forbidden",
    sends="a signed status with an XXE DOCTYPE",
    expects="400 xml.forbidden",
)
async def status_xxe(ctx: RunContext, probe: Probe) -> None:
    sent = await ctx.send(probe)
    raw = ctx.status("recipient", sent.document_id, "sender", "03")
    head, _, rest = raw.partition(b"?>")
    evil = head + b'?>\n<!DOCTYPE edXML [<!ENTITY x SYSTEM "file:///etc/passwd">]>' + rest
    probe.expect(await ctx.client("recipient").post_status(evil), 400, "xml.forbidden")


@case(
    "STATUS-016",
    "a document package posted as a status is a schema error",
    ERR + "schema.invalid",
    sends="a signed document to POST /api/v1/statuses",
    expects="400 schema.invalid",
)
async def document_as_status(ctx: RunContext, probe: Probe) -> None:
    response = await ctx.client("sender").post_status(ctx.signed())
    probe.expect(response, 400, "schema.invalid")


@case(
    "STATUS-017",
    "a status about an unknown DocumentId is not found",
    "API.md §Agency API rules: statuses only for documents received (404)",
    sends="'recipient' posts 03 about a DocumentId never sent",
    expects="404 not-found",
)
async def unknown_document(ctx: RunContext, probe: Probe) -> None:
    raw = ctx.status("recipient", ctx.fresh_id("NONE"), "sender", "03")
    probe.expect(await ctx.client("recipient").post_status(raw), 404, "not-found")


@case(
    "STATUS-018",
    "a refused status is not delivered to the sender",
    MACHINE,
    sends="'recipient' posts 06, then a 04 that is refused",
    expects="the feed holds only 06",
)
async def refused_not_recorded(ctx: RunContext, probe: Probe) -> None:
    sent = await ctx.send(probe)
    await _progress(ctx, probe, sent, "06")
    raw = ctx.status("recipient", sent.document_id, "sender", "04")
    probe.refused(await ctx.client("recipient").post_status(raw))
    codes = await _feed_codes(ctx, sent)
    probe.check("04" not in codes, f"the refused 04 reached the sender: {codes}")


CASES: tuple[Case, ...] = tuple(_cases)
