"""ROBUST-*: the "robustness" section: hostile shapes are answered promptly, and others wait not.

Each XML shape of ``shapes`` is sent at the size that once took the axis
seconds to minutes of CPU, signed by the sender (so that an axis runs every
check it has on it) or, for the status endpoint, unsigned. Whatever the axis
answers (a 2xx acceptance or a 4xx refusal; never a 5xx) must come within the
case's time budget. The spec names no limits, so these cases are optional: they
check the project's own promise (README "Security").

Other cases of this section (slow clients, connection limits) are added to
``CASES`` after these.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from edoc_axis.client import ApiResponse
from edoc_axis.conformance.context import RunContext
from edoc_axis.conformance.model import Case, CaseFailed, CaseFn, Probe
from edoc_axis.conformance.shapes import (
    SHAPES,
    Shape,
    attribute_flood,
    comment_flood,
    namespace_bomb,
    shaped,
)

# Seconds from sending the last byte to the answer, per case. Our axis answers
# each of these in well under a second; before the limits, the namespace bomb
# took 14.5 s and 20,000 comments 45 s.
BUDGET_S = 3.0
CLAUSE = "README §Security: every check linear in the input (project addition)"
# The size each shape is sent at (see shapes.py for what n means).
SIZES: dict[str, int] = {
    "namespace-bomb": 20_000,
    "namespace-per-element": 20_000,
    "namespaces-in-scope": 20_000,
    "comment-flood": 8_000,
    "comment-flood-beyond-limit": 20_000,
    "attribute-flood": 5_000,  # signing it costs the client attributes^2 (C14N sorts them)
    "attributes-at-limit": 64 * 2_000,
    "deep-tree": 20_000,
    "wide-tree": 100_000,
    "long-text": 100_000,
    "character-references": 100_000,
}
# Requests the concurrency case sends at once while a valid document goes through.
FLOOD = 4


def _answered(probe: Probe, response: ApiResponse, elapsed_s: float, budget_s: float) -> None:
    """A 2xx or 4xx answer (never 5xx) within ``budget_s``."""
    shown = f"{response.status} {response.code or ''}".strip()
    probe.expected = f"2xx or 4xx within {budget_s:g} s"
    probe.observed = f"{shown} in {elapsed_s:.2f} s"
    if not (200 <= response.status < 300 or 400 <= response.status < 500):
        raise CaseFailed(f"expected an acceptance or a refusal, got {shown}")
    if elapsed_s > budget_s:
        raise CaseFailed(f"answered {shown} after {elapsed_s:.2f} s (budget {budget_s:g} s)")


async def _timed_post(
    ctx: RunContext, role: str, path: str, raw: bytes
) -> tuple[ApiResponse, float]:
    client = ctx.client(role)
    started = time.monotonic()
    response = await client.request("POST", path, data=raw, content_type="application/xml")
    return response, time.monotonic() - started


def fitted(ctx: RunContext, fragment: Callable[[int], bytes], n: int) -> int:
    """``n``, or less so that the shape fills at most 80 % of the axis's body limit.

    A body over the limit would only test the size check; the point is the
    checks that come after it.
    """
    room = int(ctx.target.max_body_bytes * 0.8) - 16 * 1024  # the package around it
    per_n = len(fragment(1000)) / 1000
    return max(1, min(n, int(room / per_n)))


def _shape_runner(shape: Shape) -> CaseFn:
    async def run(ctx: RunContext, probe: Probe) -> None:
        n = fitted(ctx, shape.fragment, SIZES[shape.name])
        raw = ctx.sign(shaped(ctx.document(), shape, n))
        response, elapsed = await _timed_post(ctx, "sender", "/api/v1/documents", raw)
        _answered(probe, response, elapsed, BUDGET_S)

    return run


def _status_runner(fragment: Callable[[int], bytes], n: int) -> CaseFn:
    async def run(ctx: RunContext, probe: Probe) -> None:
        status = ctx.status("recipient", ctx.fresh_id(), "sender", "03", signed=False)
        at = status.index(b"</edXML:MessageHeader>")
        raw = status[:at] + fragment(fitted(ctx, fragment, n)) + status[at:]
        response, elapsed = await _timed_post(ctx, "recipient", "/api/v1/statuses", raw)
        _answered(probe, response, elapsed, BUDGET_S)

    return run


async def _valid_document_not_delayed(ctx: RunContext, probe: Probe) -> None:
    """FLOOD hostile bodies in flight from one agency; another agency's document still passes."""
    hostile = [
        shaped(ctx.document(), shape, fitted(ctx, shape.fragment, SIZES[shape.name]))
        for shape in SHAPES
        if shape.name in ("namespace-bomb", "comment-flood-beyond-limit")
    ]
    bodies = [hostile[i % len(hostile)] for i in range(FLOOD)]
    valid = ctx.signed("recipient", ("sender",), document_id=ctx.fresh_id())
    flood = [
        asyncio.ensure_future(_timed_post(ctx, "sender", "/api/v1/documents", body))
        for body in bodies
    ]
    try:
        await asyncio.sleep(0.05)  # let the hostile requests reach the axis first
        response, elapsed = await _timed_post(ctx, "recipient", "/api/v1/documents", valid)
    finally:
        answers = await asyncio.gather(*flood, return_exceptions=True)
    probe.expected = f"202 within {BUDGET_S:g} s"
    probe.observed = f"{response.status} {response.code or ''}".strip() + f" in {elapsed:.2f} s"
    if response.status != 202:
        raise CaseFailed(f"the valid document got {probe.observed}")
    if elapsed > BUDGET_S:
        raise CaseFailed(f"the valid document waited {elapsed:.2f} s (budget {BUDGET_S:g} s)")
    for answer in answers:
        if isinstance(answer, BaseException):
            raise CaseFailed(f"a hostile request ended without an answer: {answer!r}")
        if answer[0].status >= 500:
            raise CaseFailed(f"a hostile request got {answer[0].status}")


def _shape_case(number: int, shape: Shape) -> Case:
    n = SIZES[shape.name]
    return Case(
        id=f"ROBUST-{number:03d}",
        title=f"{shape.name} is answered within the time budget",
        clause=CLAUSE,
        required=False,
        sends=(
            f"POST /api/v1/documents as 'sender': {shape.description}, n={n:,} (less if the"
            " body limit needs), signed"
        ),
        expects=f"2xx or 4xx (never 5xx) within {BUDGET_S:g} s",
        run=_shape_runner(shape),
        needs=("sender",),
    )


def _status_case(number: int, name: str, fragment: Callable[[int], bytes], n: int) -> Case:
    return Case(
        id=f"ROBUST-{number:03d}",
        title=f"{name} in an unsigned status is answered within the time budget",
        clause=CLAUSE,
        required=False,
        sends=f"POST /api/v1/statuses as 'recipient': an unsigned status 03 with {name}, n={n:,}",
        expects=f"2xx or 4xx (never 5xx) within {BUDGET_S:g} s",
        run=_status_runner(fragment, n),
        needs=("recipient", "sender"),
    )


_SHAPE_CASES = tuple(_shape_case(i + 1, shape) for i, shape in enumerate(SHAPES))
_STATUS_CASES = tuple(
    _status_case(len(_SHAPE_CASES) + i + 1, name, fragment, n)
    for i, (name, fragment, n) in enumerate(
        (
            ("a namespace bomb", namespace_bomb, SIZES["namespace-bomb"]),
            ("a comment flood", comment_flood, SIZES["comment-flood-beyond-limit"]),
            ("an attribute flood", attribute_flood, SIZES["attribute-flood"]),
        )
    )
)
_NOT_DELAYED = Case(
    id=f"ROBUST-{len(_SHAPE_CASES) + len(_STATUS_CASES) + 1:03d}",
    title="a valid document is not held up while hostile bodies are examined",
    clause=CLAUSE,
    required=False,
    sends=(
        f"{FLOOD} namespace bombs and comment floods from 'sender' in flight, then a valid "
        "signed document from 'recipient'"
    ),
    expects=f"202 for the valid document within {BUDGET_S:g} s; no 5xx for the others",
    run=_valid_document_not_delayed,
    needs=("sender", "recipient"),
)

CASES: tuple[Case, ...] = (*_SHAPE_CASES, *_STATUS_CASES, _NOT_DELAYED)
