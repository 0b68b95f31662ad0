"""Bearer tokens for agencies and for operators (the unnamed one and named ones)."""

from __future__ import annotations

import hmac
from typing import Any

from aiohttp import web

from edoc_axis.errors import AuthRequired
from edoc_axis.server.context import SERVICES
from edoc_axis.service.operators import LEGACY_OPERATOR, identify_operator
from edoc_axis.service.registry import hash_token
from edoc_axis.store import Agency
from edoc_axis.tls import peer_certificate_fingerprint


def bearer_token(request: web.Request) -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthRequired("an Authorization: Bearer <token> header is required")
    return token.strip()


async def calling_agency(request: web.Request) -> Agency:
    """The active agency the request authenticates as: token, client certificate, or both.

    With ``[server] tls_client_ca`` set, a client certificate registered to an
    agency (by fingerprint, like its signing certificates) authenticates it
    without a token; with a token as well, both must name the same agency
    (API.md). Unknown, revoked and disabled all answer the same 401 so that a
    probe learns nothing about which agencies exist.
    """
    services = request.app[SERVICES]
    fingerprint = peer_certificate_fingerprint(request.transport)
    if fingerprint is not None and services.config.tls_client_ca is not None:
        by_certificate = await services.store.agency_for_certificate(fingerprint)
        if not request.headers.get("Authorization"):
            # a remote agency (served by a peer axis) speaks only through its own axis
            if by_certificate is None or by_certificate.state != "active" or by_certificate.peer:
                raise AuthRequired("the client certificate is not registered to an active agency")
            return by_certificate
        agency = await _by_token(request)
        if by_certificate is None or by_certificate.code != agency.code:
            raise AuthRequired("the client certificate is not registered to the token's agency")
        return agency
    return await _by_token(request)


async def _by_token(request: web.Request) -> Agency:
    services = request.app[SERVICES]
    agency = await services.store.agency_for_token(hash_token(bearer_token(request)))
    if agency is None or agency.state != "active":
        raise AuthRequired("unknown, revoked or disabled token")
    return agency


OPERATOR = web.RequestKey("operator_name", str)


@web.middleware
async def operator_auth_middleware(request: web.Request, handler: Any) -> web.StreamResponse:
    """Look up who the bearer of an /admin request is, once, before its handler.

    The unnamed operator (operator_token_file) or a named operator of the
    store; ``require_operator`` then only reads the answer. Nothing is decided
    here: a request that is not an operator's goes on and its handler refuses it.
    """
    if request.path.startswith("/admin/"):
        try:
            token = bearer_token(request)
        except AuthRequired:
            token = None
        if token is not None:
            services = request.app[SERVICES]
            name = await identify_operator(services.store, services.operator_token_hash, token)
            if name is not None:
                request[OPERATOR] = name
    response: web.StreamResponse = await handler(request)
    return response


def require_operator(request: web.Request) -> str:
    """The operator's name (``operator`` for operator_token_file's token), or 401.

    Outside /admin, where the middleware does not look, only the file's token counts.
    """
    name: str | None = request.get(OPERATOR)
    if name is not None:
        return name
    services = request.app[SERVICES]
    presented = hash_token(bearer_token(request))
    if not hmac.compare_digest(presented, services.operator_token_hash):
        raise AuthRequired("operator token required")
    return LEGACY_OPERATOR


async def operator_named_by(request: web.Request, token: str) -> str | None:
    """The operator ``token`` belongs to (for the console's login form), or None."""
    token = token.strip()
    if not token:
        return None
    services = request.app[SERVICES]
    return await identify_operator(services.store, services.operator_token_hash, token)
