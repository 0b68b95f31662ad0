"""AUTH-*: tokens, sender identity, and what an agency may not see (404, never 403)."""

from __future__ import annotations

import json
import secrets

from edoc_axis.client import XML
from edoc_axis.conformance.context import RunContext, Sent
from edoc_axis.conformance.model import Case, Probe, collector

_cases: list[Case] = []
case = collector(_cases)
PARTIES = "API.md §Parties and authentication"
RULES = "API.md §Agency API rules: anything else is 404 (not 403)"
NOT_FOUND = "404 not-found"


@case(
    "AUTH-001",
    "submission without a token is refused",
    PARTIES + ": auth.required",
    sends="a valid signed document with no Authorization header",
    expects="401 auth.required",
)
async def no_token(ctx: RunContext, probe: Probe) -> None:
    response = await ctx.raw(
        "POST", "/api/v1/documents", data=ctx.signed(), headers={"Content-Type": XML}
    )
    probe.expect(response, 401, "auth.required")


@case(
    "AUTH-002",
    "submission with an unknown token is refused",
    PARTIES + ": auth.required",
    sends="a valid signed document with a random bearer token",
    expects="401 auth.required",
)
async def unknown_token(ctx: RunContext, probe: Probe) -> None:
    headers = {"Content-Type": XML, "Authorization": f"Bearer {secrets.token_urlsafe(24)}"}
    response = await ctx.raw("POST", "/api/v1/documents", data=ctx.signed(), headers=headers)
    probe.expect(response, 401, "auth.required")


@case(
    "AUTH-003",
    "a non-bearer Authorization scheme is refused",
    PARTIES + ": auth.required",
    sends="Authorization: Basic with the agency's token as password",
    expects="401 auth.required",
)
async def basic_scheme(ctx: RunContext, probe: Probe) -> None:
    headers = {"Authorization": f"Basic {ctx.creds('sender').token}"}
    probe.expect(await ctx.raw("GET", "/api/v1/inbox", headers=headers), 401, "auth.required")


@case(
    "AUTH-004",
    "the token's agency must be the envelope's sender",
    "API.md §Error codes: auth.sender-mismatch",
    sends="a document From 'sender', signed by 'sender', posted with the token of 'recipient'",
    expects="403 auth.sender-mismatch",
)
async def sender_mismatch(ctx: RunContext, probe: Probe) -> None:
    raw = ctx.signed("sender", ("second",))
    probe.expect(await ctx.client("recipient").submit(raw), 403, "auth.sender-mismatch")


@case(
    "AUTH-005",
    "reading the inbox without a token is refused",
    PARTIES + ": auth.required",
    sends="GET /api/v1/inbox with no Authorization header",
    expects="401 auth.required",
)
async def inbox_without_token(ctx: RunContext, probe: Probe) -> None:
    probe.expect(await ctx.raw("GET", "/api/v1/inbox"), 401, "auth.required")


async def _foreign(ctx: RunContext, probe: Probe) -> Sent:
    return await ctx.send(probe)  # from 'sender' to 'recipient'; 'second' is a stranger


@case(
    "AUTH-006",
    "another agency's inbox document is not found",
    RULES,
    sends="'second' GETs /api/v1/inbox/{id} of a document for 'recipient'",
    expects=NOT_FOUND,
)
async def foreign_inbox_document(ctx: RunContext, probe: Probe) -> None:
    sent = await _foreign(ctx, probe)
    probe.expect(await ctx.client("second").inbox_document(sent.axis_id), 404, "not-found")


@case(
    "AUTH-007",
    "another agency's document is not found",
    RULES,
    sends="'second' GETs /api/v1/documents/{id} of a document between two others",
    expects=NOT_FOUND,
)
async def foreign_document(ctx: RunContext, probe: Probe) -> None:
    sent = await _foreign(ctx, probe)
    probe.expect(await ctx.client("second").document(sent.axis_id), 404, "not-found")


@case(
    "AUTH-008",
    "another agency's trace is not found",
    RULES,
    sends="'second' GETs /api/v1/documents/{id}/trace of a document between two others",
    expects=NOT_FOUND,
)
async def foreign_trace(ctx: RunContext, probe: Probe) -> None:
    sent = await _foreign(ctx, probe)
    probe.expect(await ctx.client("second").trace(sent.axis_id), 404, "not-found")


@case(
    "AUTH-009",
    "acknowledging another agency's document is not found",
    RULES,
    sends="'second' POSTs /api/v1/inbox/{id}/ack for a document for 'recipient'",
    expects=NOT_FOUND,
)
async def foreign_ack(ctx: RunContext, probe: Probe) -> None:
    sent = await _foreign(ctx, probe)
    probe.expect(await ctx.client("second").ack(sent.axis_id), 404, "not-found")


@case(
    "AUTH-010",
    "another agency's document is not in one's inbox listing",
    "API.md §Agency API rules: a recipient sees only documents addressed to it",
    sends="'second' lists its whole inbox",
    expects="the foreign document is absent",
)
async def foreign_listing(ctx: RunContext, probe: Probe) -> None:
    sent = await _foreign(ctx, probe)
    found = await ctx.find_in_inbox("second", sent.axis_id)
    probe.check(found is None, "listed", expected="absent")


@case(
    "AUTH-011",
    "a status about a document not received is not found",
    "API.md §Agency API rules: statuses only for documents it received (404)",
    sends="'second' posts a signed 03 about a document 'sender' sent to 'recipient'",
    expects=NOT_FOUND,
)
async def status_not_received(ctx: RunContext, probe: Probe) -> None:
    sent = await _foreign(ctx, probe)
    raw = ctx.status("second", sent.document_id, "sender", "03")
    probe.expect(await ctx.client("second").post_status(raw), 404, "not-found")


@case(
    "AUTH-012",
    "an unknown axis id is not found",
    "API.md §Identifiers",
    sends="GET /api/v1/documents/{random id}",
    expects=NOT_FOUND,
)
async def unknown_id(ctx: RunContext, probe: Probe) -> None:
    response = await ctx.client("sender").document("zz" + secrets.token_hex(12))
    probe.expect(response, 404, "not-found")


@case(
    "AUTH-013",
    "an agency token does not open the operator API",
    "API.md §Operator API: operator calls carry an operator token",
    sends="GET /admin/v1/agencies with an agency's token",
    expects="401 auth.required (any 401/403/404 would protect it)",
    required=False,
)
async def operator_api(ctx: RunContext, probe: Probe) -> None:
    response = await ctx.client("sender").request("GET", "/admin/v1/agencies")
    probe.expect(response, 401, "auth.required")


@case(
    "AUTH-014",
    "a recipient's trace does not show other recipients",
    "API.md §Agency API rules: a recipient sees only what is addressed to it",
    sends="a document to 'recipient' and 'second'; 'recipient' GETs its trace",
    expects="200 without the other recipient's code",
    required=False,
)
async def recipient_trace(ctx: RunContext, probe: Probe) -> None:
    sent = await ctx.send(probe, to=("recipient", "second"))
    response = probe.expect(await ctx.client("recipient").trace(sent.axis_id), 200)
    shown = json.dumps(response.json().get("deliveries", response.json()))
    probe.check(ctx.code("second") not in shown, "the other recipient is visible")


CASES: tuple[Case, ...] = tuple(_cases)
