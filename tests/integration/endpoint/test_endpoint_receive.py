"""POST / on the reference endpoint: who is let in, what is stored, and only once."""

from __future__ import annotations

import asyncio
import hashlib
import random
import time
import tracemalloc
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from edoc_axis.endpoint import JOURNAL_NAME, Received, ReceivedStore
from edoc_axis.pki import Issued
from edoc_axis.signature import TrustStore, sign_package
from tests.integration.endpoint import AXIS_ID, G22, serve_endpoint, signed_delivery

MIB = 1024 * 1024


def tamper(signed: bytes) -> bytes:
    """The same package with one letter of the signed subject changed."""
    changed = signed.replace("kết nối".encode(), "kết nốI".encode(), 1)
    assert changed != signed
    return changed


def _files(out: Path) -> list[str]:
    """Every file under the output folder (temp files would show here too)."""
    return sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())


async def test_a_signed_delivery_is_stored_once_and_journaled(
    tmp_path: Path, signed_package: bytes, axis_signer: Issued, trust_store: TrustStore
) -> None:
    out = tmp_path / "inbox"
    async with serve_endpoint(out, axis_signer, trust_store) as client:
        headers = signed_delivery(signed_package, axis_signer)
        first = await client.post("/", data=signed_package, headers=headers)
        assert first.status == 201
        path = f"documents/{AXIS_ID}.xml"
        assert await first.json() == {"stored": path, "duplicate": False}
        again = signed_delivery(signed_package, axis_signer, attempt=2)
        second = await client.post("/", data=signed_package, headers=again)
        assert second.status == 200
        assert await second.json() == {"stored": path, "duplicate": True}
    assert (out / path).read_bytes() == signed_package
    assert _files(out) == [path, JOURNAL_NAME]
    (entry,) = ReceivedStore(out).journal_entries()
    assert entry["axis_id"] == AXIS_ID
    assert entry["sender"] == G22  # read from the signed document
    assert entry["sha256"] == hashlib.sha256(signed_package).hexdigest()


async def test_concurrent_re_deliveries_store_one_copy(
    tmp_path: Path, signed_package: bytes, axis_signer: Issued, trust_store: TrustStore
) -> None:
    out = tmp_path / "inbox"
    async with serve_endpoint(out, axis_signer, trust_store) as client:
        headers = signed_delivery(signed_package, axis_signer)
        answers = await asyncio.gather(
            *(client.post("/", data=signed_package, headers=headers) for _ in range(6))
        )
        assert sorted(a.status for a in answers) == [200] * 5 + [201]
    assert len(ReceivedStore(out).journal_entries()) == 1


async def test_other_bytes_under_a_stored_id_conflict(
    tmp_path: Path,
    make_package: Callable[..., bytes],
    agency_g22: Issued,
    axis_signer: Issued,
    trust_store: TrustStore,
) -> None:
    out = tmp_path / "inbox"
    one = sign_package(make_package(code_number="1"), agency_g22.key, agency_g22.cert)
    other = sign_package(make_package(code_number="2"), agency_g22.key, agency_g22.cert)
    async with serve_endpoint(out, axis_signer, trust_store) as client:
        stored = await client.post("/", data=one, headers=signed_delivery(one, axis_signer))
        assert stored.status == 201
        response = await client.post("/", data=other, headers=signed_delivery(other, axis_signer))
        assert response.status == 409
        assert (await response.json())["code"] == "document.conflict"
    assert (out / f"documents/{AXIS_ID}.xml").read_bytes() == one


async def test_impostors_and_tampering_are_refused_401(
    tmp_path: Path,
    signed_package: bytes,
    axis_signer: Issued,
    untrusted_cert: Issued,
    trust_store: TrustStore,
) -> None:
    out = tmp_path / "inbox"
    good = signed_delivery(signed_package, axis_signer)
    tampered_body = tamper(signed_package)
    cases = {
        "impostor key": (signed_package, signed_delivery(signed_package, untrusted_cert)),
        "unsigned": (signed_package, {"Content-Type": "application/xml"}),
        "body changed after signing": (tampered_body, good),
        "axis id changed": (signed_package, {**good, "Edoc-Document-Id": "01other00000000"}),
        "attempt changed": (signed_package, {**good, "Edoc-Attempt": "7"}),
        "too old": (
            signed_package,
            signed_delivery(signed_package, axis_signer, timestamp=int(time.time()) - 3600),
        ),
        "signature garbled": (signed_package, {**good, "Edoc-Signature": "not base64!"}),
    }
    async with serve_endpoint(out, axis_signer, trust_store) as client:
        for name, (body, headers) in cases.items():
            response = await client.post("/", data=body, headers=headers)
            problem = await response.json()
            assert response.status == 401, name
            assert response.content_type == "application/problem+json", name
            expected = "signature.missing" if name == "unsigned" else "signature.invalid"
            assert problem["code"] == expected, name
    assert _files(out) == []


async def test_a_document_whose_own_signature_fails_is_refused_422(
    tmp_path: Path,
    make_package: Callable[..., bytes],
    signed_package: bytes,
    untrusted_cert: Issued,
    axis_signer: Issued,
    trust_store: TrustStore,
) -> None:
    out = tmp_path / "inbox"
    broken = tamper(signed_package)  # after the sender signed
    foreign = sign_package(make_package(), untrusted_cert.key, untrusted_cert.cert)
    cases = {
        "signature.invalid": broken,
        "signature.missing": make_package(),
        "certificate.untrusted": foreign,
    }
    async with serve_endpoint(out, axis_signer, trust_store) as client:
        for code, body in cases.items():
            # The axis itself signs the delivery: only the document is wrong.
            response = await client.post("/", data=body, headers=signed_delivery(body, axis_signer))
            assert (response.status, (await response.json())["code"]) == (422, code)
    assert _files(out) == []


async def test_without_trust_anchors_the_chain_is_not_checked(
    tmp_path: Path, make_package: Callable[..., bytes], untrusted_cert: Issued, axis_signer: Issued
) -> None:
    foreign = sign_package(make_package(), untrusted_cert.key, untrusted_cert.cert)
    async with serve_endpoint(tmp_path / "inbox", axis_signer, None) as client:
        headers = signed_delivery(foreign, axis_signer)
        response = await client.post("/", data=foreign, headers=headers)
        assert response.status == 201


async def test_unsafe_xml_and_unusable_ids_are_refused(
    tmp_path: Path, axis_signer: Issued, trust_store: TrustStore
) -> None:
    out = tmp_path / "inbox"
    doctype = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "boom">]><x>&e;</x>'
    async with serve_endpoint(out, axis_signer, trust_store, max_body_bytes=4096) as client:
        cases = [
            (b"<not-closed>", {}, 400, "xml.malformed"),
            (doctype, {}, 400, "xml.forbidden"),
            (b"<x/>", {"axis_id": "../escape"}, 400, "delivery.invalid"),
            (b"<x/>", {"kind": "receipt"}, 400, "delivery.invalid"),
            (b"<x>" + b"a" * 5000 + b"</x>", {}, 413, "payload.too-large"),
        ]
        for body, facts, status, code in cases:
            headers = signed_delivery(body, axis_signer, **facts)  # type: ignore[arg-type]
            response = await client.post("/", data=body, headers=headers)
            assert (response.status, (await response.json())["code"]) == (status, code), code
    assert _files(out) == []
    assert not (tmp_path / "escape.xml").exists()


async def test_on_stored_hears_of_new_documents_only_and_cannot_break_the_answer(
    tmp_path: Path, signed_package: bytes, axis_signer: Issued, trust_store: TrustStore
) -> None:
    heard: list[Received] = []

    async def on_stored(received: Received) -> None:
        heard.append(received)
        raise RuntimeError("the status 01 sender is down")

    out = tmp_path / "inbox"
    async with serve_endpoint(out, axis_signer, trust_store, on_stored=on_stored) as client:
        headers = signed_delivery(signed_package, axis_signer)
        assert (await client.post("/", data=signed_package, headers=headers)).status == 201
        assert (await client.post("/", data=signed_package, headers=headers)).status == 200
        health = await client.get("/healthz")
        assert (health.status, await health.json()) == (200, {"status": "ok"})
    (received,) = heard
    assert received.item.axis_id == AXIS_ID
    assert received.facts.attempt == 1
    assert received.absolute_path.read_bytes() == signed_package


async def test_a_large_push_is_held_about_once(
    tmp_path: Path, make_package: Callable[..., bytes], agency_g22: Issued, axis_signer: Issued,
    trust_store: TrustStore,
) -> None:  # fmt: skip
    attachment = random.Random(7).randbytes(8 * MIB)  # its base64 set aside while parsing
    signed = sign_package(make_package(attachment=attachment), agency_g22.key, agency_g22.cert)
    out = tmp_path / "inbox"
    async with serve_endpoint(out, axis_signer, trust_store, max_body_bytes=64 * MIB) as client:
        headers = signed_delivery(signed, axis_signer)

        async def pieces() -> AsyncIterator[bytes]:  # a BytesIO body is copied whole by aiohttp
            for start in range(0, len(signed), MIB):
                yield signed[start : start + MIB]

        tracemalloc.start()
        try:
            response = await client.post("/", data=pieces(), headers=headers)
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert response.status == 201
    assert (out / f"documents/{AXIS_ID}.xml").read_bytes() == signed
    # The body once and pieces of it; aiohttp's request.read() held it twice.
    assert peak < len(signed) + 4 * MIB
