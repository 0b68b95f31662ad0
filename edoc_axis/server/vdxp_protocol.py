"""The VDXP protocol layer: authenticating a call and answering in its JSON shape.

Every call goes to ``<prefix>/<method>`` with its parameters as HMAC-signed
``XroadVnpt-*`` headers (``core.vdxp_auth``) and is answered with a JSON
object: ``status`` OK/FAIL, ``ErrorCode`` ("0" or the axis's stable error
code), ``ErrorDesc``, and the method's payload. A refusal is answered 200 with
status FAIL, because the client reads the JSON of a 200 answer only.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import structlog
from aiohttp import web

from edoc_axis.core.vdxp_auth import SignedRequest, signed_pairs, verify_request
from edoc_axis.errors import EdocError, RequestInvalid, VdxpAuthFailed
from edoc_axis.server.context import SERVICES, AxisServices
from edoc_axis.store import Agency, VdxpReport, VdxpSystem
from edoc_axis.system_secrets import SecretBox, SecretKeyMissing, read_key_file

log = structlog.get_logger("edoc_axis.vdxp")

SERVICE_TYPE = "eDoc"
MESSAGE_TYPES = ("edoc", "status")
REPORTS: dict[str, VdxpReport] = {"processing": "processing", "done": "done", "fail": "fail"}


@dataclass
class Secrets:
    """The secret key, read when first needed (systems may be added while the axis runs)."""

    services: AxisServices
    box: SecretBox | None = field(default=None)

    def current(self) -> SecretBox | None:
        if self.box is None:
            try:
                self.box = SecretBox(read_key_file(self.services.config.vdxp_key_file()))
            except SecretKeyMissing:
                return None
        return self.box


@dataclass(frozen=True)
class Caller:
    """An authenticated VDXP call: the system, its active agencies and the signed values."""

    system: VdxpSystem
    agencies: tuple[Agency, ...]
    signed: SignedRequest

    def param(self, name: str, *, required: bool = True) -> str | None:
        value = self.signed.get(name)
        if required and not value:
            raise RequestInvalid(f"the signed XroadVnpt-{name} header is required")
        return value

    @property
    def codes(self) -> tuple[str, ...]:
        return tuple(a.code for a in self.agencies)


def answer_fields(desc: str = "Success") -> dict[str, Any]:
    """What every OK answer starts with."""
    return {"status": "OK", "ErrorCode": "0", "ErrorDesc": desc}


def answer(payload: dict[str, Any] | None = None, desc: str = "Success") -> web.Response:
    return web.json_response({**answer_fields(desc), **(payload or {})})


def refusal(error: EdocError, empty: dict[str, Any] | None = None) -> web.Response:
    """A FAIL answer; ``empty`` is the method's payload with no value.

    The client needs every field it knows to read an answer at all.
    """
    body = {"status": "FAIL", "ErrorCode": error.code, "ErrorDesc": error.detail, **(empty or {})}
    return web.json_response(body, headers={"Edoc-Error-Code": error.code})


async def authenticate(request: web.Request, services: AxisServices) -> Caller:
    store, settings = services.store, services.config.vdxp
    box = request.app[SECRETS].current()
    headers = request.headers
    # Look the system up before verifying: the HMAC needs its secret.
    _, pairs = signed_pairs(headers)
    system = await store.get_system(pairs["XroadVnpt-systemid"])

    def secret_of(system_id: str) -> str | None:
        if system is None or box is None or system.state != "active":
            return None
        return box.open(system_id, system.sealed_secret)

    signed = verify_request(
        headers, secret_of, now=services.clock.now(), freshness_s=settings.freshness_s
    )
    assert system is not None  # verify_request refuses an unknown system
    agencies = []
    for code in system.agencies:
        agency = await store.get_agency(code)
        if agency is not None and agency.state == "active":
            agencies.append(agency)
    if not agencies:
        raise VdxpAuthFailed(f"system {system.system_id} speaks for no active agency")
    structlog.contextvars.bind_contextvars(vdxp_system=system.system_id)
    return Caller(system, tuple(agencies), signed)


Method = Callable[[web.Request, AxisServices, Caller], Awaitable[web.StreamResponse]]
SECRETS = web.AppKey("vdxp_secrets", Secrets)


def endpoint(
    method: Method, empty: dict[str, Any]
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handle(request: web.Request) -> web.StreamResponse:
        services = request.app[SERVICES]
        try:
            caller = await authenticate(request, services)
            return await method(request, services, caller)
        except EdocError as error:
            log.info("vdxp.refused", code=error.code, detail=error.detail, path=request.path)
            return refusal(error, empty)

    return handle


def check_service_type(caller: Caller) -> None:
    service_type = caller.param("servicetype", required=False) or SERVICE_TYPE
    if service_type.lower() != SERVICE_TYPE.lower():
        raise RequestInvalid(f"servicetype {service_type!r} is not served; only eDoc")


def message_type(caller: Caller) -> str:
    kind = (caller.param("messagetype", required=False) or "edoc").lower()
    if kind not in MESSAGE_TYPES:
        raise RequestInvalid(f"messagetype {kind!r} must be edoc or status")
    return kind


def iso(value: datetime | None) -> str:
    return "" if value is None else value.isoformat()


def doc_id_param(caller: Caller) -> str:
    doc_id = caller.param("docId")
    assert doc_id is not None
    # The SDK's example sends the id from unquoted JSON; a quoted one is the same id.
    return doc_id.strip().strip('"')
