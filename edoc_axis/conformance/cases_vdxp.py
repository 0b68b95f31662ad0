"""VDXP-*: the reference transport (VDXP.md), as the official client speaks it.

Each case acts as the sender's or the recipient's connected system, signing
its requests as the official Java client does (``edoc_axis.vdxp_client``),
and checks the answer's JSON (``status``, ``ErrorCode``) and, where it
matters, that the native API sees the same store.
"""

from __future__ import annotations

import base64
import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any

from edoc_axis.conformance.model import Case, Probe, collector
from edoc_axis.conformance.vdxp_context import VdxpRunContext, expect_fail, expect_ok
from edoc_axis.vdxp_client import sdk_timestamp, unpadded_sha256

_cases: list[Case] = []
case = collector(_cases)
SEND = "VDXP.md §Calls: sendEdoc"
RECEIVE = "VDXP.md §Calls: getReceivedEdocList / getEdoc / downloadEdoc / updateStatus"
SENT = "VDXP.md §Calls: getSentEdocList"
AUTH = "VDXP.md §Authentication: HMAC headers"
ONE_STORE = "VDXP.md §What VDXP lacks: same intake checks, same store, both APIs"
QUIRKS = "VDXP.md §Authentication: quirks to accept"


async def _listed(ctx: VdxpRunContext, role: str, doc_id: str, kind: str = "edoc") -> Any:
    answer = await ctx.vdxp(role).received(kind)
    for row in answer.json().get("data", []):
        if row.get("docId") == doc_id:
            return row
    return None


@case(
    "VDXP-001",
    "sendEdoc accepts a signed document and answers its DocId",
    SEND,
    sends="the sender's system posts a signed package (body + CRLF, unpadded hash-file)",
    expects="OK, ErrorCode 0, a DocId",
)
async def send_accepts(ctx: VdxpRunContext, probe: Probe) -> None:
    doc_id = await ctx.vdxp_send(probe, ctx.signed())
    probe.check(bool(doc_id), "no DocId in the answer")


@case(
    "VDXP-002",
    "the same file again answers the same DocId",
    SEND + "; API.md idempotency",
    sends="the same package twice over VDXP",
    expects="OK twice, the same DocId",
)
async def send_idempotent(ctx: VdxpRunContext, probe: Probe) -> None:
    raw = ctx.signed()
    first = await ctx.vdxp_send(probe, raw)
    again = await ctx.vdxp_send(probe, raw)
    probe.check(first == again, f"DocIds differ: {first} then {again}", expected="same DocId")


@case(
    "VDXP-003",
    "a document sent over VDXP is in the recipient's native inbox, exact bytes",
    ONE_STORE,
    sends="a package over VDXP; the recipient reads its native inbox",
    expects="listed under the DocId; the same bytes",
)
async def vdxp_to_native(ctx: VdxpRunContext, probe: Probe) -> None:
    raw = ctx.signed()
    doc_id = await ctx.vdxp_send(probe, raw)
    fetched = probe.expect(await ctx.client("recipient").inbox_document(doc_id), 200)
    probe.check(fetched.body == raw, "the native inbox gives other bytes")


@case(
    "VDXP-004",
    "the signed receipt of a VDXP document is retrievable through the native API",
    ONE_STORE + "; API.md receipts",
    sends="a package over VDXP; the sender GETs /api/v1/documents/{DocId}/receipt",
    expects="200, the receipt names the DocId (and verifies, given --axis-cert)",
)
async def receipt_native(ctx: VdxpRunContext, probe: Probe) -> None:
    from edoc_axis.core.receipt import verify_receipt

    raw = ctx.signed()
    doc_id = await ctx.vdxp_send(probe, raw)
    path = f"/api/v1/documents/{doc_id}/receipt"
    answer = probe.expect(await ctx.client("sender").request("GET", path), 200)
    probe.check(doc_id.encode() in answer.body, "the receipt does not name the DocId")
    if ctx.target.axis_certs:
        receipt = verify_receipt(answer.body, ctx.target.axis_certs)
        probe.check(receipt.sha256 == hashlib.sha256(raw).hexdigest(), "receipt hash differs")


@case(
    "VDXP-005",
    "getReceivedEdocList and countReceiveEdoc show a waiting document",
    RECEIVE,
    sends="a document to the recipient; its system lists and counts",
    expects="OK; listed with from/to and contentSha256; count at least 1",
)
async def listed(ctx: VdxpRunContext, probe: Probe) -> None:
    raw = ctx.signed()
    doc_id = await ctx.vdxp_send(probe, raw)
    row = await _listed(ctx, "recipient", doc_id)
    probe.check(row is not None, "not listed", expected="listed")
    assert row is not None
    probe.check(row.get("from") == ctx.code("sender"), f"from is {row.get('from')}")
    probe.check(row.get("to") == ctx.code("recipient"), f"to is {row.get('to')}")
    probe.check(row.get("contentSha256") == hashlib.sha256(raw).hexdigest(), "wrong sha256")
    count = expect_ok(probe, await ctx.vdxp("recipient").call("countReceiveEdoc"))
    probe.check(int(count.get("count", 0)) >= 1, f"count is {count.get('count')}")


@case(
    "VDXP-006",
    "getEdoc gives the exact bytes, base64",
    RECEIVE,
    sends="the recipient's system calls getEdoc with the DocId",
    expects="OK; data decodes to the bytes sent",
)
async def get_exact(ctx: VdxpRunContext, probe: Probe) -> None:
    raw = ctx.signed()
    doc_id = await ctx.vdxp_send(probe, raw)
    data = expect_ok(probe, await ctx.vdxp("recipient").get(doc_id))
    probe.check(base64.b64decode(data.get("data", "")) == raw, "other bytes")


@case(
    "VDXP-007",
    "downloadEdoc streams the exact bytes",
    RECEIVE,
    sends="the recipient's system GETs downloadEdoc",
    expects="200; the body is the bytes sent",
)
async def download_exact(ctx: VdxpRunContext, probe: Probe) -> None:
    raw = ctx.signed()
    doc_id = await ctx.vdxp_send(probe, raw)
    answer = await ctx.vdxp("recipient").call("downloadEdoc", {"docId": doc_id}, http="GET")
    probe.check(answer.body == raw, f"HTTP {answer.http_status}, other bytes", expected="bytes")


@case(
    "VDXP-008",
    "updateStatus done acknowledges: the sender gets status 01, the list empties",
    RECEIVE + "; API.md ack (status 01)",
    sends="the recipient's system calls updateStatus done",
    expects="OK; the native trace shows acknowledged + 01; no longer listed",
)
async def done_acknowledges(ctx: VdxpRunContext, probe: Probe) -> None:
    doc_id = await ctx.vdxp_send(probe, ctx.signed())
    expect_ok(probe, await ctx.vdxp("recipient").update(doc_id, "done"))
    trace = probe.expect(await ctx.client("sender").trace(doc_id), 200).json()
    delivery = trace["deliveries"][0]
    probe.check(
        (delivery["state"], delivery["status_code"]) == ("acknowledged", "01"),
        f"delivery is {delivery['state']} {delivery['status_code']}",
    )
    probe.check(await _listed(ctx, "recipient", doc_id) is None, "still listed")


@case(
    "VDXP-009",
    "a replayed updateStatus changes nothing twice",
    AUTH + " (replay)",
    sends="the same signed updateStatus done three times",
    expects="OK each time; exactly one status 01",
)
async def replay_idempotent(ctx: VdxpRunContext, probe: Probe) -> None:
    doc_id = await ctx.vdxp_send(probe, ctx.signed())
    client = ctx.vdxp("recipient")
    headers = client.signed_headers({"docId": doc_id, "status": "done"})
    for _ in range(3):
        expect_ok(probe, await client.raw_call("updateStatus", headers))
    trace = probe.expect(await ctx.client("sender").trace(doc_id), 200).json()
    arrivals = [s for s in trace["deliveries"][0]["statuses"] if s["status_code"] == "01"]
    probe.check(len(arrivals) == 1, f"{len(arrivals)} statuses 01", expected="one 01")


@case(
    "VDXP-010",
    "updateStatus fail is a failed delivery in the sender's trace",
    RECEIVE,
    sends="the recipient's system calls updateStatus fail",
    expects="OK; the native trace shows the delivery dead with the reason",
)
async def fail_in_trace(ctx: VdxpRunContext, probe: Probe) -> None:
    doc_id = await ctx.vdxp_send(probe, ctx.signed())
    expect_ok(probe, await ctx.vdxp("recipient").update(doc_id, "fail"))
    delivery = probe.expect(await ctx.client("sender").trace(doc_id), 200).json()["deliveries"][0]
    probe.check(delivery["state"] == "dead", f"delivery is {delivery['state']}")
    probe.check(bool(delivery.get("last_error")), "no reason in the trace")


@case(
    "VDXP-011",
    "a status sent over VDXP reaches the sender's status list",
    SEND + " (messagetype status)",
    sends="the recipient's system sends a signed status 03 with messagetype=status",
    expects="OK with a DocId; the sender's system lists it (messagetype=status) and counts it",
)
async def status_travels(ctx: VdxpRunContext, probe: Probe) -> None:
    raw = ctx.signed()
    doc_id = await ctx.vdxp_send(probe, raw)
    expect_ok(probe, await ctx.vdxp("recipient").update(doc_id, "done"))
    document_id = (await ctx.client("sender").trace(doc_id)).json()["document_id"]
    status = ctx.status("recipient", document_id, "sender", "03")
    answer = await ctx.vdxp("recipient").send(status, ctx.code("recipient"), "status")
    status_id = str(expect_ok(probe, answer)["DocId"])
    row = await _listed(ctx, "sender", status_id, "status")
    probe.check(row is not None, "the status is not listed for the sender")
    got = expect_ok(probe, await ctx.vdxp("sender").get(status_id))
    probe.check(base64.b64decode(got["data"]) == status, "other status bytes")
    count = expect_ok(probe, await ctx.vdxp("sender").call("countReceiveStatus"))
    probe.check(int(count.get("count", 0)) >= 1, "countReceiveStatus is 0")


@case(
    "VDXP-012",
    "getSentEdocList shows each recipient's latest status",
    SENT,
    sends="a document, acknowledged with done; the sender's system asks with the DocId",
    expects="OK; one row to the recipient with receiveStatus 01",
)
async def sent_list(ctx: VdxpRunContext, probe: Probe) -> None:
    doc_id = await ctx.vdxp_send(probe, ctx.signed())
    expect_ok(probe, await ctx.vdxp("recipient").update(doc_id, "done"))
    rows = expect_ok(probe, await ctx.vdxp("sender").sent("edoc", doc_id))["data"]
    seen = [(r.get("senderDocId"), r.get("toCode"), r.get("receiveStatus")) for r in rows]
    wanted = [(doc_id, ctx.code("recipient"), "01")]
    probe.check(seen == wanted, f"rows {seen}", expected=str(wanted))


@case(
    "VDXP-013",
    "a document sent through the native API reaches the VDXP system",
    ONE_STORE,
    sends="the sender POSTs /api/v1/documents; the recipient's system lists and gets it",
    expects="listed under the axis id; getEdoc gives the bytes",
)
async def native_to_vdxp(ctx: VdxpRunContext, probe: Probe) -> None:
    sent = await ctx.send(probe)
    probe.check(await _listed(ctx, "recipient", sent.axis_id) is not None, "not listed")
    data = expect_ok(probe, await ctx.vdxp("recipient").get(sent.axis_id))
    probe.check(base64.b64decode(data["data"]) == sent.raw, "other bytes")


@case(
    "VDXP-014",
    "hash-file is accepted in the client's unpadded form and in full hex",
    QUIRKS,
    sends="a file whose SHA-256 has a byte below 0x10, with the unpadded hash; "
    "another with the full hex hash",
    expects="OK both",
)
async def hash_forms(ctx: VdxpRunContext, probe: Probe) -> None:
    raw = ctx.signed()
    while all(b >= 0x10 for b in hashlib.sha256(raw).digest()):
        raw = ctx.signed()
    probe.check(len(unpadded_sha256(raw)) < 64, "the hash is not in the short form")
    await ctx.vdxp_send(probe, raw)
    other = ctx.signed()
    client = ctx.vdxp("sender")
    params = {
        "servicetype": "eDoc",
        "messagetype": "edoc",
        "hash-file": hashlib.sha256(other).hexdigest(),
        "from": ctx.code("sender"),
    }
    headers = client.signed_headers(params, "application/octet-stream")
    expect_ok(probe, await client.raw_call("sendEdoc", headers, body=other + b"\r\n"))


@case(
    "VDXP-015",
    "a file that is not what hash-file says is refused",
    QUIRKS + "; hash-file is checked",
    sends="a package whose body was changed after hashing",
    expects="FAIL vdxp.hash-file",
)
async def hash_mismatch(ctx: VdxpRunContext, probe: Probe) -> None:
    raw = ctx.signed()
    client = ctx.vdxp("sender")
    headers = client.send_headers(raw, ctx.code("sender"))
    tampered = raw.replace(b"CONF", b"CONG", 1)
    expect_fail(probe, await client.raw_call("sendEdoc", headers, body=tampered), "vdxp.hash-file")


@case(
    "VDXP-016",
    "a wrong secret gets a FAIL the client can read, and nothing is stored",
    AUTH,
    sends="the sender's system id with another secret",
    expects="HTTP 200, FAIL vdxp.auth-failed",
)
async def wrong_secret(ctx: VdxpRunContext, probe: Probe) -> None:
    system = ctx.systems.get("sender")
    if system is None:
        probe.skip("needs the sender's VDXP system")
    assert system is not None
    impostor = ctx.as_system(system.system_id, system.secret + "x")
    raw = ctx.signed()
    expect_fail(probe, await impostor.send(raw, ctx.code("sender")), "vdxp.auth-failed")


@case(
    "VDXP-017",
    "an unknown system gets the same FAIL as a wrong secret",
    AUTH,
    sends="a system id the axis never registered",
    expects="HTTP 200, FAIL vdxp.auth-failed",
)
async def unknown_system(ctx: VdxpRunContext, probe: Probe) -> None:
    stranger = ctx.as_system("conf.nobody." + ctx.fresh_id(), "any-secret")
    expect_fail(probe, await stranger.call("countReceiveEdoc"), "vdxp.auth-failed")


@case(
    "VDXP-018",
    "a signed header changed in transit is refused",
    AUTH + ": every signed name must agree with the header sent",
    sends="a valid sendEdoc whose XroadVnpt-from header is changed after signing",
    expects="FAIL vdxp.header-mismatch",
)
async def tampered_header(ctx: VdxpRunContext, probe: Probe) -> None:
    raw = ctx.signed()
    client = ctx.vdxp("sender")
    headers = client.send_headers(raw, ctx.code("sender"))
    headers["XroadVnpt-from"] = ctx.code("recipient")
    answer = await client.raw_call("sendEdoc", headers, body=raw + b"\r\n")
    expect_fail(probe, answer, "vdxp.header-mismatch")


@case(
    "VDXP-019",
    "a parameter header that was not signed is refused",
    AUTH,
    sends="getReceivedEdocList with an extra, unsigned XroadVnpt-messagetype",
    expects="FAIL vdxp.header-mismatch",
)
async def unsigned_parameter(ctx: VdxpRunContext, probe: Probe) -> None:
    client = ctx.vdxp("recipient")
    headers = client.signed_headers({"servicetype": "eDoc"})
    headers["XroadVnpt-messagetype"] = "status"
    answer = await client.raw_call("getReceivedEdocList", headers)
    expect_fail(probe, answer, "vdxp.header-mismatch")


@case(
    "VDXP-020",
    "a request without the HMAC header set is refused",
    AUTH,
    sends="countReceiveEdoc with no XroadVnpt headers",
    expects="FAIL vdxp.unsigned",
)
async def unsigned(ctx: VdxpRunContext, probe: Probe) -> None:
    expect_fail(
        probe, await ctx.vdxp("recipient").raw_call("countReceiveEdoc", {}), "vdxp.unsigned"
    )


@case(
    "VDXP-021",
    "a system may not send From an agency it is not bound to",
    "VDXP.md §What VDXP lacks: sender binding",
    sends="the sender's system sends the recipient's own signed package, from=recipient",
    expects="FAIL auth.sender-mismatch; nothing stored",
)
async def unbound_sender(ctx: VdxpRunContext, probe: Probe) -> None:
    raw = ctx.signed("recipient", ("sender",))
    answer = await ctx.vdxp("sender").send(raw, ctx.code("recipient"))
    expect_fail(probe, answer, "auth.sender-mismatch")


@case(
    "VDXP-022",
    "an unsigned package is refused by the same intake checks",
    ONE_STORE + "; EDXML.md signature policy",
    sends="an unsigned package over VDXP",
    expects="FAIL signature.missing",
)
async def unsigned_package(ctx: VdxpRunContext, probe: Probe) -> None:
    answer = await ctx.vdxp("sender").send(ctx.document(), ctx.code("sender"))
    expect_fail(probe, answer, "signature.missing")


@case(
    "VDXP-023",
    "a timestamp far outside the freshness window is refused",
    QUIRKS + ": a generous, configurable window",
    sends="a correctly signed call dated 400 days ago",
    expects="FAIL vdxp.stale",
    required=False,
)
async def stale(ctx: VdxpRunContext, probe: Probe) -> None:
    client = ctx.vdxp("recipient")
    client.timestamp = sdk_timestamp(datetime.now(UTC) - timedelta(days=400))
    expect_fail(probe, await client.call("countReceiveEdoc"), "vdxp.stale")


@case(
    "VDXP-024",
    "getAgenciesList and getAgenciesListQD20 list the registry in both code forms",
    "VDXP.md §Calls: getAgenciesList / getAgenciesListQD20",
    sends="both calls from the sender's system",
    expects="OK; both list the recipient (code, code102)",
)
async def agencies(ctx: VdxpRunContext, probe: Probe) -> None:
    recipient = ctx.code("recipient")
    listed = expect_ok(probe, await ctx.vdxp("sender").call("getAgenciesList"))["data"]
    probe.check(recipient in [a.get("code") for a in listed], "recipient not in getAgenciesList")
    answer = await ctx.vdxp("sender").call("getAgenciesListQD20", {"level": "1"})
    qd20 = expect_ok(probe, answer)["data"]
    probe.check(recipient in [a.get("code102") for a in qd20], "recipient not in QD20 code102")


@case(
    "VDXP-025",
    "a message not addressed to the system is not found",
    RECEIVE,
    sends="the sender's system calls getEdoc on its own outgoing document",
    expects="FAIL not-found",
)
async def not_addressed(ctx: VdxpRunContext, probe: Probe) -> None:
    doc_id = await ctx.vdxp_send(probe, ctx.signed())
    expect_fail(probe, await ctx.vdxp("sender").get(doc_id), "not-found")


@case(
    "VDXP-026",
    "an unknown method answers FAIL, not an HTML 404",
    "VDXP.md §Calls: every answer is a JSON object",
    sends="a signed call to <prefix>/deleteEverything",
    expects="FAIL vdxp.method-unknown",
)
async def unknown_method(ctx: VdxpRunContext, probe: Probe) -> None:
    answer = await ctx.vdxp("sender").call("deleteEverything")
    expect_fail(probe, answer, "vdxp.method-unknown")


CASES: tuple[Case, ...] = tuple(_cases)
