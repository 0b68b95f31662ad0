"""A VDXP client that signs requests as the official Java client does.

For the conformance suite and tests (and integrators who want to see what the
official client puts on the wire): the same ``XroadVnpt-*`` headers, the same
sign-header JSON and HMAC, the same unpadded ``hash-file``, the file sent as
the whole body followed by CRLF with a signed Content-Type of
application/octet-stream.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import aiohttp

from edoc_axis import outgoing

PREFIX = "XroadVnpt-"
USER_AGENT = "JAVASDKAgent/1.0.0 XRoad/VPCP"


def sdk_timestamp(at: datetime) -> str:
    """``ddMMyyyy'T'HHmmss+SSSS`` as the client writes it (SSSS = milliseconds)."""
    return at.strftime("%d%m%YT%H%M%S") + f"+{at.microsecond // 1000:04d}"


def unpadded_sha256(raw: bytes) -> str:
    """The client's hash-file: each byte in hex without zero padding."""
    return "".join(format(b, "x") for b in hashlib.sha256(raw).digest())


@dataclass
class VdxpAnswer:
    http_status: int
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def ok(self) -> bool:
        try:
            return bool(self.json().get("status") == "OK")
        except ValueError:
            return False

    @property
    def error_code(self) -> str:
        return str(self.json().get("ErrorCode"))


@dataclass
class VdxpClient:
    """One connected system; ``timestamp`` is fixed at creation, as in the official client."""

    session: aiohttp.ClientSession
    endpoint: str  # e.g. http://127.0.0.1:8080/vdxp
    system_id: str
    secret: str
    timestamp: str

    def signed_headers(
        self, params: Mapping[str, str], content_type: str = "application/json"
    ) -> dict[str, str]:
        pairs = {
            f"{PREFIX}systemid": self.system_id,
            **{f"{PREFIX}{name}": value for name, value in params.items()},
            f"{PREFIX}timestamp": self.timestamp,
            f"{PREFIX}Content-Type": content_type,
        }
        sign_header = json.dumps(pairs, separators=(",", ":"), ensure_ascii=False)
        digest = hmac.new(self.secret.encode(), sign_header.encode(), hashlib.sha256).hexdigest()
        return {
            **pairs,
            "Content-Type": content_type,
            f"{PREFIX}sign-header-key": ";".join(name[len(PREFIX) :] for name in pairs),
            f"{PREFIX}sign-header": sign_header,
            f"{PREFIX}hash-header": digest,
            "User-Agent": USER_AGENT,
            f"{PREFIX}version": "3.0.201608",
        }

    async def raw_call(
        self,
        method: str,
        headers: Mapping[str, str],
        *,
        body: bytes | None = None,
        http: str = "POST",
    ) -> VdxpAnswer:
        data, body_headers = outgoing.request_body(body)
        async with self.session.request(
            http, f"{self.endpoint}/{method}", data=data, headers={**headers, **body_headers}
        ) as response:
            answer = await outgoing.read_body(response)
            return VdxpAnswer(response.status, answer, dict(response.headers))

    async def call(
        self, method: str, params: Mapping[str, str] | None = None, *, http: str = "POST"
    ) -> VdxpAnswer:
        return await self.raw_call(method, self.signed_headers(params or {}), http=http)

    def send_headers(self, raw: bytes, sender: str, message_type: str = "edoc") -> dict[str, str]:
        params = {
            "servicetype": "eDoc",
            "messagetype": message_type,
            "hash-file": unpadded_sha256(raw),
            "from": sender,
        }
        return self.signed_headers(params, "application/octet-stream")

    async def send(self, raw: bytes, sender: str, message_type: str = "edoc") -> VdxpAnswer:
        headers = self.send_headers(raw, sender, message_type)
        return await self.raw_call("sendEdoc", headers, body=raw + b"\r\n")

    async def received(self, message_type: str = "edoc") -> VdxpAnswer:
        return await self.call(
            "getReceivedEdocList", {"servicetype": "eDoc", "messagetype": message_type}
        )

    async def get(self, doc_id: str) -> VdxpAnswer:
        return await self.call("getEdoc", {"docId": doc_id, "filePath": "xml"})

    async def update(self, doc_id: str, status: str) -> VdxpAnswer:
        return await self.call("updateStatus", {"docId": doc_id, "status": status})

    async def sent(self, message_type: str = "edoc", doc_id: str | None = None) -> VdxpAnswer:
        params = {"servicetype": "eDoc", "messagetype": message_type}
        if doc_id is not None:
            params["docId"] = doc_id
        return await self.call("getSentEdocList", params)
