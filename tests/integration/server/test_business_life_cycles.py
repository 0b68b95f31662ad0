"""Issue 13, done when: the whole life cycle for each business type, over HTTP.

For a new document, a revoke (sent under the revoked DocumentId, as the
reference SDK does), an update adding and removing recipients (under a
DocumentId of its own, and under the updated one) and a replacement: every
recipient pulls and acknowledges it (01) and sends 03, 04, 05, 06; revokes and
updates ask each recipient for one answer; the sender recalls it from one
recipient, who answers once (a second answer is refused); each recipient's
trace shows its own part and the sender's trace everyone's. Every status an
agency sends is signed.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

from edoc_axis.edxml import BusinessDocType
from tests.integration.server.conftest import AgencyKit, RunningAxis
from tests.integration.server.test_business_flows import signed_status
from tests.integration.server.test_lifecycle import post_status

A, B, C, D = "000.00.00.G22", "000.00.00.H49", "000.00.00.G14", "000.00.00.G15"
PROGRESS = ["01", "03", "04", "05", "06"]


@dataclass(frozen=True)
class Flow:
    """The message under test: its options, who gets it, what statuses name."""

    business: BusinessDocType
    document_id: str
    recipients: tuple[str, ...]
    to: tuple[str, ...]
    options: dict[str, Any]

    @property
    def asks(self) -> bool:
        return self.business in (BusinessDocType.REVOKE, BusinessDocType.UPDATE)


UPDATE_LISTS = {"added_recipients": [D], "removed_recipients": [C]}
FLOWS = {
    "new": Flow(BusinessDocType.NEW, "G22-ORIG", (B, C), (B, C), {}),
    "revoke": Flow(BusinessDocType.REVOKE, "G22-ORIG", (B, C), (B, C), {}),
    "update": Flow(
        BusinessDocType.UPDATE,
        "G22-UPD",
        (B, D, C),
        (B, D),
        {"business_reference": "G22-ORIG", **UPDATE_LISTS},
    ),
    "update-under-its-target": Flow(
        BusinessDocType.UPDATE,
        "G22-ORIG",
        (B, D, C),
        (B, D),
        {"business_reference": "G22-ORIG", **UPDATE_LISTS},
    ),
    "replace": Flow(
        BusinessDocType.REPLACE, "G22-REPL", (B, C), (B, C), {"business_reference": "G22-ORIG"}
    ),
}


async def _ok(axis: RunningAxis, kit: AgencyKit, document_id: str, to: str, code: str) -> None:
    response = await post_status(axis, kit, signed_status(kit, document_id, to, code))
    assert response.status == 202, (kit.code, code, response.body)


async def _pull_and_ack(axis: RunningAxis, kit: AgencyKit, axis_id: str, raw: bytes) -> None:
    inbox = (await axis.call("GET", "/api/v1/inbox", token=kit.token)).json()["items"]
    assert axis_id in [item["id"] for item in inbox], kit.code
    fetched = await axis.call("GET", f"/api/v1/inbox/{axis_id}", token=kit.token)
    assert fetched.body == raw
    acked = await axis.call("POST", f"/api/v1/inbox/{axis_id}/ack", token=kit.token)
    assert acked.json()["status_code"] == "01", kit.code


async def _send(axis: RunningAxis, kit: AgencyKit, raw: bytes) -> str:
    response = await axis.submit(raw, kit)
    assert response.status == 202, response.body
    return response.headers["Edoc-Axis-Id"]


@pytest.mark.parametrize("name", list(FLOWS))
async def test_life_cycle_of_each_business_type(axis: RunningAxis, name: str) -> None:
    flow = FLOWS[name]
    kits = {code: await axis.register(code) for code in (A, B, C, D)}
    a = kits[A]
    original_raw = axis.signed(a, [B, C], document_id="G22-ORIG")
    original = await _send(axis, a, original_raw)
    if flow.business == BusinessDocType.NEW:
        axis_id, raw = original, original_raw
    else:
        for code in (B, C):  # the original reached its recipients first
            await _pull_and_ack(axis, kits[code], original, original_raw)
        raw = axis.signed(
            a,
            list(flow.to),
            document_id=flow.document_id,
            business_type=flow.business,
            **flow.options,
        )
        axis_id = await _send(axis, a, raw)
    # 01 by acknowledgement, then 03-06 signed by each recipient.
    for code in flow.recipients:
        await _pull_and_ack(axis, kits[code], axis_id, raw)
        for status in PROGRESS[1:]:
            await _ok(axis, kits[code], flow.document_id, A, status)
    # A revoke or an update asks each recipient for one answer.
    answers = {code: ("15" if code == B else "16") for code in flow.recipients}
    if flow.asks:
        for code in flow.recipients:
            await _ok(axis, kits[code], flow.document_id, A, answers[code])
    # A recall from B: one answer, a second one refused.
    await _ok(axis, a, flow.document_id, B, "13")
    await _ok(axis, kits[B], flow.document_id, A, "15")
    second = await post_status(axis, kits[B], signed_status(kits[B], flow.document_id, A, "16"))
    assert (second.status, second.code) == (409, "status.transition")

    sender_trace = (
        await axis.call("GET", f"/api/v1/documents/{axis_id}/trace", token=a.token)
    ).json()
    assert sender_trace["document_id"] == flow.document_id
    assert sender_trace["business_type"] == int(flow.business)
    if flow.business != BusinessDocType.NEW:
        assert sender_trace["acts_on"]["id"] == original
    assert [e["agency"] for e in sender_trace["deliveries"]] == list(flow.recipients)
    for code in flow.recipients:
        expected = PROGRESS + ([answers[code]] if flow.asks else [])
        expected += ["13", "15"] if code == B else []
        mine = (
            await axis.call("GET", f"/api/v1/documents/{axis_id}/trace", token=kits[code].token)
        ).json()
        [entry] = mine["deliveries"]  # a recipient sees its own part only
        assert entry["agency"] == code
        assert (entry["state"], entry["status_code"]) == ("acknowledged", "06")
        assert [s["status_code"] for s in entry["statuses"]] == expected, code
        assert all(s["from"] in (A, code) and s["to"] in (A, code) for s in entry["statuses"])
        rounds = [(r["asked"][0]["code"], r["state"]) for r in entry["recall_rounds"]]
        asked = [(flow.business.name.lower(), "agreed" if code == B else "refused")]
        assert rounds == (asked if flow.asks else []) + ([("13", "agreed")] if code == B else [])
        assert entry == next(e for e in sender_trace["deliveries"] if e["agency"] == code)
