"""Dead letters are told to the sender; statuses reach push-mode senders by push."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from edoc_axis.edxml import safe_parse
from edoc_axis.endpoint.app import make_endpoint_app
from edoc_axis.signature import TrustStore, VerificationPolicy, verify_enveloped
from tests.integration.runtime.conftest import Wired

G22, H49, H41 = "000.00.00.G22", "000.00.00.H49", "000.00.00.H41"


async def test_a_dead_letter_puts_a_signed_notice_in_the_senders_feed(wired: Wired) -> None:
    async def refuse(_request: web.Request) -> web.Response:
        return web.Response(status=400, text="không nhận")

    app = web.Application()
    app.router.add_post("/", refuse)
    await wired.register(G22)
    await wired.register(H49, endpoint=await wired.serve(app))
    axis_id = await wired.send(G22, [H49])

    async def told() -> bool:
        feed = await wired.get_json("/api/v1/statuses", G22)
        return any(item["kind"] == "notice" for item in feed["items"])

    await wired.until(told)
    [notice] = (await wired.get_json("/api/v1/statuses", G22))["items"]
    assert (notice["id"], notice["from"], notice["status_code"]) == (axis_id, H49, None)
    trace = await wired.get_json(f"/api/v1/documents/{axis_id}/trace", G22)
    delivery = trace["deliveries"][0]
    assert delivery["state"] == "dead"
    assert delivery["statuses"][0]["meaning"] == "delivery failed for good"
    assert "HTTP 400" in delivery["statuses"][0]["description"]
    async with wired.http.get(
        f"{wired.url}/api/v1/statuses/{notice['status_id']}", headers=wired.headers(G22)
    ) as response:
        raw = await response.read()
    root = safe_parse(raw)
    signed = verify_enveloped(root, VerificationPolicy(), expected_parent=root)
    assert signed.certificate == wired.runtime.services.axis_cert


async def test_statuses_for_a_push_sender_are_pushed_to_its_endpoint(
    wired: Wired, tmp_path: Path
) -> None:
    axis_cert = wired.runtime.services.axis_cert
    out = tmp_path / "g22-endpoint"
    endpoint = await wired.serve(make_endpoint_app(out, [axis_cert], TrustStore([wired.ca.cert])))
    await wired.register(G22, endpoint=endpoint)
    await wired.register(H41)
    axis_id = await wired.send(G22, [H41])
    async with wired.http.post(
        f"{wired.url}/api/v1/inbox/{axis_id}/ack", headers=wired.headers(H41)
    ) as response:
        assert response.status == 200

    async def pushed() -> bool:
        return len(list((out / "statuses").glob("*.xml"))) == 1

    await wired.until(pushed)
    [status_file] = list((out / "statuses").glob("*.xml"))
    feed = (await wired.get_json("/api/v1/statuses", G22))["items"]
    assert [s["status_code"] for s in feed] == ["01"]
    async with wired.http.get(
        f"{wired.url}/api/v1/statuses/{feed[0]['status_id']}", headers=wired.headers(G22)
    ) as response:
        assert status_file.read_bytes() == await response.read()
    # The pushed status is not a document waiting in the sender's inbox any more (once the
    # axis has recorded the endpoint's answer, which lands just after the file does).

    async def inbox_empty() -> bool:
        return (await wired.get_json("/api/v1/inbox", G22))["items"] == []

    await wired.until(inbox_empty)
