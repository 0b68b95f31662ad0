"""Three real axes (two provinces and the national one) relaying signed documents.

A document from an agency of province H26 (axis LGSP-H26) to an agency of
province H27 (axis LGSP-H27) crosses NGSP. Its bytes stay the sender's, so the
sender's signature verifies at the recipient; each axis signs its own receipt
and the sender's trace shows every hop; the recipient's statuses come back
along the path; a province axis that is down for a while gets its backlog once.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from lxml import etree

from edoc_axis.core.compose import new_document, new_status
from edoc_axis.core.notice import read_notice
from edoc_axis.edxml import StatusCode, build_document, build_status
from edoc_axis.service import peers
from edoc_axis.signature import VerificationPolicy, sign_package, verify_package
from edoc_axis.store import NewPeer
from tests.integration.server.federation_kit import (
    H26_SENDER,
    H27_RECIPIENT,
    VN,
    Node,
    eventually,
    federation,
    inbox,
    signed_document,
)


@pytest.mark.parametrize("national", ["sqlite", "postgresql"])
async def test_a_document_crosses_three_axes_with_its_signature_and_comes_back_answered(
    tmp_path: Path, national: str, request: pytest.FixtureRequest
) -> None:
    dsn = request.getfixturevalue("postgres_dsn") if national == "postgresql" else None
    async with federation(tmp_path, dsn) as fed:
        sender = await fed.register("LGSP-H26", H26_SENDER)
        recipient = await fed.register("LGSP-H27", H27_RECIPIENT)
        raw = signed_document(sender, H27_RECIPIENT, 1)

        status, receipt = await fed.submit("LGSP-H26", sender, raw)
        assert status == 202, receipt
        axis_id = etree.fromstring(receipt).findtext("{urn:edoc-axis:receipt:1}AxisId")

        async def arrived() -> bool:
            return len(await inbox(fed, "LGSP-H27", recipient)) == 1

        await eventually(arrived, "the document reached the recipient's axis")
        item = (await inbox(fed, "LGSP-H27", recipient))[0]
        assert item["sender"] == H26_SENDER
        status, got = await fed.call(
            "LGSP-H27", "GET", f"/api/v1/documents/{item['id']}", recipient.token
        )
        assert status == 200
        assert got == raw  # byte for byte the sender's package
        verified = verify_package(etree.fromstring(got), VerificationPolicy())
        assert verified.certificate == sender.issued.cert  # the original sender's signature

        # The recipient acknowledges (01) and accepts (03): both travel back to the sender.
        status, _ = await fed.call(
            "LGSP-H27", "POST", f"/api/v1/inbox/{item['id']}/ack", recipient.token
        )
        assert status in (200, 204)
        answer = new_status(
            sender=H27_RECIPIENT,
            about_document_id=item["document_id"],
            counterparty=H26_SENDER,
            code=StatusCode.ACCEPTED,
            at=datetime.now(UTC) + VN,
            description="Đã tiếp nhận",
        )
        signed_answer = sign_package(
            build_status(answer), recipient.issued.key, recipient.issued.cert
        )
        status, body = await fed.call(
            "LGSP-H27",
            "POST",
            "/api/v1/statuses",
            recipient.token,
            data=signed_answer,
            headers={"Content-Type": "application/xml"},
        )
        assert status in (200, 201, 202), body

        async def answered() -> bool:
            status, body = await fed.call("LGSP-H26", "GET", "/api/v1/statuses", sender.token)
            assert status == 200, body
            codes = [s["status_code"] for s in json.loads(body)["items"]]
            return "03" in codes and "01" in codes

        await eventually(answered, "statuses 01 and 03 came back to the sender")

        # The sender's trace: accepted here, relayed to NGSP (its receipt), relayed to
        # LGSP-H27 (its receipt), and there acknowledged and answered.
        status, body = await fed.call(
            "LGSP-H26", "GET", f"/api/v1/documents/{axis_id}/trace", sender.token
        )
        assert status == 200, body
        trace = json.loads(body)
        first = trace["deliveries"][0]
        assert first["agency"] == H27_RECIPIENT
        assert first["status_code"] == "03"
        hop1 = first["relay"]
        assert hop1["peer"] == "NGSP"
        assert hop1["receipt"]["verified"] is True
        assert hop1["receipt"]["axis"] == "NGSP"
        at_national = hop1["next"]
        assert at_national["axis"] == "NGSP"
        assert at_national["relay_path"] == ["LGSP-H26"]
        hop2 = at_national["deliveries"][0]["relay"]
        assert hop2["receipt"]["axis"] == "LGSP-H27"
        assert hop2["receipt"]["verified"] is True
        at_province = hop2["next"]
        assert at_province["axis"] == "LGSP-H27"
        assert at_province["relay_path"] == ["LGSP-H26", "NGSP"]
        last = at_province["deliveries"][0]
        assert last["state"] == "acknowledged"
        assert last["status_code"] == "03"

        # NGSP's metrics count what each peer relayed to it
        async with fed.session.get(fed.nodes["NGSP"].url + "/metrics") as response:
            metrics = await response.text()
        assert 'edoc_relays_received_total{outcome="accepted",peer="LGSP-H26"} 1.0' in metrics
        assert 'edoc_relays_received_total{outcome="accepted",peer="LGSP-H27"} 2.0' in metrics


@pytest.mark.parametrize("national", ["sqlite", "postgresql"])
async def test_a_province_axis_down_for_a_while_gets_its_backlog_once(
    tmp_path: Path, national: str, request: pytest.FixtureRequest
) -> None:
    dsn = request.getfixturevalue("postgres_dsn") if national == "postgresql" else None
    async with federation(tmp_path, dsn) as fed:
        sender = await fed.register("LGSP-H26", H26_SENDER)
        recipient = await fed.register("LGSP-H27", H27_RECIPIENT)
        down = fed.nodes["LGSP-H27"]
        assert down.server is not None
        port = down.server.port
        await down.stop()
        sent = []
        for number in range(1, 6):
            raw = signed_document(sender, H27_RECIPIENT, number)
            status, body = await fed.submit("LGSP-H26", sender, raw)
            assert status == 202, body
            sent.append(raw)

        national = fed.nodes["NGSP"]

        async def waiting_at_national() -> bool:
            stats = await national.store.stats(datetime.now(UTC))
            retried = await national.store.dead_letters(10)
            assert not retried.items, "nothing may die while the province is down"
            return stats.by_state.get("pending", 0) == 5

        await eventually(waiting_at_national, "the backlog waits at NGSP")
        await asyncio.sleep(1.0)  # several failed tries and an opened circuit
        await down.start(port)

        async def all_arrived() -> bool:
            return len(await inbox(fed, "LGSP-H27", recipient)) >= 5

        await eventually(all_arrived, "the backlog reached LGSP-H27")
        await asyncio.sleep(0.5)  # time for a duplicate, if one were coming
        items = await inbox(fed, "LGSP-H27", recipient)
        assert len(items) == 5
        assert len({i["document_id"] for i in items}) == 5
        got = []
        for item in items:
            status, body = await fed.call(
                "LGSP-H27", "GET", f"/api/v1/documents/{item['id']}", recipient.token
            )
            assert status == 200
            got.append(body)
        assert sorted(got) == sorted(sent)


async def test_a_delivery_that_dies_at_the_far_axis_is_told_to_the_sender(
    tmp_path: Path,
) -> None:
    refusing = web.Application()

    async def refuse(request: web.Request) -> web.Response:
        await request.read()
        return web.json_response({"code": "endpoint.refused"}, status=422)

    refusing.router.add_post("/edoc", refuse)
    endpoint = TestServer(refusing, host="127.0.0.1", port=0)
    await endpoint.start_server()
    try:
        async with federation(tmp_path) as fed:
            sender = await fed.register("LGSP-H26", H26_SENDER)
            await fed.register("LGSP-H27", H27_RECIPIENT, endpoint=str(endpoint.make_url("/edoc")))
            raw = signed_document(sender, H27_RECIPIENT, 1)
            status, body = await fed.submit("LGSP-H26", sender, raw)
            assert status == 202, body

            async def told() -> list[dict[str, Any]]:
                _, feed = await fed.call("LGSP-H26", "GET", "/api/v1/statuses", sender.token)
                return [s for s in json.loads(feed)["items"] if s["kind"] == "notice"]

            await eventually(told, "the far axis's notice came back to the sender")
            (notice,) = await told()
            assert notice["from"] == H27_RECIPIENT
            _, signed = await fed.call(
                "LGSP-H26", "GET", f"/api/v1/statuses/{notice['status_id']}", sender.token
            )
            failure = read_notice(signed)  # as LGSP-H27 signed it, verified
            assert failure.axis_name == "LGSP-H27"
            assert failure.recipient == H27_RECIPIENT
            assert "422" in failure.reason
    finally:
        await endpoint.close()


async def test_two_recipients_behind_one_peer_share_one_stored_copy_per_axis(
    tmp_path: Path,
) -> None:
    async with federation(tmp_path) as fed:
        sender = await fed.register("LGSP-H26", H26_SENDER)
        first = await fed.register("LGSP-H27", H27_RECIPIENT)
        second = await fed.register("LGSP-H27", "000.00.02.H27")
        package = new_document(
            sender=sender.code,
            recipients=[first.code, second.code],
            at=datetime.now(UTC) + VN,
            code_number="7",
            subject="Gửi hai đơn vị của tỉnh H27",
        )
        raw = sign_package(build_document(package), sender.issued.key, sender.issued.cert)
        status, receipt = await fed.submit("LGSP-H26", sender, raw)
        assert status == 202, receipt
        axis_id = etree.fromstring(receipt).findtext("{urn:edoc-axis:receipt:1}AxisId")

        async def both_have_it() -> bool:
            return all([len(await inbox(fed, "LGSP-H27", a)) == 1 for a in (first, second)])

        await eventually(both_have_it, "both recipients got the document")
        for axis in ("NGSP", "LGSP-H27"):  # one stored copy, a delivery per recipient
            stored = await fed.nodes[axis].store.find_document(H26_SENDER, package.document_id)
            assert stored is not None
            deliveries = await fed.nodes[axis].store.deliveries_of(stored.axis_id)
            assert sorted(d.recipient_code for d in deliveries) == sorted([first.code, second.code])

        _, body = await fed.call(
            "LGSP-H26", "GET", f"/api/v1/documents/{axis_id}/trace", sender.token
        )
        for entry in json.loads(body)["deliveries"]:
            at_national = entry["relay"]["next"]
            assert [d["agency"] for d in at_national["deliveries"]] == [entry["agency"]]
            at_province = at_national["deliveries"][0]["relay"]["next"]
            assert [d["agency"] for d in at_province["deliveries"]] == [entry["agency"]]


async def test_a_peer_without_its_token_yet_gets_the_relay_once_the_token_is_set(
    tmp_path: Path,
) -> None:
    async with federation(tmp_path) as fed:
        sender = await fed.register("LGSP-H26", H26_SENDER)
        recipient = await fed.register("LGSP-H27", H27_RECIPIENT)
        province = fed.nodes["LGSP-H26"]
        # the uplink as first registered, before NGSP's operator gave its token
        await province.store.update_peer(
            dataclasses.replace(await _as_new(province, "NGSP"), sealed_token=None),
            datetime.now(UTC),
        )
        status, body = await fed.submit(
            "LGSP-H26", sender, signed_document(sender, H27_RECIPIENT, 1)
        )
        assert status == 202, body

        async def retried() -> bool:
            (delivery,) = await province.store.deliveries_of(_axis_id(body))
            assert delivery.state != "dead", delivery.last_error  # retried, never dead
            return delivery.attempts >= 2 and "no token set" in (delivery.last_error or "")

        await eventually(retried, "the relay is retried while the token is missing")
        await peers.update_peer(
            province.store,
            province.config,
            "NGSP",
            token=fed.tokens[("NGSP", "LGSP-H26")],
            at=datetime.now(UTC),
        )

        async def arrived() -> bool:
            return len(await inbox(fed, "LGSP-H27", recipient)) == 1

        await eventually(arrived, "the relay went through once the token was set")


async def _as_new(node: Node, name: str) -> NewPeer:
    peer = await node.store.get_peer(name)
    assert peer is not None
    return NewPeer(
        name=peer.name,
        url=peer.url,
        axis_cert_pem=peer.axis_cert_pem,
        axis_cert_sha256=peer.axis_cert_sha256,
        serves=peer.serves,
        sealed_token=peer.sealed_token,
    )


def _axis_id(receipt: bytes) -> str:
    return str(etree.fromstring(receipt).findtext("{urn:edoc-axis:receipt:1}AxisId"))


async def test_the_national_axis_on_two_nodes_relays_each_document_once(
    tmp_path: Path, postgres_dsn: str
) -> None:
    from edoc_axis.store.postgresql import PostgresStore

    async with federation(tmp_path, postgres_dsn) as fed:
        national = fed.nodes["NGSP"]
        second = Node(
            "NGSP",
            national.config,
            PostgresStore(postgres_dsn, schema=national.schema, min_size=1, max_size=5),
            national.operator_token,
        )
        await second.store.open()
        await second.start()
        try:
            # LGSP-H27 reaches the national axis through its second node
            await peers.update_peer(
                fed.nodes["LGSP-H27"].store,
                fed.nodes["LGSP-H27"].config,
                "NGSP",
                url=second.url,
                at=datetime.now(UTC),
            )
            sender = await fed.register("LGSP-H26", H26_SENDER)
            recipient = await fed.register("LGSP-H27", H27_RECIPIENT)
            sent = [signed_document(sender, H27_RECIPIENT, n) for n in range(1, 9)]
            for raw in sent:
                assert (await fed.submit("LGSP-H26", sender, raw))[0] == 202

            async def all_arrived() -> bool:
                return len(await inbox(fed, "LGSP-H27", recipient)) >= len(sent)

            await eventually(all_arrived, "every document crossed the two national nodes")
            await asyncio.sleep(0.5)  # time for a duplicate, if one were coming
            items = await inbox(fed, "LGSP-H27", recipient)
            assert len(items) == len(sent)
            for item in items:  # acknowledged: the 01s go back through the second node
                status, _ = await fed.call(
                    "LGSP-H27", "POST", f"/api/v1/inbox/{item['id']}/ack", recipient.token
                )
                assert status in (200, 204)

            async def all_answered() -> bool:
                _, feed = await fed.call(
                    "LGSP-H26", "GET", "/api/v1/statuses?limit=100", sender.token
                )
                return len(json.loads(feed)["items"]) >= len(sent)

            await eventually(all_answered, "every 01 came back through the national nodes")
            _, feed = await fed.call("LGSP-H26", "GET", "/api/v1/statuses?limit=100", sender.token)
            codes = [s["status_code"] for s in json.loads(feed)["items"]]
            assert codes == ["01"] * len(sent)  # each once
        finally:
            await second.stop()
            await second.store.close()
