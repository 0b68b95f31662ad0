"""The Python client for the axis HTTP API (used by `edoc`, the demo and the tests)."""

from __future__ import annotations

import json
import ssl
from dataclasses import dataclass
from types import TracebackType
from typing import Any
from urllib.parse import quote

import aiohttp

from edoc_axis import outgoing

XML = "application/xml"


class AxisUnreachable(Exception):
    """The axis could not be reached at all (connection refused, DNS, timeout)."""


class AxisUntrusted(AxisUnreachable):
    """The axis answered TLS with a certificate the client does not trust."""


@dataclass(frozen=True)
class ApiResponse:
    status: int
    body: bytes
    headers: dict[str, str]

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def problem(self) -> dict[str, Any]:
        """The problem+json object of a refusal (empty for a success)."""
        if self.ok:
            return {}
        try:
            data = json.loads(self.body)
        except ValueError:
            return {
                "code": f"http.{self.status}",
                "detail": self.body[:200].decode(errors="replace"),
            }
        return data if isinstance(data, dict) else {}

    @property
    def code(self) -> str | None:
        code = self.problem.get("code")
        return None if code is None else str(code)

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass(frozen=True)
class FetchedPart:
    """One part of a batch fetch: a document's exact bytes, or the refusal for its id."""

    axis_id: str
    headers: dict[str, str]
    body: bytes

    @property
    def ok(self) -> bool:
        return self.headers.get("content-type", "").split(";")[0].strip() == XML

    def as_response(self) -> ApiResponse:
        """The part as ``inbox_document`` would have answered it."""
        status = 200 if self.ok else _problem_status(self.body)
        names = {k.lower(): k for k in ("Content-Type", "Edoc-Axis-Id", "Edoc-Sender")}
        headers = {names.get(k, k.title()): v for k, v in self.headers.items()}
        return ApiResponse(status, self.body, headers)


def _problem_status(body: bytes) -> int:
    try:
        status = json.loads(body).get("status")
    except (ValueError, AttributeError):
        return 502  # not the problem part the axis writes
    return status if isinstance(status, int) and 400 <= status < 600 else 502


class MultipartInvalid(ValueError):
    """A batch fetch answer that is not the multipart/mixed the axis writes."""


def split_multipart(body: bytes, content_type: str) -> list[FetchedPart]:
    """The parts of a ``multipart/mixed`` answer whose every part has a Content-Length.

    Each body is taken by its length, never by searching for the boundary, so
    a document's bytes come back exactly whatever they hold. Linear in ``body``.
    """
    delimiter = b"--" + _boundary(content_type).encode("ascii")
    parts: list[FetchedPart] = []
    at = 0
    while True:
        if body[at : at + len(delimiter)] != delimiter:
            raise MultipartInvalid(f"no boundary at byte {at}")
        at += len(delimiter)
        if body[at : at + 2] == b"--":
            return parts
        if body[at : at + 2] != b"\r\n":
            raise MultipartInvalid(f"a boundary not followed by CRLF at byte {at}")
        part, at = _part_at(body, at + 2)
        parts.append(part)


def _boundary(content_type: str) -> str:
    kind, _, params = content_type.partition(";")
    for param in params.split(";"):
        name, _, value = param.strip().partition("=")
        if name.lower() == "boundary" and kind.strip().lower() == "multipart/mixed":
            return value.strip('"')
    raise MultipartInvalid(f"not multipart/mixed with a boundary: {content_type!r}")


def _part_at(body: bytes, at: int) -> tuple[FetchedPart, int]:
    """The part whose headers start at ``at``, and where the next delimiter must be."""
    head_end = body.find(b"\r\n\r\n", at)
    if head_end < 0:
        raise MultipartInvalid("a part's headers do not end")
    headers: dict[str, str] = {}
    for line in body[at:head_end].decode("latin-1").split("\r\n"):
        name, colon, value = line.partition(":")
        if not colon:
            raise MultipartInvalid(f"a header line without a colon: {line[:80]!r}")
        headers[name.strip().lower()] = value.strip()
    length = headers.get("content-length", "")
    if not length.isdigit():
        raise MultipartInvalid("a part without a Content-Length")
    start = head_end + 4
    end = start + int(length)
    if end + 2 > len(body) or body[end : end + 2] != b"\r\n":
        raise MultipartInvalid("a part shorter than its Content-Length")
    return FetchedPart(headers.get("edoc-axis-id", ""), headers, body[start:end]), end + 2


class AxisClient:
    """An agency's (or operator's) connection to one axis."""

    def __init__(
        self,
        base_url: str,
        token: str | None,
        *,
        timeout_s: float = 60.0,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        """``token`` may be None when a TLS client certificate (in ``ssl_context``) logs in."""
        self.base_url = base_url.rstrip("/")
        self.token = token
        self._timeout = aiohttp.ClientTimeout(total=timeout_s)
        self._ssl: ssl.SSLContext | bool = True if ssl_context is None else ssl_context
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> AxisClient:
        self._session = aiohttp.ClientSession(
            timeout=self._timeout, connector=outgoing.connector(ssl=self._ssl)
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._session is not None:
            await self._session.close()

    async def request(
        self,
        method: str,
        path: str,
        *,
        data: bytes | None = None,
        content_type: str | None = None,
        json_body: Any = None,
        headers: dict[str, str] | None = None,
    ) -> ApiResponse:
        assert self._session is not None, "use 'async with AxisClient(...)'"
        all_headers = dict(headers or {})
        if self.token:
            all_headers["Authorization"] = f"Bearer {self.token}"
        if content_type:
            all_headers["Content-Type"] = content_type
        if json_body is not None:
            data = json.dumps(json_body).encode()
            all_headers["Content-Type"] = "application/json"
        body_data, body_headers = outgoing.request_body(data)
        all_headers.update(body_headers)
        try:
            async with self._session.request(
                method, self.base_url + path, data=body_data, headers=all_headers
            ) as response:
                body = await outgoing.read_body(response)
                return ApiResponse(response.status, body, dict(response.headers))
        except aiohttp.ClientConnectorCertificateError as exc:
            error = exc.certificate_error
            reason = getattr(error, "verify_message", None) or error
            raise AxisUntrusted(
                f"{self.base_url}: the axis's TLS certificate is not trusted ({reason}); "
                "pass --cacert with the CA that issued it"
            ) from exc
        except (aiohttp.ClientConnectionError, TimeoutError) as exc:
            raise AxisUnreachable(f"{self.base_url}: {exc}") from exc

    async def submit(self, raw: bytes) -> ApiResponse:
        """POST one signed edXML document; 202 new, 200 exact re-submission."""
        return await self.request("POST", "/api/v1/documents", data=raw, content_type=XML)

    async def document(self, axis_id: str) -> ApiResponse:
        """The exact original bytes (to the sender and the recipients)."""
        return await self.request("GET", f"/api/v1/documents/{axis_id}", headers={"Accept": XML})

    async def me(self) -> ApiResponse:
        """The calling agency: code, name, aliases, delivery mode."""
        return await self.request("GET", "/api/v1/me")

    async def inbox(self, limit: int = 100, cursor: str | None = None) -> ApiResponse:
        """One page of documents waiting for the caller, oldest first."""
        query = f"?limit={limit}" + (f"&cursor={quote(cursor)}" if cursor else "")
        return await self.request("GET", "/api/v1/inbox" + query)

    async def inbox_document(self, axis_id: str) -> ApiResponse:
        return await self.request("GET", f"/api/v1/inbox/{axis_id}", headers={"Accept": XML})

    async def inbox_documents(self, axis_ids: list[str]) -> tuple[ApiResponse, list[FetchedPart]]:
        """Several inbox documents in one request (at most 100 ids): the parts in the order
        asked, fewer when the answer's byte limit left the last ids for another request."""
        response = await self.request("POST", "/api/v1/inbox/fetch", json_body={"ids": axis_ids})
        if not response.ok:
            return response, []
        return response, split_multipart(response.body, response.headers.get("Content-Type", ""))

    async def ack(self, axis_id: str) -> ApiResponse:
        """The delivery receipt: the caller has stored the document (idempotent)."""
        return await self.request("POST", f"/api/v1/inbox/{axis_id}/ack")

    async def ack_many(self, axis_ids: list[str]) -> ApiResponse:
        """Delivery receipts for several documents in one request (at most 500 ids):
        ``items`` holds each id's state or its refusal."""
        return await self.request("POST", "/api/v1/inbox/ack", json_body={"ids": axis_ids})

    async def post_status(self, raw: bytes) -> ApiResponse:
        """Submit an edXML status package (signed or not)."""
        return await self.request("POST", "/api/v1/statuses", data=raw, content_type=XML)

    async def statuses(self, limit: int = 100, cursor: str | None = None) -> ApiResponse:
        """One page of status messages addressed to the caller."""
        query = f"?limit={limit}" + (f"&cursor={quote(cursor)}" if cursor else "")
        return await self.request("GET", "/api/v1/statuses" + query)

    async def status_bytes(self, status_id: str) -> ApiResponse:
        return await self.request("GET", f"/api/v1/statuses/{status_id}")

    async def trace(self, axis_id: str) -> ApiResponse:
        """Per recipient: delivery state, attempts, statuses, follow-ups."""
        return await self.request("GET", f"/api/v1/documents/{axis_id}/trace")

    # -- as a peer axis (federation) -------------------------------------------
    async def peer_directory(self, since: int | None = None) -> ApiResponse:
        """The agencies the axis reaches, for this (peer) axis to route by;
        ``{"unchanged": true}`` when its version is still ``since``."""
        query = "" if since is None else f"?since={since}"
        return await self.request("GET", "/api/v1/relay/directory" + query)

    async def peer_trace(self, sender: str, document_id: str) -> ApiResponse:
        """The axis's part of the trace of a document this (peer) axis relayed to it."""
        query = f"?sender={quote(sender)}&document_id={quote(document_id)}"
        return await self.request("GET", "/api/v1/relay/trace" + query)
