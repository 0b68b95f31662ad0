"""Query parameters shared by the listings (limit and cursor)."""

from __future__ import annotations

from aiohttp import web

from edoc_axis.errors import RequestInvalid

MAX_LIMIT = 500
DEFAULT_LIMIT = 100


def page_params(request: web.Request) -> tuple[int, str | None]:
    raw_limit = request.query.get("limit", str(DEFAULT_LIMIT))
    try:
        limit = int(raw_limit)
    except ValueError:
        raise RequestInvalid(f"limit must be a whole number, not {raw_limit!r}") from None
    if not 1 <= limit <= MAX_LIMIT:
        raise RequestInvalid(f"limit must be between 1 and {MAX_LIMIT}")
    return limit, request.query.get("cursor") or None
