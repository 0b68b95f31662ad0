"""Bearer tokens for agencies and for the operator."""

from __future__ import annotations

import hashlib
import hmac

from aiohttp import web

from edoc_axis.errors import AuthRequired
from edoc_axis.registry import hash_token
from edoc_axis.server.context import SERVICES
from edoc_axis.store import Agency


def bearer_token(request: web.Request) -> str:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise AuthRequired("an Authorization: Bearer <token> header is required")
    return token.strip()


async def calling_agency(request: web.Request) -> Agency:
    """The active agency whose token the request carries.

    Unknown, revoked and disabled all answer the same 401 so that a probe
    learns nothing about which agencies exist.
    """
    services = request.app[SERVICES]
    agency = await services.store.agency_for_token(hash_token(bearer_token(request)))
    if agency is None or agency.state != "active":
        raise AuthRequired("unknown, revoked or disabled token")
    return agency


def require_operator(request: web.Request) -> None:
    services = request.app[SERVICES]
    presented = hashlib.sha256(bearer_token(request).encode()).hexdigest()
    if not hmac.compare_digest(presented, services.operator_token_hash):
        raise AuthRequired("operator token required")
