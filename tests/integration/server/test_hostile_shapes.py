"""On a real server: hostile XML shapes are answered promptly and do not hold up another agency.

Before the limits, four unsigned namespace bombs (20,000 declarations, 3,000
children) held a valid document from another agency up for 20 s; 20,000
comments under MessageHeader took 45 s of CPU. The bound here is generous (the
answer takes tens of milliseconds); the point is that it is not seconds.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable
from datetime import datetime

from edoc_axis.conformance.shapes import (
    SHAPES,
    comment_flood,
    namespace_bomb,
    shaped,
)
from edoc_axis.core.compose import new_status
from edoc_axis.edxml import StatusCode, build_status
from tests.integration.server.conftest import AgencyKit, Response, RunningAxis

A, B, C = "000.00.00.A01", "000.00.00.B01", "000.00.00.C01"
VALID_WITHIN_S = 2.0
HOSTILE_WITHIN_S = 30.0  # each is answered (they queue behind each other, 2 at a time)
SIZES = {
    "namespace-bomb": 20_000,
    "namespace-per-element": 20_000,
    "namespaces-in-scope": 20_000,
    "comment-flood": 8_000,
    "comment-flood-beyond-limit": 20_000,
    "attribute-flood": 5_000,
    "attributes-at-limit": 64 * 1_000,
    "deep-tree": 20_000,
    "wide-tree": 50_000,
    "long-text": 12_000,
    "character-references": 20_000,
}


def _status_with(fragment: bytes, sender: str, counterparty: str) -> bytes:
    raw = build_status(
        new_status(
            sender=sender,
            about_document_id=f"{counterparty},2026/01/02,1/X",
            counterparty=counterparty,
            code=StatusCode("03"),
            at=datetime(2026, 1, 2, 8, 0, 0),
        )
    )
    at = raw.index(b"</edXML:MessageHeader>")
    return raw[:at] + fragment + raw[at:]


async def _timed(call: Awaitable[Response]) -> tuple[Response, float]:
    started = time.monotonic()
    response = await call
    return response, time.monotonic() - started


def _hostile_bodies(axis: RunningAxis, attacker: AgencyKit) -> list[tuple[str, bytes]]:
    bodies: list[tuple[str, bytes]] = []
    for shape in SHAPES:
        raw = shaped(axis.document(attacker, [C]), shape, SIZES[shape.name])
        # Signed where the shape is within the limits (the signer parses with
        # them too): then the axis runs every check it has; unsigned otherwise.
        if shape.within_default_limits:
            raw = attacker.sign(raw)
        bodies.append(("/api/v1/documents", raw))
    bodies.append(("/api/v1/statuses", _status_with(namespace_bomb(20_000), attacker.code, C)))
    bodies.append(("/api/v1/statuses", _status_with(comment_flood(20_000), attacker.code, C)))
    return bodies


async def test_hostile_shapes_do_not_delay_a_valid_document(axis: RunningAxis) -> None:
    attacker, honest, _ = [await axis.register(code) for code in (A, B, C)]
    hostile = _hostile_bodies(axis, attacker)
    valid = axis.signed(honest, [C])

    flood = [
        asyncio.ensure_future(_timed(axis.call("POST", path, token=attacker.token, data=body)))
        for path, body in hostile
    ]
    await asyncio.sleep(0.05)  # the hostile requests reach the server first
    response, elapsed = await _timed(axis.submit(valid, honest))
    answers = await asyncio.gather(*flood)
    print(f"valid: {elapsed:.3f} s; hostile: {max(took for _, took in answers):.3f} s at most")

    assert response.status == 202, response.body
    assert elapsed < VALID_WITHIN_S, f"the valid document waited {elapsed:.2f} s"
    for (path, body), (answer, took) in zip(hostile, answers, strict=True):
        assert answer.status < 500, (path, len(body), answer.status, answer.body[:300])
        assert took < HOSTILE_WITHIN_S, (path, len(body), took)
    codes = sorted({str(answer.code) for answer, _ in answers})
    assert "xml.forbidden" in codes, codes  # the bombs and floods were refused as such


async def test_four_namespace_bombs_and_a_valid_document(axis: RunningAxis) -> None:
    """The reported attack exactly: four unsigned bombs, then another agency's document."""
    attacker, honest, _ = [await axis.register(code) for code in (A, B, C)]
    bomb = b"".join(
        [
            b'<x:Extra xmlns:x="urn:x" ',
            b" ".join(b'xmlns:n%d="urn:n%d"' % (i, i) for i in range(20_000)),
            b">",
            b"<x:c/>" * 3_000,
            b"</x:Extra>",
        ]
    )
    bodies = []
    for _ in range(4):
        raw = axis.document(attacker, [C])
        at = raw.index(b"</edXML:MessageHeader>")
        bodies.append(raw[:at] + bomb + raw[at:])
    flood = [asyncio.ensure_future(_timed(axis.submit(body, attacker))) for body in bodies]
    await asyncio.sleep(0.05)
    response, elapsed = await _timed(axis.submit(axis.signed(honest, [C]), honest))
    answers = await asyncio.gather(*flood)
    assert response.status == 202 and elapsed < VALID_WITHIN_S, (response.status, elapsed)
    assert [(a.status, a.code) for a, _ in answers] == [(400, "xml.forbidden")] * 4
