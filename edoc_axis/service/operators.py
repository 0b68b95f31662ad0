"""Named operators: each with its own /admin token, named in the audit chain.

The token of ``[security] operator_token_file`` is the unnamed operator
``operator``; a named operator's token is drawn here, shown once, and only
its SHA-256 reaches the store (like agency tokens).
"""

from __future__ import annotations

import hmac
import re
import secrets
from datetime import datetime

from edoc_axis.errors import SchemaInvalid
from edoc_axis.service.registry import hash_token
from edoc_axis.store import Operator, Store

LEGACY_OPERATOR = "operator"
OPERATOR_TOKEN_PREFIX = "op_"  # noqa: S105  (the prefix `edoc-axis init` gives the file's token)

# A name that reads well in a log line and the audit chain: no spaces, no ':'
# (``operator:<subject>`` is a TLS client certificate's identity).
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@\-]{0,63}$")


def check_operator_name(name: str) -> None:
    if not _NAME.match(name):
        raise SchemaInvalid(
            f"operator name {name!r} must be 1-64 letters, digits, '.', '_', '@' or '-',"
            " starting with a letter or digit"
        )
    if name.lower() == LEGACY_OPERATOR:
        raise SchemaInvalid(
            f"{LEGACY_OPERATOR!r} is the unnamed operator of operator_token_file; choose a name"
        )


async def add_operator(store: Store, name: str, at: datetime) -> tuple[Operator, str]:
    """Register a named operator; returns it with its token (shown this once)."""
    check_operator_name(name)
    token = OPERATOR_TOKEN_PREFIX + secrets.token_urlsafe(32)
    operator = await store.create_operator(name, hash_token(token), at)
    return operator, token


async def identify_operator(store: Store, legacy_hash: str, token: str) -> str | None:
    """The operator a bearer token belongs to: ``operator`` for the file's token,
    a named operator's name, or None (an agency's token, a removed operator's, junk)."""
    presented = hash_token(token)
    if hmac.compare_digest(presented, legacy_hash):
        return LEGACY_OPERATOR
    found = await store.operator_for_token(presented)
    return None if found is None else found.name


def operator_json(operator: Operator) -> dict[str, str]:
    return {"name": operator.name, "created_at": operator.created_at.isoformat()}
