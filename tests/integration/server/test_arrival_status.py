"""The 01 the axis records on a recipient's behalf is recorded once, whoever comes first.

``record_arrival`` does not read the delivery before it writes: the store's
transition check (01 only over no status) decides.
"""

from __future__ import annotations

from edoc_axis import service
from tests.integration.server.conftest import RunningAxis

G22, H49 = "000.00.00.G22", "000.00.00.H49"


async def test_arrival_is_recorded_once_over_repeats_and_the_ack(axis: RunningAxis) -> None:
    sender = await axis.register(G22)
    recipient = await axis.register(H49)
    response = await axis.submit(axis.signed(sender, [H49]), sender)
    axis_id = response.headers["Edoc-Axis-Id"]

    await service.record_arrival(axis.services, axis_id, H49, "first")
    await service.record_arrival(axis.services, axis_id, H49, "again")
    ack = await axis.call("POST", f"/api/v1/inbox/{axis_id}/ack", token=recipient.token)

    assert ack.status == 200
    assert ack.json()["status_code"] == "01"
    codes = [s.status_code for s in await axis.store.statuses_of(axis_id)]
    assert codes == ["01"]


async def test_arrival_for_a_recipient_without_a_delivery_records_nothing(
    axis: RunningAxis,
) -> None:
    sender = await axis.register(G22)
    await axis.register(H49)
    await axis.register("000.00.00.G14")
    response = await axis.submit(axis.signed(sender, [H49]), sender)
    axis_id = response.headers["Edoc-Axis-Id"]
    await service.record_arrival(axis.services, axis_id, "000.00.00.G14", "not addressed")
    assert await axis.store.statuses_of(axis_id) == []
