"""Issue 13, flows: one identity rule for every business type, one answer per recall round.

A document of any business type is (sender, DocumentId) for statuses, traces
and conflicts; revokes and updates sent under the DocumentId they act on are
messages about it. Every status sent here is signed by its agency's key.
"""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

from edoc_axis.core.compose import new_status
from edoc_axis.edxml import BusinessDocType, StatusCode, build_status
from tests.integration.server.conftest import AgencyKit, RunningAxis
from tests.integration.server.test_lifecycle import WHEN, post_status

A, B, C, D = "000.00.00.G22", "000.00.00.H49", "000.00.00.G14", "000.00.00.G15"
REVOKE, UPDATE, REPLACE = BusinessDocType.REVOKE, BusinessDocType.UPDATE, BusinessDocType.REPLACE


async def _send(axis: RunningAxis, sender: AgencyKit, to: list[str], **kwargs: Any) -> str:
    response = await axis.submit(axis.signed(sender, to, **kwargs), sender)
    assert response.status == 202, response.body
    return response.headers["Edoc-Axis-Id"]


_notes = itertools.count(1)


def signed_status(kit: AgencyKit, document_id: str, counterparty: str, code: str) -> bytes:
    """A signed status package; a fresh note makes each one a new message."""
    package = new_status(
        sender=kit.code,
        about_document_id=document_id,
        counterparty=counterparty,
        code=StatusCode(code),
        at=WHEN,
        description=f"ghi chú {next(_notes)}",
    )
    return kit.sign(build_status(package))


async def _status(
    axis: RunningAxis, kit: AgencyKit, document_id: str, counterparty: str, code: str
) -> tuple[int, str | None]:
    response = await post_status(axis, kit, signed_status(kit, document_id, counterparty, code))
    return response.status, response.code


async def _trace(axis: RunningAxis, axis_id: str, kit: AgencyKit) -> dict[str, Any]:
    response = await axis.call("GET", f"/api/v1/documents/{axis_id}/trace", token=kit.token)
    assert response.status == 200, response.body
    data: dict[str, Any] = response.json()
    return data


async def test_recipients_send_every_status_on_a_replacement(axis: RunningAxis) -> None:
    a, b, c = [await axis.register(code) for code in (A, B, C)]
    original = await _send(axis, a, [B, C], document_id="G22-ORIG")
    replacement = await _send(
        axis,
        a,
        [B, C],
        document_id="G22-REPL",
        business_type=REPLACE,
        business_reference="G22-ORIG",
    )
    for kit in (b, c):
        for code in ("01", "03", "04", "05", "06"):
            assert await _status(axis, kit, "G22-REPL", A, code) == (202, None), (kit.code, code)
    trace = await _trace(axis, replacement, a)
    assert trace["acts_on"]["id"] == original
    for entry in trace["deliveries"]:
        assert [s["status_code"] for s in entry["statuses"]] == ["01", "03", "04", "05", "06"]
    # The original's own statuses are untouched by the replacement's.
    assert all(e["statuses"] == [] for e in (await _trace(axis, original, a))["deliveries"])


async def test_re_using_a_document_id_is_a_conflict_whatever_the_type(axis: RunningAxis) -> None:
    a, _b = await axis.register(A), await axis.register(B)
    await _send(axis, a, [B], document_id="G22-ORIG")
    replace = {"business_type": REPLACE, "business_reference": "G22-ORIG"}
    first = axis.signed(a, [B], document_id="G22-REPL", subject="một", **replace)
    assert (await axis.submit(first, a)).status == 202
    assert (await axis.submit(first, a)).status == 200  # an exact re-submission
    conflicting = [
        # a second, different replacement under the same DocumentId
        axis.signed(a, [B], document_id="G22-REPL", subject="hai", **replace),
        # a plain new document re-using the replacement's DocumentId
        axis.signed(a, [B], document_id="G22-REPL"),
        # a replacement under the DocumentId of the document it replaces
        axis.signed(a, [B], document_id="G22-ORIG", subject="ba", **replace),
        # an update with a DocumentId of its own that another document already has
        axis.signed(
            a, [B], document_id="G22-REPL", business_type=UPDATE, business_reference="G22-ORIG"
        ),
        # a revoke naming another document, under a DocumentId already taken
        axis.signed(
            a, [B], document_id="G22-REPL", business_type=REVOKE, business_reference="G22-ORIG"
        ),
    ]
    for raw in conflicting:
        response = await axis.submit(raw, a)
        assert (response.status, response.code) == (409, "document.conflict"), response.body
        assert response.json()["document_id"] in ("G22-REPL", "G22-ORIG")
    # Revokes and updates sent under the DocumentId they act on are messages, not documents.
    for subject in ("thu hồi", "thu hồi lần hai"):
        await _send(axis, a, [B], document_id="G22-ORIG", business_type=REVOKE, subject=subject)
    await _send(
        axis, a, [B], document_id="G22-ORIG", business_type=UPDATE, business_reference="G22-ORIG"
    )


async def test_a_status_applies_to_the_newest_message_the_recipient_got(
    axis: RunningAxis,
) -> None:
    a, b = await axis.register(A), await axis.register(B)
    original = await _send(axis, a, [B], document_id="G22-DOC")
    assert (await axis.call("POST", f"/api/v1/inbox/{original}/ack", token=b.token)).status == 200
    assert await _status(axis, b, "G22-DOC", A, "04") == (202, None)
    revoke = await _send(axis, a, [B], document_id="G22-DOC", business_type=REVOKE)
    # Not got yet: the delivered original still takes the status.
    assert await _status(axis, b, "G22-DOC", A, "05") == (202, None)
    assert (await axis.call("POST", f"/api/v1/inbox/{revoke}/ack", token=b.token)).status == 200
    assert await _status(axis, b, "G22-DOC", A, "03") == (202, None)
    by_message = {
        axis_id: [
            s["status_code"] for s in (await _trace(axis, axis_id, a))["deliveries"][0]["statuses"]
        ]
        for axis_id in (original, revoke)
    }
    assert by_message == {original: ["01", "04", "05"], revoke: ["01", "03"]}


async def test_one_answer_per_recall_round(axis: RunningAxis) -> None:
    a, b = await axis.register(A), await axis.register(B)
    axis_id = await _send(axis, a, [B], document_id="G22-RECALL")
    assert await _status(axis, b, "G22-RECALL", A, "15") == (409, "status.transition")
    assert await _status(axis, a, "G22-RECALL", B, "13") == (202, None)
    assert await _status(axis, a, "G22-RECALL", B, "13") == (409, "status.transition")
    assert await _status(axis, b, "G22-RECALL", A, "16") == (202, None)
    assert await _status(axis, b, "G22-RECALL", A, "15") == (409, "status.transition")
    assert await _status(axis, b, "G22-RECALL", A, "16") == (409, "status.transition")
    assert await _status(axis, a, "G22-RECALL", B, "13") == (202, None)  # round 2
    assert await _status(axis, b, "G22-RECALL", A, "15") == (202, None)
    rounds = (await _trace(axis, axis_id, b))["deliveries"][0]["recall_rounds"]
    assert [(r["round"], r["state"]) for r in rounds] == [(1, "refused"), (2, "agreed")]
    assert [[q["code"] for q in r["asked"]] for r in rounds] == [["13"], ["13"]]
    assert [r["answer"]["code"] for r in rounds] == ["16", "15"]
    feed = (await axis.call("GET", "/api/v1/statuses", token=a.token)).json()["items"]
    assert [(s["status_code"], s["recall_round"]) for s in feed] == [("16", 1), ("15", 2)]


async def test_two_answers_racing_for_one_round_store_one(axis: RunningAxis) -> None:
    a, b = await axis.register(A), await axis.register(B)
    axis_id = await _send(axis, a, [B], document_id="G22-RACE")
    assert await _status(axis, a, "G22-RACE", B, "13") == (202, None)
    answers = [signed_status(b, "G22-RACE", A, code) for code in ("15", "16", "15", "16")]
    results = await asyncio.gather(*(post_status(axis, b, raw) for raw in answers))
    assert sorted(r.status for r in results) == [202, 409, 409, 409]
    assert {r.code for r in results if r.status == 409} == {"status.transition"}
    stored = [s for s in await axis.store.statuses_of(axis_id) if s.status_code in ("15", "16")]
    assert len(stored) == 1 and stored[0].recall_round == 1


async def test_a_revoke_or_update_asks_each_recipient_for_one_answer(axis: RunningAxis) -> None:
    a, b, c = [await axis.register(code) for code in (A, B, C)]
    original = await _send(axis, a, [B, C], document_id="G22-ASK")
    await _send(axis, a, [B, C], document_id="G22-ASK", business_type=REVOKE)
    # A round is open for each recipient: a 13 waits, an answer closes it.
    assert await _status(axis, a, "G22-ASK", B, "13") == (409, "status.transition")
    assert await _status(axis, b, "G22-ASK", A, "15") == (202, None)
    assert await _status(axis, b, "G22-ASK", A, "16") == (409, "status.transition")
    assert await _status(axis, c, "G22-ASK", A, "16") == (202, None)
    trace = await _trace(axis, original, a)
    rounds = {e["agency"]: e["recall_rounds"] for e in trace["deliveries"]}
    assert [(r["asked"][0]["code"], r["state"]) for r in rounds[B]] == [("revoke", "agreed")]
    assert [(r["asked"][0]["code"], r["state"]) for r in rounds[C]] == [("revoke", "refused")]


async def test_feeds_hand_out_a_cursor_on_the_last_page_that_resumes_later(
    axis: RunningAxis,
) -> None:
    a, b = await axis.register(A), await axis.register(B)
    empty = (await axis.call("GET", "/api/v1/statuses", token=a.token)).json()
    assert empty["items"] == [] and empty["next_cursor"] is None and empty["resume_cursor"]
    for n in range(3):
        await _send(axis, a, [B], document_id=f"G22-FEED-{n}")
        assert await _status(axis, b, f"G22-FEED-{n}", A, "03") == (202, None)
    last = (await axis.call("GET", "/api/v1/statuses?limit=3", token=a.token)).json()
    assert len(last["items"]) == 3 and last["next_cursor"] is None
    resume = last["resume_cursor"]
    again = (await axis.call("GET", f"/api/v1/statuses?cursor={resume}", token=a.token)).json()
    assert again["items"] == [] and again["resume_cursor"] == resume
    assert await _status(axis, b, "G22-FEED-0", A, "04") == (202, None)
    later = (await axis.call("GET", f"/api/v1/statuses?cursor={resume}", token=a.token)).json()
    assert [(s["document_id"], s["status_code"]) for s in later["items"]] == [("G22-FEED-0", "04")]

    inbox = (await axis.call("GET", "/api/v1/inbox", token=b.token)).json()
    assert len(inbox["items"]) == 3 and inbox["next_cursor"] is None
    newer = await _send(axis, a, [B], document_id="G22-FEED-NEW")
    query = f"/api/v1/inbox?cursor={inbox['resume_cursor']}"
    resumed = (await axis.call("GET", query, token=b.token)).json()
    assert [i["id"] for i in resumed["items"]] == [newer]


async def test_an_update_under_its_own_document_id_asks_about_the_document_it_updates(
    axis: RunningAxis,
) -> None:
    a, b = await axis.register(A), await axis.register(B)
    original = await _send(axis, a, [B], document_id="G22-BASE")
    update = await _send(
        axis, a, [B], document_id="G22-UPD", business_type=UPDATE, business_reference="G22-BASE"
    )
    # One question, whichever DocumentId the answer names: the second answer is refused.
    assert await _status(axis, b, "G22-BASE", A, "15") == (202, None)
    assert await _status(axis, b, "G22-UPD", A, "16") == (409, "status.transition")
    for axis_id in (original, update):
        [entry] = (await _trace(axis, axis_id, a))["deliveries"]
        rounds = [
            (r["asked"][0]["code"], r["asked"][0]["id"], r["state"]) for r in entry["recall_rounds"]
        ]
        assert rounds == [("update", update, "agreed")], axis_id
