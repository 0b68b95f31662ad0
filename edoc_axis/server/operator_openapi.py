"""The OpenAPI 3 description of /admin/v1, served at /admin/v1/openapi.json.

tests/integration/server/test_operator_openapi.py walks every documented path
and method against a running axis, validates the answers with these schemas,
and fails when the router has an /admin route this document does not name.
"""

from __future__ import annotations

from typing import Any

_STR = {"type": "string"}
_NSTR = {"type": ["string", "null"]}
_INT = {"type": "integer"}
_TIME = {"type": "string", "format": "date-time"}
_NTIME = {"type": ["string", "null"], "format": "date-time"}


def _obj(required: dict[str, Any], optional: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "type": "object",
        "required": sorted(required),
        "properties": {**required, **(optional or {})},
    }


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


_SCHEMAS: dict[str, Any] = {
    "Problem": _obj({"type": _STR, "title": _STR, "status": _INT, "code": _STR, "detail": _STR}),
    "Agency": _obj(
        {
            "code": _STR,
            "name": _STR,
            "alias_codes": {"type": "array", "items": _STR},
            "state": {"enum": ["active", "disabled"]},
            "delivery_mode": {"enum": ["push", "pull"]},
            "endpoint_url": _NSTR,
            "created_at": _TIME,
            "certificate_fingerprints": {"type": "array", "items": _STR},
            "test": {"type": "boolean"},
        },
        {"token": _STR},
    ),
    "AgencyList": _obj({"agencies": {"type": "array", "items": _ref("Agency")}}),
    "AgencySearch": _obj(
        {
            "items": {
                "type": "array",
                "items": _obj(
                    {
                        "code": _STR,
                        "name": _STR,
                        "alias_codes": {"type": "array", "items": _STR},
                        "state": _STR,
                        "delivery_mode": _STR,
                        "test": {"type": "boolean"},
                    }
                ),
            }
        }
    ),
    "Token": _obj({"code": _STR, "token": _STR}),
    "Removed": _obj({"code": _STR, "removed": {"type": "object"}}),
    "Certificate": _obj(
        {"fingerprint": _STR},
        {
            "subject": _STR,
            "issuer": _STR,
            "not_before": _TIME,
            "not_after": _TIME,
            "expires_in_days": {"type": "number"},
            "error": _STR,
        },
    ),
    "Certificates": _obj(
        {"agency": _STR, "certificates": {"type": "array", "items": _ref("Certificate")}}
    ),
    "Delivery": _obj(
        {
            "id": _INT,
            "document": _STR,
            "agency": _STR,
            "mode": {"enum": ["push", "pull"]},
            "state": {"enum": ["pending", "delivered", "acknowledged", "dead", "discarded"]},
            "attempts": _INT,
            "last_error": _NSTR,
            "queued_at": _TIME,
            "next_attempt_at": _NTIME,
            "delivered_at": _NTIME,
            "acked_at": _NTIME,
            "status_code": _NSTR,
            "status_at": _NTIME,
        },
        {"sender": _STR, "document_id": _STR, "subject": _STR, "received_at": _TIME},
    ),
    "DeadLetters": _obj(
        {"items": {"type": "array", "items": _ref("Delivery")}, "next_cursor": _NSTR}
    ),
    "BulkRequest": {
        "type": "object",
        "properties": {
            "ids": {"type": "array", "items": _INT, "maxItems": 1000},
            "filter": {
                "type": "object",
                "properties": {"agency": _STR, "since": _TIME},
                "additionalProperties": False,
            },
        },
    },
    "BulkResult": _obj(
        {
            "results": {
                "type": "array",
                "items": _obj(
                    {"id": _INT, "ok": {"type": "boolean"}},
                    {"delivery": _ref("Delivery"), "error": _obj({"code": _STR, "detail": _STR})},
                ),
            },
            "succeeded": _INT,
            "total": _INT,
        }
    ),
    "Counts": _obj(
        {
            "accepted": _INT,
            "delivered": _INT,
            "acknowledged": _INT,
            "retries": _INT,
            "dead_lettered": _INT,
            "refused": {"type": "object", "additionalProperties": _INT},
        }
    ),
    "Stats": _obj(
        {
            "since": _TIME,
            "until": _TIME,
            "generated_at": _TIME,
            "by_state": {"type": "object", "additionalProperties": _INT},
            "oldest_pending_age_s": {"type": ["number", "null"]},
            "hour_starts": {"type": "array", "items": _TIME},
            "agencies": {
                "type": "array",
                "items": _obj(
                    {
                        "agency": _STR,
                        "name": _NSTR,
                        "test": {"type": "boolean"},
                        "window": _ref("Counts"),
                        "deliveries": {"type": "object", "additionalProperties": _INT},
                        "oldest_pending_at": _NTIME,
                        "oldest_pending_age_s": {"type": ["number", "null"]},
                    }
                ),
            },
            "hours": {
                "type": "array",
                "items": {
                    "allOf": [_ref("Counts"), _obj({"hour": _TIME, "agency": _STR})],
                },
            },
        }
    ),
    "AuditHead": _obj({"seq": _INT, "hash": _STR}),
    "AuditReport": _obj(
        {
            "ok": {"type": "boolean"},
            "entries": _INT,
            "first_broken_seq": {"type": ["integer", "null"]},
            "reason": _NSTR,
            "scope": {"enum": ["chain", "range"]},
        },
        {"from": _INT, "to": {"type": ["integer", "null"]}},
    ),
    "System": _obj(
        {
            "system_id": _STR,
            "state": _STR,
            "agencies": {"type": "array", "items": _STR},
            "created_at": _TIME,
            "secret_set_at": _TIME,
        },
        {"secret": _STR},
    ),
    "Systems": _obj({"items": {"type": "array", "items": _ref("System")}}),
    "NewAgency": _obj(
        {"code": _STR, "name": _STR},
        {
            "aliases": {"type": "array", "items": _STR},
            "delivery_mode": {"enum": ["push", "pull"], "default": "pull"},
            "endpoint_url": _NSTR,
            "certificates": {"type": "array", "items": _STR, "description": "PEM"},
            "test": {"type": "boolean"},
        },
    ),
    "Operator": _obj({"name": _STR, "created_at": _TIME}, {"token": _STR}),
    "Operators": _obj({"items": {"type": "array", "items": _ref("Operator")}}),
    "OperatorRemoved": _obj({"name": _STR, "removed": {"const": True}}),
    "NewOperator": _obj({"name": _STR}),
    "NewCertificate": _obj({"certificate": {"type": "string", "description": "PEM"}}),
    "NewSystem": _obj(
        {"system_id": _STR, "agencies": {"type": "array", "items": _STR, "minItems": 1}}
    ),
    "Peer": _obj(
        {
            "name": _STR,
            "url": _STR,
            "state": {"enum": ["active", "disabled"]},
            "serves": {"type": "array", "items": _STR},
            "axis_cert_sha256": _STR,
            "token_to_peer_set": {"type": "boolean"},
            "directory_version": {"type": ["integer", "null"]},
            "test": {"type": "boolean"},
            "created_at": _TIME,
        },
        {"token": _STR},
    ),
    "Peers": _obj({"items": {"type": "array", "items": _ref("Peer")}}),
    "NewPeer": _obj(
        {
            "name": _STR,
            "url": _STR,
            "axis_cert_pem": _STR,
            "serves": {"type": "array", "items": _STR, "minItems": 1},
        },
        {"token": _STR, "test": {"type": "boolean"}},
    ),
    "PeerChange": _obj(
        {},
        {
            "url": _STR,
            "axis_cert_pem": _STR,
            "serves": {"type": "array", "items": _STR},
            "token": _STR,
        },
    ),
    "PeerToken": _obj({"name": _STR, "token": _STR}),
    "PeerSync": _obj(
        {
            "name": _STR,
            "version": _INT,
            "unchanged": {"type": "boolean"},
            "added": {"type": "array", "items": _STR},
            "updated": {"type": "array", "items": _STR},
            "disabled": {"type": "array", "items": _STR},
            "skipped": {"type": "array", "items": _STR},
        }
    ),
}


def _param(name: str, where: str = "query", schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "name": name,
        "in": where,
        "required": where == "path",
        "schema": schema or _STR,
    }


_CODE = _param("code", "path")
_ID = _param("id", "path", _INT)
_SYSTEM = _param("system_id", "path")
_PEER = _param("name", "path")


def _op(
    summary: str,
    answer: str | None,
    *,
    status: str = "200",
    params: list[dict[str, Any]] | None = None,
    body: str | None = None,
    media: str = "application/json",
) -> dict[str, Any]:
    content = {} if answer is None else {media: {"schema": _ref(answer) if answer else {}}}
    op: dict[str, Any] = {
        "summary": summary,
        "parameters": params or [],
        "responses": {
            status: {"description": summary, "content": content},
            "401": {
                "description": "no operator token",
                "content": {"application/problem+json": {"schema": _ref("Problem")}},
            },
        },
    }
    if body is not None:
        op["requestBody"] = {"content": {"application/json": {"schema": _ref(body)}}}
    return op


_PATHS: dict[str, Any] = {
    "/admin/v1/agencies": {
        "get": _op("List agencies", "AgencyList"),
        "post": _op(
            "Register an agency (answers its first token)",
            "Agency",
            status="201",
            body="NewAgency",
        ),
    },
    "/admin/v1/agencies/{code}": {
        "get": _op("Show an agency", "Agency", params=[_CODE]),
        "delete": _op("Remove a test agency", "Removed", params=[_CODE]),
    },
    "/admin/v1/agencies/{code}/disable": {"post": _op("Disable", "Agency", params=[_CODE])},
    "/admin/v1/agencies/{code}/enable": {"post": _op("Enable", "Agency", params=[_CODE])},
    "/admin/v1/agencies/{code}/rotate-token": {
        "post": _op("Replace every token by a new one", "Token", params=[_CODE])
    },
    "/admin/v1/agencies/{code}/certificates": {
        "get": _op("Certificates with expiry", "Certificates", params=[_CODE]),
        "post": _op("Add a certificate", "Agency", params=[_CODE], body="NewCertificate"),
    },
    "/admin/v1/agencies/{code}/certificates/{fingerprint}": {
        "delete": _op(
            "Remove a certificate", "Agency", params=[_CODE, _param("fingerprint", "path")]
        )
    },
    "/admin/v1/search/agencies": {
        "get": _op(
            "Agencies whose code, alias or name contains q",
            "AgencySearch",
            params=[{**_param("q"), "required": True}],
        )
    },
    "/admin/v1/dead-letters": {
        "get": _op(
            "Dead letters, oldest first",
            "DeadLetters",
            params=[
                _param("agency"),
                _param("since", schema=_TIME),
                _param("limit", schema={"type": "integer", "minimum": 1, "maximum": 500}),
                _param("cursor"),
            ],
        )
    },
    "/admin/v1/dead-letters/retry": {
        "post": _op("Retry dead letters by ids or filter", "BulkResult", body="BulkRequest")
    },
    "/admin/v1/dead-letters/discard": {
        "post": _op("Discard dead letters by ids or filter", "BulkResult", body="BulkRequest")
    },
    "/admin/v1/dead-letters/{id}": {"get": _op("Show a delivery", "Delivery", params=[_ID])},
    "/admin/v1/dead-letters/{id}/retry": {
        "post": _op("Queue a dead letter again", "Delivery", params=[_ID])
    },
    "/admin/v1/dead-letters/{id}/discard": {
        "post": _op("Give up on a dead letter", "Delivery", params=[_ID])
    },
    "/admin/v1/stats": {
        "get": _op(
            "Traffic per agency and hour, delivery states, oldest pending",
            "Stats",
            params=[_param("since", schema=_TIME), _param("until", schema=_TIME), _param("agency")],
        )
    },
    "/admin/v1/audit/head": {"get": _op("The chain's last seq and hash", "AuditHead")},
    "/admin/v1/audit/verify": {
        "get": _op(
            "Verify the whole chain against its head, or a range",
            "AuditReport",
            params=[_param("from", schema=_INT), _param("to", schema=_INT)],
        )
    },
    "/admin/v1/audit/export": {
        "get": _op(
            "Entries as JSON lines (verify offline with edoc-axis audit verify --file)",
            "",
            params=[_param("from", schema=_INT), _param("to", schema=_INT)],
            media="application/x-ndjson",
        )
    },
    "/admin/v1/systems": {
        "get": _op("VDXP systems", "Systems"),
        "post": _op(
            "Register a VDXP system (answers its secret)",
            "System",
            status="201",
            body="NewSystem",
        ),
    },
    "/admin/v1/systems/{system_id}/rotate": {"post": _op("New secret", "System", params=[_SYSTEM])},
    "/admin/v1/systems/{system_id}/disable": {
        "post": _op("Disable a system", "System", params=[_SYSTEM])
    },
    "/admin/v1/systems/{system_id}/enable": {
        "post": _op("Enable a system", "System", params=[_SYSTEM])
    },
    "/admin/v1/peers": {
        "get": _op("Peer axes (never their tokens)", "Peers"),
        "post": _op(
            "Register a peer axis (answers the token it presents here, once)",
            "Peer",
            status="201",
            body="NewPeer",
        ),
    },
    "/admin/v1/peers/{name}": {
        "post": _op(
            "Change a peer's URL, certificate, patterns or the token presented to it",
            "Peer",
            params=[_PEER],
            body="PeerChange",
        )
    },
    "/admin/v1/peers/{name}/token": {
        "post": _op("A new token for the peer to present here", "PeerToken", params=[_PEER])
    },
    "/admin/v1/peers/{name}/disable": {
        "post": _op("Disable a peer and the agencies it serves", "Peer", params=[_PEER])
    },
    "/admin/v1/peers/{name}/enable": {"post": _op("Enable a peer", "Peer", params=[_PEER])},
    "/admin/v1/peers/{name}/sync": {
        "post": _op("Fetch the peer's directory now", "PeerSync", params=[_PEER])
    },
    "/admin/v1/operators": {
        "get": _op("Named operators (never their tokens)", "Operators"),
        "post": _op(
            "Register a named operator (answers its token)",
            "Operator",
            status="201",
            body="NewOperator",
        ),
    },
    "/admin/v1/operators/{name}": {
        "delete": _op(
            "Remove a named operator (its token stops working)",
            "OperatorRemoved",
            params=[_param("name", "path")],
        )
    },
    "/admin/v1/openapi.json": {"get": _op("This document", "")},
}


def openapi_document() -> dict[str, Any]:
    return {
        "openapi": "3.1.0",
        "info": {"title": "edoc-axis operator API", "version": "1"},
        "security": [{"operatorToken": []}],
        "components": {
            "securitySchemes": {"operatorToken": {"type": "http", "scheme": "bearer"}},
            "schemas": _SCHEMAS,
        },
        "paths": _PATHS,
    }
