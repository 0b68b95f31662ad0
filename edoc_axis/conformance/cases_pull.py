"""PULL-*: the inbox, exact bytes, acknowledgement (status 01) and the trace."""

from __future__ import annotations

import hashlib
import json

from edoc_axis.conformance.context import RunContext
from edoc_axis.conformance.corpus import attachment
from edoc_axis.conformance.model import Case, Probe, collector

_cases: list[Case] = []
case = collector(_cases)
INBOX = "API.md §Agency API: GET /api/v1/inbox"
ACK = "API.md §Agency API: POST /api/v1/inbox/{id}/ack (delivery receipt, status 01)"
IDEMPOTENT = "API.md §Agency API rules: inbox listing and ack are idempotent"


async def _arrivals(ctx: RunContext, document_id: str) -> int:
    feed = await ctx.status_feed("sender")
    return sum(
        1 for s in feed if s.get("document_id") == document_id and s.get("status_code") == "01"
    )


@case(
    "PULL-001",
    "the inbox lists a waiting document",
    INBOX,
    sends="a document to 'recipient'; 'recipient' lists its inbox",
    expects="200 JSON; the axis id is listed",
)
async def listed(ctx: RunContext, probe: Probe) -> None:
    sent = await ctx.send(probe)
    found = await ctx.find_in_inbox("recipient", sent.axis_id)
    probe.check(found is not None, "not listed", expected="listed")


@case(
    "PULL-002",
    "the inbox gives the exact signed bytes",
    "API.md §Agency API: GET /api/v1/inbox/{id}; EDXML.md §Signatures: never rewritten",
    sends="'recipient' GETs /api/v1/inbox/{id} of a document with an attachment",
    expects="200; SHA-256 equal to the bytes sent",
)
async def exact_bytes(ctx: RunContext, probe: Probe) -> None:
    sent = await ctx.send(probe, attachments=[attachment()])
    response = probe.expect(await ctx.client("recipient").inbox_document(sent.axis_id), 200)
    same = hashlib.sha256(response.body).digest() == hashlib.sha256(sent.raw).digest()
    probe.check(same, "the delivered bytes differ from the bytes sent")


@case(
    "PULL-003",
    "ack makes status 01 for the sender",
    ACK,
    sends="'recipient' acks the document",
    expects="200; the sender's feed gets 01",
)
async def ack_makes_arrival(ctx: RunContext, probe: Probe) -> None:
    sent = await ctx.send(probe)
    probe.expect(await ctx.client("recipient").ack(sent.axis_id), 200)
    probe.check(await _arrivals(ctx, sent.document_id) >= 1, "no 01 in the sender's feed")


@case(
    "PULL-004",
    "acking twice is fine and makes one 01",
    IDEMPOTENT,
    sends="'recipient' acks the same document twice",
    expects="200 both times; exactly one 01 in the sender's feed",
)
async def ack_twice(ctx: RunContext, probe: Probe) -> None:
    sent = await ctx.send(probe)
    for _ in range(2):
        probe.expect(await ctx.client("recipient").ack(sent.axis_id), 200)
    count = await _arrivals(ctx, sent.document_id)
    probe.check(count == 1, f"{count} status 01 messages for one document")


@case(
    "PULL-005",
    "an acknowledged document no longer waits in the inbox",
    INBOX,
    sends="ack, then list the whole inbox",
    expects="the document is not listed",
)
async def acked_leaves(ctx: RunContext, probe: Probe) -> None:
    sent = await ctx.send(probe)
    probe.expect(await ctx.client("recipient").ack(sent.axis_id), 200)
    found = await ctx.find_in_inbox("recipient", sent.axis_id)
    probe.check(found is None, "the acknowledged document is still listed")


@case(
    "PULL-006",
    "listing the inbox twice changes nothing",
    IDEMPOTENT,
    sends="'recipient' lists its inbox twice",
    expects="the document is listed both times",
)
async def listing_idempotent(ctx: RunContext, probe: Probe) -> None:
    sent = await ctx.send(probe)
    for attempt in ("first", "second"):
        found = await ctx.find_in_inbox("recipient", sent.axis_id)
        probe.check(found is not None, f"not listed the {attempt} time", expected="listed twice")


async def _walk(ctx: RunContext, role: str, limit: int) -> list[str]:
    ids: list[str] = []
    cursor: str | None = None
    for _ in range(10_000):
        page = (await ctx.client(role).inbox(limit=limit, cursor=cursor)).json()
        ids += [str(item["id"]) for item in page.get("items", [])]
        cursor = page.get("next_cursor")
        if not cursor:
            break
    return ids


@case(
    "PULL-007",
    "the inbox is oldest first and pages with a cursor",
    INBOX + "?limit=N&cursor=C (oldest first)",
    sends="two documents to 'second'; walk its inbox with limit=1",
    expects="both listed once, in the order sent",
)
async def paging(ctx: RunContext, probe: Probe) -> None:
    first = await ctx.send(probe, to=("second",))
    second = await ctx.send(probe, to=("second",))
    ids = await _walk(ctx, "second", 1)
    probe.check(len(ids) == len(set(ids)), "an item was listed twice while paging")
    probe.check(first.axis_id in ids and second.axis_id in ids, "a document is missing")
    in_order = ids.index(first.axis_id) < ids.index(second.axis_id)
    probe.check(in_order, "not oldest first", expected="both, once, oldest first")
    for sent in (first, second):
        await ctx.client("second").ack(sent.axis_id)


@case(
    "PULL-008",
    "acking an unknown id is not found",
    ACK,
    sends="POST /api/v1/inbox/{random}/ack",
    expects="404 not-found",
)
async def ack_unknown(ctx: RunContext, probe: Probe) -> None:
    response = await ctx.client("recipient").ack("zz" + ctx.fresh_id("X").lower()[-12:])
    probe.expect(response, 404, "not-found")


@case(
    "PULL-009",
    "the sender's trace shows each recipient's delivery and statuses",
    "API.md §Agency API: GET /api/v1/documents/{id}/trace",
    sends="a document to two recipients; 'recipient' acks and posts 03; sender GETs the trace",
    expects="200 JSON naming both recipients and the 03",
)
async def trace(ctx: RunContext, probe: Probe) -> None:
    sent = await ctx.send(probe, to=("recipient", "second"))
    await ctx.client("recipient").ack(sent.axis_id)
    raw = ctx.status("recipient", sent.document_id, "sender", "03")
    probe.expect(await ctx.client("recipient").post_status(raw), 202)
    response = probe.expect(await ctx.client("sender").trace(sent.axis_id), 200)
    text = json.dumps(response.json())
    for role in ("recipient", "second"):
        probe.check(ctx.code(role) in text, f"the trace does not name '{role}'")
    probe.check('"03"' in text, "the trace does not show the 03")


@case(
    "PULL-010",
    "a bad inbox limit is refused",
    INBOX + "?limit=N",
    sends="GET /api/v1/inbox?limit=0",
    expects="400 (ours: request.invalid)",
    required=False,
)
async def bad_limit(ctx: RunContext, probe: Probe) -> None:
    response = await ctx.client("recipient").request("GET", "/api/v1/inbox?limit=0")
    probe.expect(response, 400)


CASES: tuple[Case, ...] = tuple(_cases)
