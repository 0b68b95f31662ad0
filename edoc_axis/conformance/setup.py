"""``--setup``: register the suite's own agencies on an axis home we operate.

They are registered as test agencies: their deliveries never count in the
axis's alarm figures, and ``remove_test_agencies`` takes them away with what
they sent and received when the run ends (``--cleanup`` after an interrupted
run).

Uses the operator API (``/admin/v1``) with the home's operator token, and
the home's development CA to issue certificates: good ones for the sender and
two recipients, plus the special ones the certificate cases need (expired,
not yet valid, from a rogue CA, without signing key usage, revoked on the
home's CRL). Codes carry a random run tag, so setup can be repeated on one axis.

The operator API refuses the two that can never sign (rogue CA, no signing
key usage) with ``certificate.untrusted``; they are written into the home's
store directly, so that intake's own refusal of them can still be tested.

For the FED-* cases the suite also plays a peer axis: it makes its own axis
key and certificate, registers itself with ``POST /admin/v1/peers`` as
``conformance-<tag>`` serving ``<tag>.R.*`` (codes no real agency has), as a
*test* peer (``"test": true``: every agency it makes appear here is a test
agency, removable with what it exchanged). Its two agencies are written into
the store with their certificates, as a directory sync would bring them. The
peer is disabled when the run ends (``POST /admin/v1/peers/{name}/disable``;
peers are never deleted).
"""

from __future__ import annotations

import os
import secrets
import ssl
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
from cryptography.hazmat.primitives import serialization

from edoc_axis.config import AxisConfig
from edoc_axis.conformance.context import AxisTarget, http_session
from edoc_axis.conformance.model import AgencyCreds, PeerCreds
from edoc_axis.pki import (
    Issued,
    KeyType,
    cert_to_pem,
    create_ca,
    crl_to_pem,
    issue_axis_certificate,
    issue_certificate,
    load_certs,
    load_crl,
    load_key,
    make_crl,
)
from edoc_axis.signature import certificate_fingerprint
from edoc_axis.store import AgencyExists, NewAgency, Store
from edoc_axis.store.factory import open_store

# The suite's peer axes are named so; ``--cleanup`` disables the active ones it finds.
TEST_PEER_PREFIX = "conformance-"
# Where the axis would relay to the suite's peer: ``.invalid`` never resolves
# (RFC 6761), and the suite serves no relay API; nothing is ever routed there.
TEST_PEER_URL = "https://conformance-peer.invalid"


class SetupFailed(Exception):
    """The axis home cannot be used to set the suite up (no CA key, operator API refused)."""


@dataclass(frozen=True)
class _Agency:
    code: str
    role: str
    certs: dict[str, Issued]  # role -> certificate; the first is the agency's own role


def home_ca(config: AxisConfig) -> Issued:
    """The home's development CA: its key (``[security] ca_key``) and the matching anchor."""
    if config.ca_key is None or not config.ca_key.is_file():
        raise SetupFailed("the axis home has no development CA key ([security] ca_key)")
    key = load_key(config.ca_key)
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    der = serialization.Encoding.DER
    wanted = key.public_key().public_bytes(der, spki)
    for path in config.trust_anchors:
        for cert in load_certs(path):
            if cert.public_key().public_bytes(der, spki) == wanted:
                return Issued(key, cert)
    raise SetupFailed("no trust anchor matches the development CA key")


def _cert(
    issuer: Issued,
    code: str,
    *,
    valid_from: datetime | None = None,
    valid_days: int = 825,
    key_type: KeyType = "rsa",
    signing: bool = True,
) -> Issued:
    return issue_certificate(
        issuer,
        f"Conformance {code}",
        agency_code=code,
        valid_from=valid_from,
        valid_days=valid_days,
        key_type=key_type,
        key_usage_digital_signature=signing,
    )


def _plan(ca: Issued, tag: str) -> list[_Agency]:
    now = datetime.now(UTC)
    rogue = create_ca("Conformance rogue CA")
    s, r, c, e, u, v, t, d = (f"{tag}.{n}" for n in range(1, 9))
    return [
        _Agency(s, "sender", {"sender": _cert(ca, s), "sender-ec": _cert(ca, s, key_type="ec")}),
        _Agency(r, "recipient", {"recipient": _cert(ca, r)}),
        _Agency(c, "second", {"second": _cert(ca, c)}),
        _Agency(
            e,
            "expired",
            {
                "expired": _cert(ca, e, valid_from=now - timedelta(days=30), valid_days=10),
                "future": _cert(ca, e, valid_from=now + timedelta(days=1)),
            },
        ),
        _Agency(
            u,
            "untrusted",
            {
                "untrusted": _cert(rogue, u),
                "keyusage": _cert(ca, u, signing=False),
            },
        ),
        _Agency(v, "revoked", {"revoked": _cert(ca, v)}),
        _Agency(t, "throttled", {"throttled": _cert(ca, t)}),
        _Agency(d, "disabled", {"disabled": _cert(ca, d)}),
    ]


@dataclass(frozen=True)
class _PeerPlan:
    name: str
    axis: Issued
    serves: tuple[str, ...]
    remote: tuple[AgencyCreds, AgencyCreds]  # served by the peer: test remote agencies
    outside: AgencyCreds  # not served by the peer, registered nowhere


def _peer_plan(ca: Issued, tag: str) -> _PeerPlan:
    name = TEST_PEER_PREFIX + tag.lower()

    def party(code: str) -> AgencyCreds:
        issued = _cert(ca, code)
        return AgencyCreds(code, "", issued.key, issued.cert)

    return _PeerPlan(
        name=name,
        axis=issue_axis_certificate(ca, name),
        serves=(f"{tag}.R.*",),
        remote=(party(f"{tag}.R.1"), party(f"{tag}.R.2")),
        outside=party(f"{tag}.X.1"),
    )


# Roles whose certificates the operator API refuses (they never chain or never sign).
_STORE_ONLY = ("untrusted", "keyusage")


async def _register(session: aiohttp.ClientSession, url: str, token: str, agency: _Agency) -> str:
    code = agency.code
    body = {
        "code": code,
        "name": f"Conformance suite: {agency.role}",
        "delivery_mode": "pull",
        "certificates": [
            cert_to_pem(issued.cert).decode()
            for role, issued in agency.certs.items()
            if role not in _STORE_ONLY
        ],
        "test": True,
    }
    headers = {"Authorization": f"Bearer {token}"}
    async with session.post(f"{url}/admin/v1/agencies", json=body, headers=headers) as response:
        data = await response.json(content_type=None)
        if response.status != 201:
            raise SetupFailed(f"registering {code} failed: {response.status} {data}")
    if agency.role == "disabled":
        async with session.post(
            f"{url}/admin/v1/agencies/{code}/disable", headers=headers
        ) as response:
            if response.status != 200:
                raise SetupFailed(f"disabling {code} failed: {response.status}")
    return str(data["token"])


async def _register_peer(
    session: aiohttp.ClientSession, url: str, token: str, plan: _PeerPlan
) -> str | None:
    """Register the suite as a peer axis; its token, or None when the axis has no peers API."""
    body = {
        "name": plan.name,
        "url": TEST_PEER_URL,
        "axis_cert_pem": cert_to_pem(plan.axis.cert).decode(),
        "serves": list(plan.serves),
        "test": True,  # any agency it makes appear here is a test agency
    }
    headers = {"Authorization": f"Bearer {token}"}
    async with session.post(f"{url}/admin/v1/peers", json=body, headers=headers) as response:
        data = await response.json(content_type=None)
        if response.status in (404, 405):
            return None
        if response.status != 201:
            raise SetupFailed(f"registering the test peer {plan.name} failed: {response.status}")
    return str(data["token"])


async def _add_to_store(config: AxisConfig, plan: list[_Agency], peer: _PeerPlan | None) -> None:
    """What the operator API refuses or cannot say, straight into the home's store.

    The certificates that never chain or never sign, and the peer's agencies
    as test remote agencies (with their certificates, as a directory sync would).
    """
    store = await open_store(config)
    try:
        for agency in plan:
            for role, issued in agency.certs.items():
                if role in _STORE_ONLY:
                    fingerprint = certificate_fingerprint(issued.cert)
                    await store.add_certificate(agency.code, fingerprint, cert_to_pem(issued.cert))
        if peer is not None:
            await _add_remote_agencies(store, peer)
    finally:
        await store.close()


async def _add_remote_agencies(store: Store, peer: _PeerPlan) -> None:
    for party in peer.remote:
        remote = NewAgency(
            code=party.code,
            name=f"Conformance suite: served by {peer.name}",
            delivery_mode="push",
            endpoint_url=TEST_PEER_URL,
            test=True,
            peer=peer.name,
        )
        certs = [(certificate_fingerprint(party.cert), cert_to_pem(party.cert))]
        try:
            await store.create_agency(remote, "", certs, datetime.now(UTC))
        except AgencyExists as exc:
            raise SetupFailed(f"the test remote agency {party.code} exists already") from exc


def revoke(config: AxisConfig, ca: Issued, serial: int) -> Path:
    """Add ``serial`` to the home's (first) CRL file, re-signed, written atomically."""
    if not config.crl_files:
        raise SetupFailed("the axis home configures no CRL file ([security] crl_files)")
    path = config.crl_files[0]
    serials = [entry.serial_number for entry in load_crl(path)] if path.is_file() else []
    data = crl_to_pem(make_crl(ca, [*serials, serial]))
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.replace(temporary, path)
    return path


async def set_up(url: str, config: AxisConfig, tls: ssl.SSLContext | None = None) -> AxisTarget:
    """Register the suite's agencies on the axis at ``url`` run from ``config``'s home."""
    url = url.rstrip("/")
    ca = home_ca(config)
    tag = "CF" + secrets.token_hex(3).upper()
    plan = _plan(ca, tag)
    peer_plan = _peer_plan(ca, tag)
    operator = config.operator_token()
    agencies: dict[str, AgencyCreds] = {}
    disabled = ""
    registered: list[str] = []
    async with http_session(30, tls) as session:
        for agency in plan:
            token = await _register(session, url, operator, agency)
            registered.append(agency.code)
            if agency.role == "disabled":
                disabled = agency.code
                continue
            for role, issued in agency.certs.items():
                agencies[role] = AgencyCreds(agency.code, token, issued.key, issued.cert)
        peer_token = await _register_peer(session, url, operator, peer_plan)
    await _add_to_store(config, plan, peer_plan if peer_token is not None else None)
    revoke(config, ca, agencies["revoked"].cert.serial_number)
    peer = None
    if peer_token is not None:
        registered += [party.code for party in peer_plan.remote]
        peer = PeerCreds(
            name=peer_plan.name,
            token=peer_token,
            key=peer_plan.axis.key,
            cert=peer_plan.axis.cert,
            serves=peer_plan.serves,
            remote=peer_plan.remote[0],
            remote_second=peer_plan.remote[1],
            outside=peer_plan.outside,
            max_hops=config.federation.max_hops,
        )
    return AxisTarget(
        url=url,
        agencies=agencies,
        axis_certs=tuple(load_certs(config.axis_cert)),
        disabled_code=disabled,
        max_body_bytes=config.limits.max_body_bytes,
        test_agencies=tuple(registered),
        tls=tls,
        peer=peer,
        test_peers=(peer.name,) if peer is not None else (),
    )


async def _test_peers(
    session: aiohttp.ClientSession, url: str, headers: dict[str, str]
) -> list[str]:
    """The active peers on the axis named as the suite names its own."""
    async with session.get(f"{url}/admin/v1/peers", headers=headers) as response:
        if response.status in (404, 405):  # an axis without the peers API
            return []
        listing = await response.json(content_type=None)
        if response.status != 200:
            raise SetupFailed(f"listing peers failed: {response.status} {listing}")
    return [
        str(p["name"])
        for p in listing["items"]
        if str(p["name"]).startswith(TEST_PEER_PREFIX) and p.get("state") == "active"
    ]


async def remove_test_agencies(
    url: str,
    operator_token: str,
    codes: Sequence[str] | None = None,
    tls: ssl.SSLContext | None = None,
    peers: Sequence[str] = (),
) -> list[dict[str, Any]]:
    """Remove test agencies (``codes``, or every test agency on the axis) with their traffic.

    First disables the suite's test peers (``peers``; with ``codes`` None, every
    active peer named ``conformance-*``), so no more relays come in their name.
    Returns what the axis removed, one entry per agency. An agency already gone
    is skipped; the axis refuses any agency that is not a test agency.
    """
    url = url.rstrip("/")
    headers = {"Authorization": f"Bearer {operator_token}"}
    removed: list[dict[str, Any]] = []
    async with http_session(60, tls) as session:
        if codes is None:
            peers = await _test_peers(session, url, headers)
        for name in peers:
            async with session.post(
                f"{url}/admin/v1/peers/{name}/disable", headers=headers
            ) as answer:
                if answer.status not in (200, 404):
                    raise SetupFailed(f"disabling the test peer {name} failed: {answer.status}")
        if codes is None:
            async with session.get(f"{url}/admin/v1/agencies", headers=headers) as response:
                listing = await response.json(content_type=None)
                if response.status != 200:
                    raise SetupFailed(f"listing agencies failed: {response.status} {listing}")
            codes = [a["code"] for a in listing["agencies"] if a.get("test")]
        # Senders first would also do; any order works, each removal is whole.
        for code in codes:
            async with session.delete(f"{url}/admin/v1/agencies/{code}", headers=headers) as answer:
                data = await answer.json(content_type=None)
                if answer.status == 404:
                    continue
                if answer.status != 200:
                    raise SetupFailed(f"removing {code} failed: {answer.status} {data}")
                removed.append(data)
    return removed
