"""The 01 the axis records on a recipient's behalf is recorded once, whoever comes first.

It is written with the acknowledgement (or the push outcome) that makes it, and
only over no status: the store's transition check decides, nothing reads first.
"""

from __future__ import annotations

from edoc_axis.service.statuses import arrival_status
from tests.integration.server.conftest import RunningAxis

G22, H49 = "000.00.00.G22", "000.00.00.H49"


async def test_arrival_is_recorded_once_over_repeated_acks(axis: RunningAxis) -> None:
    sender = await axis.register(G22)
    recipient = await axis.register(H49)
    response = await axis.submit(axis.signed(sender, [H49]), sender)
    axis_id = response.headers["Edoc-Axis-Id"]

    for _ in range(2):
        ack = await axis.call("POST", f"/api/v1/inbox/{axis_id}/ack", token=recipient.token)
        assert (ack.status, ack.json()["status_code"]) == (200, "01")
    batch = await axis.call(
        "POST", "/api/v1/inbox/ack", token=recipient.token, json_body={"ids": [axis_id]}
    )
    assert batch.json()["items"][0]["status_code"] == "01"
    assert [s.status_code for s in await axis.store.statuses_of(axis_id)] == ["01"]


async def test_an_ack_after_the_recipients_own_status_adds_no_01(axis: RunningAxis) -> None:
    sender = await axis.register(G22)
    recipient = await axis.register(H49)
    response = await axis.submit(axis.signed(sender, [H49]), sender)
    axis_id = response.headers["Edoc-Axis-Id"]
    document = await axis.store.get_document(axis_id)
    assert document is not None
    own = arrival_status(axis.services, document, H49, "a status that came first")
    await axis.store.record_status(own, expected_current=None)
    ack = await axis.call("POST", f"/api/v1/inbox/{axis_id}/ack", token=recipient.token)
    assert ack.status == 200
    assert [s.status_id for s in await axis.store.statuses_of(axis_id)] == [own.status_id]
