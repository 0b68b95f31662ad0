"""One push attempt over HTTP, classified into the core's AttemptResult."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime

import aiohttp

from edoc_axis.core.retry import AttemptKind, AttemptResult, parse_retry_after

_DETAIL_BYTES = 2048
_ANSWER_BYTES = 64 * 1024  # a relay's answer: the next axis's receipt (a few KiB)
_DETAIL_CHARS = 200
# Answers that say "the server is not able right now", as opposed to a refusal.
_UNAVAILABLE_4XX = frozenset({408, 429})


def _detail_of(body: bytes, content_type: str) -> str:
    """A short reason from the answer: the problem code if any, else the first line."""
    text = body.decode("utf-8", errors="replace").strip()
    if content_type.endswith("json"):
        try:
            problem = json.loads(text)
        except ValueError:
            problem = None
        code = problem.get("code") if isinstance(problem, dict) else None
        if isinstance(code, str):
            return code
    return text.splitlines()[0][:_DETAIL_CHARS] if text else ""


async def post_delivery(
    session: aiohttp.ClientSession,
    url: str,
    body: bytes | AsyncIterator[bytes],
    headers: dict[str, str],
    client_timeout: aiohttp.ClientTimeout,
    now: datetime,
    *,
    keep_answer: bool = False,
) -> AttemptResult:
    """POST the body and say what happened; never raises for network trouble.

    ``keep_answer`` keeps the start of a 2xx answer (a relay's receipt).
    ``client_timeout`` is aiohttp's, not one deadline for the whole call: it
    bounds connecting and each read separately, which an ``asyncio.timeout``
    around the call could not tell apart.
    """
    try:
        async with session.post(
            url, data=body, headers=headers, timeout=client_timeout, allow_redirects=False
        ) as response:
            retry_after = parse_retry_after(response.headers.get("Retry-After"), now)
            detail, answer = "", b""
            if not 200 <= response.status < 300:
                detail = _detail_of(
                    await response.content.read(_DETAIL_BYTES), response.content_type
                )
            elif keep_answer:
                answer = await response.content.read(_ANSWER_BYTES)
            return AttemptResult(AttemptKind.HTTP, response.status, retry_after, detail, answer)
    except TimeoutError as exc:  # aiohttp's timeouts are TimeoutError subclasses too
        return AttemptResult(AttemptKind.TIMEOUT, detail=str(exc) or "no answer in time")
    except aiohttp.ClientError as exc:
        return AttemptResult(AttemptKind.CONNECTION, detail=str(exc) or type(exc).__name__)


def endpoint_failed(result: AttemptResult) -> bool:
    """Does this result count against the endpoint's circuit breaker?

    A 2xx or a refusal (4xx) proves the endpoint is alive; only silence,
    broken connections, 5xx and 408/429 say it is not serving.
    """
    if result.kind != AttemptKind.HTTP:
        return True
    status = result.http_status or 0
    return status >= 500 or status in _UNAVAILABLE_4XX
