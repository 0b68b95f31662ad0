"""The run context: the axis under test, the agencies the suite acts as, packages on demand."""

from __future__ import annotations

import secrets
import ssl
import time
from collections.abc import Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from datetime import datetime
from types import TracebackType
from typing import Any

import aiohttp
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes
from lxml import etree

from edoc_axis import clock
from edoc_axis.client import XML, ApiResponse, AxisClient, AxisUnreachable
from edoc_axis.conformance.model import AgencyCreds, CaseFailed, CaseSkipped, PeerCreds, Probe
from edoc_axis.core.compose import new_document, new_status
from edoc_axis.core.delivery_auth import DeliveryFacts, delivery_headers
from edoc_axis.core.receipt import Receipt, read_receipt, verify_receipt
from edoc_axis.edxml import StatusCode, build_document, build_status
from edoc_axis.errors import EdocError
from edoc_axis.signature import sign_package

DEFAULT_MAX_BODY_BYTES = 64 * 1024 * 1024
# Roles every run has; the others (expired, future, revoked, untrusted, keyusage,
# sender-ec, throttled) exist only when --setup or an agencies file provides them.
CORE_ROLES = ("sender", "recipient", "second")
# Where a peer axis relays to, and the header naming the axes a relay crossed
# (origin first): the wire names of the federation API (README "Connecting axes").
RELAY_PATH = "/api/v1/relay"
H_RELAY_PATH = "Edoc-Relay-Path"


@dataclass(frozen=True)
class AxisTarget:
    """What the suite is pointed at and acts with."""

    url: str
    agencies: dict[str, AgencyCreds]
    axis_certs: tuple[x509.Certificate, ...] = ()
    disabled_code: str | None = None
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    unknown_code: str = field(default_factory=lambda: "ZZ" + secrets.token_hex(4).upper())
    # The test agencies ``--setup`` registered, removed again when the run ends.
    test_agencies: tuple[str, ...] = ()
    # How HTTPS is verified (``--cacert``); None: the system's CAs.
    tls: ssl.SSLContext | None = None
    # The suite as a peer axis of the target (FED-* cases); None: not set up.
    peer: PeerCreds | None = None
    # The test peers ``--setup`` registered, disabled again when the run ends.
    test_peers: tuple[str, ...] = ()


def http_session(timeout_s: float, tls: ssl.SSLContext | None = None) -> aiohttp.ClientSession:
    """A session that verifies HTTPS with ``tls`` (the --cacert bundle) or the system CAs."""
    return aiohttp.ClientSession(
        timeout=aiohttp.ClientTimeout(total=timeout_s),
        connector=aiohttp.TCPConnector(ssl=True if tls is None else tls),
    )


@dataclass(frozen=True)
class Sent:
    """A document the suite submitted and the axis accepted."""

    axis_id: str
    document_id: str
    raw: bytes
    response: ApiResponse


def vietnam_now() -> datetime:
    """Now as edXML writes it: Vietnam local time without a zone."""
    return clock.vietnam_now().replace(microsecond=0)


class RunContext:
    """Builds packages as the suite's agencies and talks to the axis as each of them.

    Package building needs no network, so the corpus tests use a context that
    is never entered.
    """

    def __init__(self, target: AxisTarget, *, timeout_s: float = 30.0) -> None:
        self.target = target
        self.timeout_s = timeout_s
        self._clients: dict[str, AxisClient] = {}
        self._stack = AsyncExitStack()
        self._session: aiohttp.ClientSession | None = None
        self._axis_name: str | None = None

    async def __aenter__(self) -> RunContext:
        tls = self.target.tls
        self._session = await self._stack.enter_async_context(http_session(self.timeout_s, tls))
        for role, creds in self.target.agencies.items():
            client = AxisClient(
                self.target.url, creds.token, timeout_s=self.timeout_s, ssl_context=tls
            )
            self._clients[role] = await self._stack.enter_async_context(client)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._stack.aclose()

    # -- agencies -------------------------------------------------------------
    def has(self, role: str) -> bool:
        return role in self.target.agencies

    def creds(self, role: str) -> AgencyCreds:
        try:
            return self.target.agencies[role]
        except KeyError:
            raise CaseSkipped(
                f"needs the '{role}' agency (use --setup or an --agencies file)"
            ) from None

    def code(self, role: str) -> str:
        return self.creds(role).code

    def client(self, role: str) -> AxisClient:
        self.creds(role)
        return self._clients[role]

    # -- packages -------------------------------------------------------------
    @staticmethod
    def fresh_id(tag: str = "DOC") -> str:
        """A DocumentId no earlier run used: the suite can run again on the same axis."""
        return f"CONF-{tag}-{secrets.token_hex(6).upper()}"

    def document(
        self, sender: str = "sender", to: tuple[str, ...] = ("recipient",), **kwargs: Any
    ) -> bytes:
        """An unsigned document package with a fresh DocumentId; ``to`` are roles or codes."""
        return self._document(self.code(sender), to, **kwargs)

    def _document(self, sender_code: str, to: tuple[str, ...], **kwargs: Any) -> bytes:
        kwargs.setdefault("document_id", self.fresh_id())
        kwargs.setdefault("subject", f"V/v kiểm thử liên thông {secrets.token_hex(3)}")
        kwargs.setdefault("code_notation", "CONF")
        package = new_document(
            sender=sender_code,
            recipients=[self._code_or_literal(item) for item in to],
            at=vietnam_now(),
            **kwargs,
        )
        return build_document(package)

    def signed_as(
        self, creds: AgencyCreds, to: tuple[str, ...] = ("recipient",), **kwargs: Any
    ) -> bytes:
        """A signed document from an agency that is no role of the run (a peer's agency)."""
        parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
        raw = self._document(creds.code, to, **kwargs)
        return sign_package(etree.fromstring(raw, parser), creds.key, creds.cert)

    def _code_or_literal(self, role_or_code: str) -> str:
        if role_or_code in self.target.agencies:
            return self.target.agencies[role_or_code].code
        return role_or_code

    def sign(self, raw: bytes, role: str = "sender") -> bytes:
        """Sign as ``role`` with the native profile; parses leniently, so attacks can be signed."""
        creds = self.creds(role)
        parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
        return sign_package(etree.fromstring(raw, parser), creds.key, creds.cert)

    def signed(
        self, sender: str = "sender", to: tuple[str, ...] = ("recipient",), **kwargs: Any
    ) -> bytes:
        return self.sign(self.document(sender, to, **kwargs), sender)

    def status(
        self,
        role: str,
        document_id: str,
        counterparty: str,
        code: str,
        *,
        signed: bool = True,
        signer: str | None = None,
    ) -> bytes:
        """A status package from ``role`` about ``document_id`` (counterparty: role or code)."""
        package = new_status(
            sender=self.code(role),
            about_document_id=document_id,
            counterparty=self._code_or_literal(counterparty),
            code=StatusCode(code),
            at=vietnam_now(),
            document_code="1/CONF",
            description=f"conformance {secrets.token_hex(4)}",
            staff="Văn thư",
            department="Văn phòng",
        )
        raw = build_status(package)
        return self.sign(raw, signer or role) if signed else raw

    # -- HTTP -----------------------------------------------------------------
    async def send(
        self,
        probe: Probe,
        sender: str = "sender",
        to: tuple[str, ...] = ("recipient",),
        **kwargs: Any,
    ) -> Sent:
        """Submit a valid signed document and require 202 (the setup step of many cases)."""
        kwargs.setdefault("document_id", self.fresh_id())
        raw = self.signed(sender, to, **kwargs)
        response = await self.client(sender).submit(raw)
        if response.status != 202:
            raise CaseFailed(
                f"setup: a valid document was not accepted ({response.status} {response.code})"
            )
        axis_id = response.headers.get("Edoc-Axis-Id") or _id_from_location(response)
        return Sent(axis_id, kwargs["document_id"], raw, response)

    async def raw(
        self,
        method: str,
        path: str,
        *,
        data: Any = None,
        headers: dict[str, str] | None = None,
    ) -> ApiResponse:
        """A request with exactly the given headers (no token unless given)."""
        assert self._session is not None, "use 'async with RunContext(...)'"
        try:
            async with self._session.request(
                method, self.target.url + path, data=data, headers=headers or {}
            ) as response:
                return ApiResponse(response.status, await response.read(), dict(response.headers))
        except (aiohttp.ClientConnectionError, TimeoutError) as exc:
            raise AxisUnreachable(f"{self.target.url}: {exc}") from exc

    # -- the suite as a peer axis ---------------------------------------------------
    def peer(self) -> PeerCreds:
        if self.target.peer is None:
            raise CaseSkipped(
                "needs the suite registered as a test peer axis (--setup: operator token)"
            )
        return self.target.peer

    async def relay(
        self,
        body: bytes,
        *,
        sender: str,
        recipient: str,
        path: Sequence[str] | None,
        token: str | None = None,
        signer: tuple[CertificateIssuerPrivateKeyTypes, x509.Certificate] | None = None,
    ) -> ApiResponse:
        """POST ``body`` to the relay resource as the suite's peer axis would.

        ``recipient`` is the one recipient the relay is for (a code); ``path``
        the axes crossed, origin first (None: no path header). ``token`` and
        ``signer`` (key, certificate) replace the peer's own, for impostors.
        """
        peer = self.peer()
        facts = DeliveryFacts(
            kind="document",
            axis_id="conformance-" + secrets.token_hex(8),
            sender=sender,
            recipient=recipient,
            attempt=1,
            timestamp=int(time.time()),
        )
        key, cert = signer if signer is not None else (peer.key, peer.cert)
        headers = delivery_headers(facts, body, key, cert)
        headers["Content-Type"] = XML
        headers["Authorization"] = f"Bearer {peer.token if token is None else token}"
        if path is not None:
            headers[H_RELAY_PATH] = ",".join(path)
        return await self.raw("POST", RELAY_PATH, data=body, headers=headers)

    def receipt(self, body: bytes) -> Receipt:
        """A receipt's content; its signature checked when the axis certificate is known."""
        try:
            if self.target.axis_certs:
                return verify_receipt(body, self.target.axis_certs)
            parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
            return read_receipt(etree.fromstring(body, parser))
        except (EdocError, etree.XMLSyntaxError, ValueError) as exc:
            raise CaseFailed(f"the answer is not a valid axis receipt: {exc}") from exc

    async def axis_name(self, probe: Probe) -> str:
        """The axis's own name, as its receipts give it (one document sent, once a run)."""
        if self._axis_name is None:
            sent = await self.send(probe)
            self._axis_name = self.receipt(sent.response.body).axis_name
        return self._axis_name

    async def find_in_inbox(self, role: str, axis_id: str) -> dict[str, Any] | None:
        """The inbox item with ``axis_id``, paging through the whole inbox."""
        cursor: str | None = None
        for _ in range(1000):
            page = await self.client(role).inbox(limit=100, cursor=cursor)
            if page.status != 200:
                raise CaseFailed(f"inbox listing failed: {page.status} {page.code}")
            data = page.json()
            for item in data.get("items", []):
                if item.get("id") == axis_id:
                    return dict(item)
            cursor = data.get("next_cursor")
            if not cursor:
                return None
        return None

    async def status_feed(self, role: str) -> list[dict[str, Any]]:
        """Every status message addressed to ``role``, oldest first."""
        items: list[dict[str, Any]] = []
        cursor: str | None = None
        for _ in range(1000):
            page = await self.client(role).statuses(limit=100, cursor=cursor)
            if page.status != 200:
                raise CaseFailed(f"status feed failed: {page.status} {page.code}")
            data = page.json()
            items += data.get("items", [])
            cursor = data.get("next_cursor")
            if not cursor:
                break
        return items


def _id_from_location(response: ApiResponse) -> str:
    location = response.headers.get("Location", "")
    if not location:
        raise CaseFailed("a 202 without Location or Edoc-Axis-Id header")
    return location.rstrip("/").rsplit("/", 1)[-1]
