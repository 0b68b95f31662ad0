"""ENDPOINT-*: an agency's push endpoint, with the suite in the axis's place."""

from __future__ import annotations

import time

from edoc_axis.conformance.endpoint_context import EndpointContext
from edoc_axis.conformance.model import Case, Probe, collector
from edoc_axis.pki import create_ca, issue_axis_certificate

_cases: list[Case] = []
case = collector(_cases)
PUSH = "API.md §Push delivery"
SIGNED = PUSH + ": the axis's signature lets the endpoint tell the axis from an impostor"
OK = (200, 201, 202, 204)
REFUSED = "4xx refusal (the reference endpoint: 401)"


@case(
    "ENDPOINT-001",
    "a correctly signed delivery is accepted",
    PUSH + ": 2xx means delivered",
    sends="POST of a signed document with the axis's delivery signature headers",
    expects="2xx",
)
async def accepted(ctx: EndpointContext, probe: Probe) -> None:
    _, response = await ctx.deliver(ctx.document())
    probe.expect(response, OK)


@case(
    "ENDPOINT-002",
    "a re-delivery is de-duplicated",
    PUSH + ": retries after lost answers",
    sends="the same delivery again with Edoc-Attempt 2",
    expects="2xx again (stored once; the reference endpoint says duplicate)",
)
async def redelivery(ctx: EndpointContext, probe: Probe) -> None:
    body = ctx.document()
    axis_id, first = await ctx.deliver(body)
    probe.expect(first, OK)
    again = await ctx.post(body, ctx.signed_headers(ctx.facts(axis_id, attempt=2), body))
    probe.expect(again, OK)
    try:
        duplicate = again.json().get("duplicate")
    except ValueError:
        duplicate = None
    if duplicate is False:
        probe.check(False, "the endpoint stored the re-delivery as a new document")
    if duplicate:
        probe.note("the endpoint reported the re-delivery as a duplicate")


@case(
    "ENDPOINT-003",
    "an unsigned delivery is refused",
    SIGNED,
    sends="POST of a signed document without any delivery signature headers",
    expects=REFUSED,
)
async def unsigned(ctx: EndpointContext, probe: Probe) -> None:
    response = await ctx.post(ctx.document(), {"Content-Type": "application/xml"})
    probe.refused(response)


@case(
    "ENDPOINT-004",
    "an impostor's delivery is refused",
    SIGNED,
    sends="delivery headers signed with a key and certificate that are not the axis's",
    expects=REFUSED,
)
async def impostor(ctx: EndpointContext, probe: Probe) -> None:
    fake = issue_axis_certificate(create_ca("Impostor CA"), "impostor axis")
    body = ctx.document()
    headers = ctx.signed_headers(ctx.facts(ctx.new_id()), body, fake.key, fake.cert)
    probe.refused(await ctx.post(body, headers))


@case(
    "ENDPOINT-005",
    "a body changed after the axis signed is refused",
    SIGNED,
    sends="valid delivery headers with a different (also signed) document as body",
    expects=REFUSED,
)
async def swapped_body(ctx: EndpointContext, probe: Probe) -> None:
    body = ctx.document()
    headers = ctx.signed_headers(ctx.facts(ctx.new_id()), body)
    probe.refused(await ctx.post(ctx.document("V/v văn bản khác"), headers))


@case(
    "ENDPOINT-006",
    "a replayed old delivery is refused",
    SIGNED + " (freshness)",
    sends="correct axis signature over a timestamp one hour old",
    expects=REFUSED,
    required=False,
)
async def replay(ctx: EndpointContext, probe: Probe) -> None:
    body = ctx.document()
    facts = ctx.facts(ctx.new_id())
    stale = type(facts)(**{**facts.__dict__, "timestamp": facts.timestamp - 3600})
    probe.refused(await ctx.post(body, ctx.signed_headers(stale, body)))


@case(
    "ENDPOINT-007",
    "the endpoint answers within the axis's read timeout",
    PUSH + ": timeouts are retried (an endpoint must answer in time)",
    sends="a correctly signed delivery, timed",
    expects="2xx within the configured read timeout (default 30 s)",
)
async def answers_in_time(ctx: EndpointContext, probe: Probe) -> None:
    started = time.monotonic()
    _, response = await ctx.deliver(ctx.document())
    elapsed = time.monotonic() - started
    probe.expect(response, OK)
    limit = ctx.target.read_timeout_s
    probe.expected, probe.observed = (
        f"2xx within {limit:g} s",
        f"{response.status} in {elapsed:.2f} s",
    )
    probe.check(elapsed < limit, f"answered after {elapsed:.1f} s (limit {limit:g} s)")


@case(
    "ENDPOINT-008",
    "a document whose own signature is broken is refused",
    "CLI.md §edoc endpoint: checks the axis's signature and the document's",
    sends="a correctly delivery-signed body whose document Subject was altered after signing",
    expects="4xx refusal (the reference endpoint: 422 signature.invalid)",
    required=False,
)
async def broken_document(ctx: EndpointContext, probe: Probe) -> None:
    body = ctx.document("Giữ nguyên").replace("Giữ nguyên".encode(), "Đã sửa".encode())
    _, response = await ctx.deliver(body)
    probe.refused(response)


@case(
    "ENDPOINT-009",
    "a pushed status message is accepted",
    PUSH + ": status messages are pushed the same way",
    sends="a correctly signed delivery of kind 'status' carrying a signed status 03",
    expects="2xx",
    required=False,
)
async def status_push(ctx: EndpointContext, probe: Probe) -> None:
    _, response = await ctx.deliver(ctx.status(f"CONF-EP-{ctx.new_id()}"), kind="status")
    probe.expect(response, OK)


@case(
    "ENDPOINT-010",
    "other bytes under a delivered id are not silently stored",
    PUSH + " (a delivery id names one document)",
    sends="a second, different document under an axis id already delivered",
    expects="4xx refusal (the reference endpoint: 409)",
    required=False,
)
async def other_bytes(ctx: EndpointContext, probe: Probe) -> None:
    axis_id, first = await ctx.deliver(ctx.document())
    probe.expect(first, OK)
    body = ctx.document("V/v văn bản thứ hai")
    probe.refused(await ctx.post(body, ctx.signed_headers(ctx.facts(axis_id, attempt=2), body)))


CASES: tuple[Case, ...] = tuple(_cases)
