"""The VDXP transport: the reference client's methods over the axis's own store.

Documents and statuses go through the same intake as the native API
(``intake_document`` / ``intake_status``), and the inbox, status feed and
trace are the native ones: one store, two dialects. The protocol (HMAC
authentication, the JSON answer) is in ``vdxp_protocol``; the receiving
side in ``vdxp_receive``; the sending side and the registry in ``vdxp_sent``.
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from aiohttp import web

from edoc_axis.errors import AuthSenderMismatch, VdxpHashFile, VdxpMethodUnknown
from edoc_axis.server.admission import BodyReader
from edoc_axis.server.bodies import (
    MULTIPART,
    BodyLease,
    BodyPace,
    read_cut_body,
    read_package_body,
)
from edoc_axis.server.context import SERVICES, AxisServices
from edoc_axis.server.intake import intake_document
from edoc_axis.server.statuses import intake_status
from edoc_axis.server.vdxp_protocol import (
    SECRETS,
    Caller,
    Method,
    Secrets,
    answer,
    check_service_type,
    endpoint,
    message_type,
    refusal,
)
from edoc_axis.server.vdxp_receive import (
    count_edoc,
    count_status,
    download_edoc,
    get_edoc,
    received_list,
    update_status,
)
from edoc_axis.server.vdxp_sent import agencies, agencies_qd20, sent_list

# -- sendEdoc --------------------------------------------------------------------


def _hex_forms(raw: bytes | memoryview) -> set[str]:
    digest = hashlib.sha256(raw).digest()
    # The client writes each byte with Integer.toHexString, without zero padding.
    return {digest.hex(), "".join(format(b, "x") for b in digest)}


def _file_length(body: memoryview, wanted: str) -> int:
    """The length of the file: the body, or the body without a final CRLF (by its SHA-256)."""
    lengths = [len(body), len(body) - 2] if body[-2:].tobytes() == b"\r\n" else [len(body)]
    for length in lengths:
        if wanted in _hex_forms(body[:length]):
            return length
    raise VdxpHashFile(f"hash-file {wanted} is not the SHA-256 of the {len(body)}-byte file sent")


def file_reader(hash_file: str) -> BodyReader:
    """The file of a sendEdoc request, as identified by its ``hash-file``.

    The client sends the file as the whole body (and its signed Content-Type
    says application/octet-stream) followed by CRLF; a multipart form with a
    ``file_doc`` part is read as the native API reads it. Of the body and the
    body without a final CRLF, the one whose SHA-256 is ``hash-file`` is the file.
    """
    wanted = hash_file.strip().lower()

    def length_of(body: memoryview) -> int:
        return _file_length(body, wanted)

    async def read(request: web.Request, limit: int, lease: BodyLease, pace: BodyPace) -> bytes:
        if request.content_type == MULTIPART:
            body = await read_package_body(request, limit, lease, pace)
            return body[: length_of(memoryview(body))]
        return await read_cut_body(request, limit + 2, lease, pace, length_of)

    return read


async def send_edoc(request: web.Request, services: AxisServices, caller: Caller) -> web.Response:
    check_service_type(caller)
    kind = message_type(caller)
    sender_code = caller.param("from")
    assert sender_code is not None
    sender = await services.store.get_agency(sender_code)
    if sender is None or sender.code not in caller.codes:
        raise AuthSenderMismatch(
            f"system {caller.system.system_id} may not send from {sender_code}; "
            f"it speaks for {', '.join(caller.codes)}"
        )
    hash_file = caller.param("hash-file")
    assert hash_file is not None
    reader = file_reader(hash_file)
    if kind == "edoc":
        result = await intake_document(request, services, sender, reader)
        # The client reads DocId only; the axis's signed receipt rides along for
        # systems that keep it (also at GET /api/v1/documents/{id}/receipt).
        receipt = base64.b64encode(result.document.receipt).decode("ascii")
        return answer({"DocId": result.document.axis_id, "Receipt": receipt})
    stored, _ = await intake_status(request, services, sender, reader)
    return answer({"DocId": stored.status_id})


# -- wiring ----------------------------------------------------------------------

_LIST: dict[str, Any] = {"data": []}
# name: (HTTP verbs, handler, the payload of a FAIL answer)
METHODS: dict[str, tuple[tuple[str, ...], Method, dict[str, Any]]] = {
    "sendEdoc": (("POST",), send_edoc, {"DocId": ""}),
    "getReceivedEdocList": (("POST",), received_list, _LIST),
    "getEdoc": (("POST",), get_edoc, {"data": "", "filePath": ""}),
    "downloadEdoc": (("GET", "POST"), download_edoc, {"data": "", "filePath": ""}),
    "updateStatus": (("POST",), update_status, {}),
    "getSentEdocList": (("POST",), sent_list, _LIST),
    "countReceiveEdoc": (("POST", "GET"), count_edoc, {"count": 0}),
    "countReceiveStatus": (("POST", "GET"), count_status, {"count": 0}),
    "getAgenciesList": (("POST",), agencies, _LIST),
    "getAgenciesListQD20": (("POST",), agencies_qd20, _LIST),
}


async def _unknown_method(request: web.Request) -> web.Response:
    method = request.match_info.get("method", "")
    return refusal(
        VdxpMethodUnknown(
            f"{request.method} {method!r} is not a VDXP method; "
            f"the methods are {', '.join(METHODS)}"
        )
    )


def add_routes(app: web.Application) -> None:
    """Serve VDXP under ``[vdxp] path_prefix`` when ``[vdxp] enabled``."""
    services = app[SERVICES]
    settings = services.config.vdxp
    if not settings.enabled:
        return
    app[SECRETS] = Secrets(services)
    prefix = settings.path_prefix
    for name, (verbs, method, empty) in METHODS.items():
        for verb in verbs:
            app.router.add_route(verb, f"{prefix}/{name}", endpoint(method, empty))
    app.router.add_route("*", prefix + "/{method}", _unknown_method)
