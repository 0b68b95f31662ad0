"""RFC 9457 problem answers, the one shape every HTTP refusal takes (axis and endpoint)."""

from __future__ import annotations

import json

from aiohttp import web

from edoc_axis.errors import EdocError, problem_object

PROBLEM_JSON = "application/problem+json"


def problem(
    status: int,
    code: str,
    title: str,
    detail: str,
    *,
    document_id: str | None = None,
    retry_after_s: int | None = None,
) -> web.Response:
    """An application/problem+json answer with the error's stable code."""
    body = problem_object(status, code, title, detail, document_id=document_id)
    headers = {} if retry_after_s is None else {"Retry-After": str(retry_after_s)}
    return web.Response(
        status=status,
        body=json.dumps(body, ensure_ascii=False).encode("utf-8"),
        content_type=PROBLEM_JSON,
        headers=headers,
    )


def problem_response(error: EdocError) -> web.Response:
    """The problem answer for ``error`` (its status, code, title and detail)."""
    return problem(
        error.http_status,
        error.code,
        error.title,
        error.detail,
        document_id=error.document_id,
        retry_after_s=error.retry_after_s,
    )
