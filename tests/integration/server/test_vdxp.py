"""The VDXP transport over a real axis: the SDK's signing, one store for both dialects."""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import os
import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from edoc_axis.config import AxisConfig
from edoc_axis.core.receipt import verify_receipt
from edoc_axis.edxml import Attachment
from edoc_axis.store import Store
from edoc_axis.store.records import PIECEWISE_BYTES
from edoc_axis.vdxp_client import VdxpClient, sdk_timestamp
from tests.integration.server.conftest import (
    ConfigTweak,
    RunningAxis,
    axis_certificate,
    serve_axis,
)
from tests.integration.server.vdxp_kit import (
    A,
    B,
    VdxpPair,
    add_system,
    client,
    signed_status,
    unsigned_status,
    vdxp_pair,
)


@pytest.fixture(params=["sqlite", "postgresql"])
async def pair(
    request: pytest.FixtureRequest, tmp_path: Path, config_tweak: ConfigTweak
) -> AsyncIterator[VdxpPair]:
    """Two VDXP systems on an axis over each store backend (PostgreSQL: a schema of its own)."""
    store: Store | None = None
    if request.param == "postgresql":
        from edoc_axis.store.postgresql import PostgresStore

        dsn = request.getfixturevalue("postgres_dsn")
        schema = f"v_{secrets.token_hex(6)}"
        store = PostgresStore(dsn, migrate=True, schema=schema, min_size=1, max_size=5)
    async with serve_axis(tmp_path, config_tweak, store) as axis:
        yield await vdxp_pair(axis)


async def test_a_document_and_its_statuses_travel_both_ways(pair: VdxpPair) -> None:
    axis, a, b = pair.axis, pair.a, pair.b
    raw = axis.signed(a, [B])
    sent = await pair.client_a.send(raw, A)
    assert sent.ok, sent.body
    doc_id = sent.json()["DocId"]

    # the native API sees the same document, with a valid signed receipt
    document = await axis.store.get_document(doc_id)
    assert document is not None and document.sender_code == A
    assert await axis.store.document_bytes(doc_id) == raw
    receipt = verify_receipt(document.receipt, [axis_certificate(axis)])
    assert receipt.axis_id == doc_id and receipt.sha256 == hashlib.sha256(raw).hexdigest()
    assert base64.b64decode(sent.json()["Receipt"]) == document.receipt
    native_receipt = await axis.call("GET", f"/api/v1/documents/{doc_id}/receipt", token=a.token)
    assert native_receipt.body == document.receipt
    not_for_b = await axis.call("GET", f"/api/v1/documents/{doc_id}/receipt", token=b.token)
    assert not_for_b.status == 404

    # B lists, counts, gets the exact bytes, acknowledges with done
    count = await pair.client_b.call("countReceiveEdoc")
    assert count.json()["count"] == 1
    listed = (await pair.client_b.received()).json()["data"]
    assert [(row["docId"], row["from"], row["to"], row["status"]) for row in listed] == [
        (doc_id, A, B, "initial")
    ]
    assert listed[0]["contentSha256"] == hashlib.sha256(raw).hexdigest()
    got = await pair.client_b.get(doc_id)
    assert base64.b64decode(got.json()["data"]) == raw
    download = await pair.client_b.call("downloadEdoc", {"docId": doc_id}, http="GET")
    assert download.body == raw
    assert (await pair.client_b.update(doc_id, "done")).ok
    delivery = await axis.store.delivery_for(doc_id, B)
    assert delivery is not None and delivery.state == "acknowledged"
    assert delivery.status_code == "01"
    assert (await pair.client_b.received()).json()["data"] == []

    # B sends status 03 (signed); A collects it and sees it in its sent list
    status = signed_status(b, document.document_id, A, "03")
    answered = await pair.client_b.send(status, B, "status")
    assert answered.ok, answered.body
    status_id = answered.json()["DocId"]
    assert (await pair.client_a.call("countReceiveStatus")).json()["count"] == 2  # 01 and 03
    statuses = (await pair.client_a.received("status")).json()["data"]
    assert [(s["from"], s["statusCode"]) for s in statuses] == [(B, "01"), (B, "03")]
    assert base64.b64decode((await pair.client_a.get(status_id)).json()["data"]) == status
    assert (await pair.client_a.update(status_id, "done")).ok
    assert [s["statusCode"] for s in (await pair.client_a.received("status")).json()["data"]] == [
        "01"
    ]
    sent_rows = (await pair.client_a.sent()).json()["data"]
    assert [(r["senderDocId"], r["toCode"], r["receiveStatus"]) for r in sent_rows] == [
        (doc_id, B, "03")
    ]
    # and the native trace says the same
    trace = await axis.call("GET", f"/api/v1/documents/{doc_id}/trace", token=a.token)
    assert trace.json()["deliveries"][0]["status_code"] == "03"
    sent_statuses = (await pair.client_b.sent("status")).json()["data"]
    # the 01 the axis recorded for B's acknowledgement, then B's own 03
    assert [r["receiveStatus"] for r in sent_statuses] == ["01", "03"]
    assert sent_statuses[1]["senderDocId"] == status_id


async def test_unsigned_statuses_follow_require_signed_statuses(pair: VdxpPair) -> None:
    """The official client signs nothing: an unsigned 06 is refused, an unsigned 03 is not."""
    axis, a, b = pair.axis, pair.a, pair.b
    sent = await pair.client_a.send(axis.signed(a, [B]), A)
    doc_id = sent.json()["DocId"]
    document = await axis.store.get_document(doc_id)
    assert document is not None
    assert (await pair.client_b.update(doc_id, "done")).ok  # 01, as a native ack
    finished = await pair.client_b.send(
        unsigned_status(b, document.document_id, A, "06"), B, "status"
    )
    assert (finished.json()["status"], finished.error_code) == ("FAIL", "signature.missing")
    assert [s.status_code for s in await axis.store.statuses_of(doc_id)] == ["01"]
    assigned = await pair.client_b.send(
        unsigned_status(b, document.document_id, A, "03"), B, "status"
    )
    assert assigned.json()["status"] == "OK", assigned.json()
    assert [s.status_code for s in await axis.store.statuses_of(doc_id)] == ["01", "03"]


async def test_native_documents_reach_a_vdxp_system_and_back(pair: VdxpPair) -> None:
    axis, a, b = pair.axis, pair.a, pair.b
    raw = axis.signed(a, [B])
    axis_id = (await axis.submit(raw, a)).headers["Edoc-Axis-Id"]
    listed = (await pair.client_b.received()).json()["data"]
    assert [row["docId"] for row in listed] == [axis_id]
    # a VDXP-sent document reaches a native agency's inbox
    back = axis.signed(b, [A])
    doc_id = (await pair.client_b.send(back, B)).json()["DocId"]
    inbox = await axis.call("GET", "/api/v1/inbox", token=a.token)
    assert [item["id"] for item in inbox.json()["items"]] == [doc_id]
    fetched = await axis.call("GET", f"/api/v1/inbox/{doc_id}", token=a.token)
    assert fetched.body == back


async def test_the_same_file_again_answers_the_same_doc_id(pair: VdxpPair) -> None:
    raw = pair.axis.signed(pair.a, [B])
    first = await pair.client_a.send(raw, A)
    again = await pair.client_a.send(raw, A)
    assert first.ok and again.ok
    assert first.json()["DocId"] == again.json()["DocId"]
    assert (await pair.client_b.call("countReceiveEdoc")).json()["count"] == 1
    # and the native API answers the same document for the same bytes
    native = await pair.axis.submit(raw, pair.a)
    assert native.status == 200 and native.headers["Edoc-Axis-Id"] == first.json()["DocId"]


async def test_a_multipart_file_doc_and_a_padded_hash_are_accepted(pair: VdxpPair) -> None:
    import aiohttp

    raw = pair.axis.signed(pair.a, [B])
    params = {
        "servicetype": "eDoc",
        "messagetype": "edoc",
        "hash-file": hashlib.sha256(raw).hexdigest(),
        "from": A,
    }
    headers = pair.client_a.signed_headers(params, "multipart/form-data")
    form = aiohttp.FormData()
    form.add_field("file_doc", raw, filename="doc.edxml", content_type="application/xml")
    headers.pop("Content-Type")
    async with pair.axis.session.post(
        f"{pair.client_a.endpoint}/sendEdoc", data=form, headers=headers
    ) as response:
        answer = await response.json()
    assert answer["status"] == "OK", answer
    assert await pair.axis.store.document_bytes(answer["DocId"]) == raw


@pytest.mark.parametrize("trailer", [b"", b"\r\n"], ids=["no trailer", "CRLF trailer"])
@pytest.mark.parametrize("ending", [b"", b"\r\n"], ids=["file", "file ending in CRLF"])
async def test_the_file_is_cut_from_the_body_by_its_hash(
    pair: VdxpPair, trailer: bytes, ending: bytes
) -> None:
    raw = pair.axis.signed(pair.a, [B]) + ending
    headers = pair.client_a.send_headers(raw, A)
    answer = await pair.client_a.raw_call("sendEdoc", headers, body=raw + trailer)
    assert answer.json()["status"] == "OK", answer.json()
    assert await pair.axis.store.document_bytes(answer.json()["DocId"]) == raw


async def test_a_large_document_goes_through_vdxp_whole(pair: VdxpPair) -> None:
    # Over PIECEWISE_BYTES: getEdoc's base64 and downloadEdoc's bytes are written a
    # piece at a time, getEdoc's JSON exactly as for a small document.
    attachment = Attachment.from_bytes("cid:1", "big.bin", os.urandom(2_500_000))
    raw = pair.axis.signed(pair.a, [B], attachments=[attachment])
    assert len(raw) >= 3 * PIECEWISE_BYTES
    sent = await pair.client_a.send(raw, A)
    assert sent.ok, sent.body
    doc_id = sent.json()["DocId"]
    got = await pair.client_b.get(doc_id)
    expected = {"status": "OK", "ErrorCode": "0", "ErrorDesc": "Success"}
    expected |= {"data": base64.b64encode(raw).decode("ascii"), "filePath": ""}
    assert got.body == json.dumps(expected).encode("ascii")
    download = await pair.client_b.call("downloadEdoc", {"docId": doc_id}, http="GET")
    assert download.body == raw
    assert download.headers["Edoc-Sha256"] == hashlib.sha256(raw).hexdigest()


async def test_a_file_that_does_not_match_its_hash_is_refused(pair: VdxpPair) -> None:
    raw = pair.axis.signed(pair.a, [B])
    headers = pair.client_a.send_headers(raw, A)
    answer = await pair.client_a.raw_call("sendEdoc", headers, body=raw.replace(b"V/v", b"X/x"))
    assert (answer.json()["status"], answer.error_code) == ("FAIL", "vdxp.hash-file")
    assert (await pair.axis.store.inbox(B, 10)).items == ()


async def _nothing_stored(axis: RunningAxis) -> None:
    assert (await axis.store.inbox(B, 10)).items == ()
    assert (await axis.store.documents_sent_by(A, 10)).items == ()


async def test_a_wrong_secret_is_refused_and_nothing_stored(pair: VdxpPair) -> None:
    impostor = client(pair.axis, "vxp.saas.01", "not-the-secret")
    answer = await impostor.send(pair.axis.signed(pair.a, [B]), A)
    assert answer.http_status == 200
    assert (answer.json()["status"], answer.error_code) == ("FAIL", "vdxp.auth-failed")
    await _nothing_stored(pair.axis)


async def test_an_unknown_system_gets_the_same_answer(pair: VdxpPair) -> None:
    stranger = client(pair.axis, "vxp.saas.99", pair.secret_a)
    answer = await stranger.send(pair.axis.signed(pair.a, [B]), A)
    assert answer.error_code == "vdxp.auth-failed"
    await _nothing_stored(pair.axis)


@pytest.mark.parametrize(
    ("header", "value"),
    [("XroadVnpt-from", B), ("XroadVnpt-hash-file", "00"), ("XroadVnpt-systemid", "vxp.saas.02")],
)
async def test_a_header_changed_after_signing_is_refused(
    pair: VdxpPair, header: str, value: str
) -> None:
    raw = pair.axis.signed(pair.a, [B])
    headers = pair.client_a.send_headers(raw, A)
    headers[header] = value
    answer = await pair.client_a.raw_call("sendEdoc", headers, body=raw + b"\r\n")
    assert answer.json()["status"] == "FAIL"
    assert answer.error_code == "vdxp.header-mismatch"
    await _nothing_stored(pair.axis)


async def test_a_tampered_sign_header_fails_the_hmac(pair: VdxpPair) -> None:
    raw = pair.axis.signed(pair.a, [B])
    headers = pair.client_a.send_headers(raw, A)
    headers["XroadVnpt-sign-header"] = headers["XroadVnpt-sign-header"].replace(A, B)
    headers["XroadVnpt-from"] = B
    answer = await pair.client_a.raw_call("sendEdoc", headers, body=raw + b"\r\n")
    assert answer.error_code == "vdxp.auth-failed"
    await _nothing_stored(pair.axis)


async def test_an_unsigned_parameter_header_is_refused(pair: VdxpPair) -> None:
    headers = pair.client_b.signed_headers({"servicetype": "eDoc"})
    headers["XroadVnpt-messagetype"] = "status"
    answer = await pair.client_b.raw_call("getReceivedEdocList", headers)
    assert answer.error_code == "vdxp.header-mismatch"


async def test_a_system_may_not_send_from_an_agency_it_is_not_bound_to(pair: VdxpPair) -> None:
    raw = pair.axis.signed(pair.b, [A])  # a real package of B, sent by A's system
    answer = await pair.client_a.send(raw, B)
    assert answer.error_code == "auth.sender-mismatch"
    # nor lie in the header about a package From another agency
    answer = await pair.client_a.send(raw, A)
    assert answer.error_code == "auth.sender-mismatch"
    assert (await pair.axis.store.inbox(A, 10)).items == ()


async def test_a_system_bound_to_two_agencies_speaks_for_both(axis: RunningAxis) -> None:
    pair = await vdxp_pair(axis)
    secret = await add_system(axis, "vxp.saas.both", A, B)
    both = client(axis, "vxp.saas.both", secret)
    assert (await both.send(axis.signed(pair.a, [B]), A)).ok
    assert (await both.send(axis.signed(pair.b, [A]), B)).ok
    listed = (await both.received()).json()["data"]
    assert sorted(row["to"] for row in listed) == [A, B]


async def test_a_stale_timestamp_is_refused_a_long_lived_one_is_not(pair: VdxpPair) -> None:
    week_old = datetime.now(UTC) - timedelta(days=6)
    aged = VdxpClient(**{**vars(pair.client_b), "timestamp": sdk_timestamp(week_old)})
    assert (await aged.call("countReceiveEdoc")).ok
    too_old = datetime.now(UTC) - timedelta(days=9)
    stale = VdxpClient(**{**vars(pair.client_b), "timestamp": sdk_timestamp(too_old)})
    assert (await stale.call("countReceiveEdoc")).error_code == "vdxp.stale"


async def test_replayed_calls_change_nothing_twice_and_polls_keep_working(
    pair: VdxpPair,
) -> None:
    axis = pair.axis
    doc_id = (await pair.client_a.send(axis.signed(pair.a, [B]), A)).json()["DocId"]
    update = pair.client_b.signed_headers({"docId": doc_id, "status": "done"})
    for _ in range(3):
        assert (await pair.client_b.raw_call("updateStatus", update)).ok
        assert (await pair.client_b.call("countReceiveEdoc")).ok
    statuses = await axis.store.statuses_of(doc_id)
    assert [s.status_code for s in statuses] == ["01"]
    events = [e.event async for e in axis.store.iter_audit() if e.event == "vdxp.reported"]
    assert events == ["vdxp.reported"]


async def test_fail_is_a_failed_delivery_in_the_senders_trace(pair: VdxpPair) -> None:
    axis = pair.axis
    doc_id = (await pair.client_a.send(axis.signed(pair.a, [B]), A)).json()["DocId"]
    assert (await pair.client_b.update(doc_id, "processing")).ok
    assert (await pair.client_b.received()).json()["data"][0]["status"] == "processing"
    assert (await pair.client_b.update(doc_id, "fail")).ok
    trace = await axis.call("GET", f"/api/v1/documents/{doc_id}/trace", token=pair.a.token)
    delivery = trace.json()["deliveries"][0]
    assert delivery["state"] == "dead"
    assert "reported fail through VDXP" in delivery["last_error"]
    sent = (await pair.client_a.sent(doc_id=doc_id)).json()["data"]
    assert sent[0]["sendStatus"] == "dead"


async def test_a_message_not_addressed_to_the_system_is_not_found(pair: VdxpPair) -> None:
    doc_id = (await pair.client_a.send(pair.axis.signed(pair.a, [B]), A)).json()["DocId"]
    for answer in (
        await pair.client_a.get(doc_id),  # the sender is not a recipient
        await pair.client_a.update(doc_id, "done"),
        await pair.client_b.get("no-such-id"),
    ):
        assert (answer.json()["status"], answer.error_code) == ("FAIL", "not-found")


async def test_agencies_in_both_code_forms(pair: VdxpPair) -> None:
    listed = (await pair.client_a.call("getAgenciesList")).json()["data"]
    assert {(r["code"], r["oldCode"]) for r in listed} == {(A, "G22"), (B, "H49")}
    qd20 = (await pair.client_a.call("getAgenciesListQD20", {"level": "1"})).json()["data"]
    assert {(r["code"], r["code102"]) for r in qd20} == {("G22", A), ("H49", B)}


async def test_an_unknown_method_and_bad_parameters_answer_fail(pair: VdxpPair) -> None:
    unknown = await pair.client_a.call("deleteEverything")
    assert unknown.error_code == "vdxp.method-unknown"
    bad = await pair.client_a.call("updateStatus", {"docId": "x", "status": "finished"})
    assert bad.error_code == "request.invalid"
    unsigned = await pair.client_a.raw_call("countReceiveEdoc", {})
    assert unsigned.error_code == "vdxp.unsigned"


async def test_a_disabled_system_is_refused(pair: VdxpPair) -> None:
    await pair.axis.store.set_system_state("vxp.saas.01", "disabled", datetime.now(UTC))
    assert (await pair.client_a.call("countReceiveEdoc")).error_code == "vdxp.auth-failed"


def _prefix(config: AxisConfig) -> AxisConfig:
    return dataclasses.replace(config, vdxp=dataclasses.replace(config.vdxp, path_prefix="/x/v"))


@pytest.mark.parametrize("config_tweak", [_prefix])
async def test_the_path_prefix_is_configurable(axis: RunningAxis) -> None:
    pair = await vdxp_pair(axis)
    assert pair.client_a.endpoint.endswith("/x/v")
    assert (await pair.client_a.call("countReceiveEdoc")).ok
    async with axis.session.post(axis.url + "/vdxp/countReceiveEdoc") as response:
        assert response.status == 404


def _disabled(config: AxisConfig) -> AxisConfig:
    return dataclasses.replace(config, vdxp=dataclasses.replace(config.vdxp, enabled=False))


@pytest.mark.parametrize("config_tweak", [_disabled])
async def test_vdxp_can_be_switched_off(axis: RunningAxis) -> None:
    async with axis.session.post(axis.url + "/vdxp/countReceiveEdoc") as response:
        assert response.status == 404
