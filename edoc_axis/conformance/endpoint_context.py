"""The run context of endpoint mode: the suite plays the axis towards an agency's endpoint."""

from __future__ import annotations

import ssl
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType

import aiohttp
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes

from edoc_axis.client import ApiResponse, AxisUnreachable
from edoc_axis.conformance.context import http_session, vietnam_now
from edoc_axis.conformance.model import AgencyCreds
from edoc_axis.core.compose import new_document, new_status
from edoc_axis.core.delivery_auth import DeliveryFacts, delivery_headers
from edoc_axis.core.ids import conformance_id
from edoc_axis.edxml import StatusCode, build_document, build_status
from edoc_axis.signature import sign_package


@dataclass(frozen=True)
class EndpointTarget:
    """An agency's push endpoint and what the suite needs to act as the axis in front of it."""

    url: str
    axis_key: CertificateIssuerPrivateKeyTypes
    axis_cert: x509.Certificate
    signer: AgencyCreds  # the document's sender, with a certificate the endpoint trusts
    recipient_code: str
    read_timeout_s: float = 30.0
    tls: ssl.SSLContext | None = None  # how an https:// endpoint is verified (--cacert)


class EndpointContext:
    """Builds signed deliveries and posts them the way the axis would."""

    def __init__(self, target: EndpointTarget, *, timeout_s: float = 60.0) -> None:
        self.target = target
        self.timeout_s = timeout_s
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> EndpointContext:
        self._session = http_session(self.timeout_s, self.target.tls)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._session is not None:
            await self._session.close()

    def has(self, role: str) -> bool:
        return True

    @staticmethod
    def new_id() -> str:
        # A conformance id: the reference endpoint keeps these test deliveries
        # in a folder of their own, apart from the agency's real documents.
        return conformance_id(datetime.now(UTC))

    def document(self, subject: str = "V/v kiểm thử điểm nhận") -> bytes:
        """A signed document from the suite's signer to the endpoint's agency."""
        signer = self.target.signer
        package = new_document(
            sender=signer.code,
            recipients=[self.target.recipient_code],
            subject=subject,
            at=vietnam_now(),
            document_id=f"CONF-EP-{self.new_id()}",
            code_notation="CONF",
        )
        return sign_package(build_document(package), signer.key, signer.cert)

    def status(self, about: str) -> bytes:
        """A signed status 03 from the endpoint's agency's counterparty."""
        signer = self.target.signer
        package = new_status(
            sender=signer.code,
            about_document_id=about,
            counterparty=self.target.recipient_code,
            code=StatusCode.ACCEPTED,
            at=vietnam_now(),
            document_code="1/CONF",
        )
        return sign_package(build_status(package), signer.key, signer.cert)

    def facts(self, axis_id: str, *, kind: str = "document", attempt: int = 1) -> DeliveryFacts:
        return DeliveryFacts(
            kind=kind,
            axis_id=axis_id,
            sender=self.target.signer.code,
            recipient=self.target.recipient_code,
            attempt=attempt,
            timestamp=int(time.time()),
        )

    def signed_headers(
        self,
        facts: DeliveryFacts,
        body: bytes,
        key: CertificateIssuerPrivateKeyTypes | None = None,
        cert: x509.Certificate | None = None,
    ) -> dict[str, str]:
        """The axis's delivery headers (or an impostor's, given another key and cert)."""
        headers = delivery_headers(
            facts, body, key or self.target.axis_key, cert or self.target.axis_cert
        )
        headers["Content-Type"] = "application/xml"
        return headers

    async def post(self, body: bytes, headers: dict[str, str]) -> ApiResponse:
        """POST one delivery to the endpoint."""
        assert self._session is not None, "use 'async with EndpointContext(...)'"
        try:
            async with self._session.post(self.target.url, data=body, headers=headers) as answer:
                return ApiResponse(answer.status, await answer.read(), dict(answer.headers))
        except (aiohttp.ClientConnectionError, TimeoutError) as exc:
            raise AxisUnreachable(f"{self.target.url}: {exc}") from exc

    async def deliver(self, body: bytes, *, kind: str = "document") -> tuple[str, ApiResponse]:
        """A correctly signed first delivery; returns the axis id used and the answer."""
        axis_id = self.new_id()
        headers = self.signed_headers(self.facts(axis_id, kind=kind), body)
        return axis_id, await self.post(body, headers)
