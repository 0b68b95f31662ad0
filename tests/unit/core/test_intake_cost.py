"""Every check on an untrusted body costs time linear in its size, whatever its shape.

Each pathological shape (``edoc_axis.conformance.shapes``) is examined at
sizes N and 4N, as an unsigned document, as a document signed by a trusted
agency (so the whole intake runs: schema, certificate, model, C14N, digest)
and as an unsigned status (the status endpoint may accept unsigned ones, so
the model is built for them). Two measures, both required to grow at most
about linearly:

- Python operations (function calls, counted with ``sys.setprofile``):
  deterministic, so the bound is tight (4x the size, at most 5x the calls);
- CPU time, for what happens inside libxml2 (parse, schema, C14N): the best
  of three runs, below a 5 ms floor counted as 5 ms, and a generous 8x.

Before the limits and fixes, the namespace bomb took 14.5 s at 20,000
declarations (3.8 s at 8,000 vs 0.24 s at 2,000: 16x for 4x) and the comment
flood 15 s at 8,000 comments (12x for 4x).
"""

from __future__ import annotations

import base64
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from types import FrameType
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from lxml import etree

from edoc_axis.conformance.shapes import ANCHOR, SHAPES, Shape, shaped
from edoc_axis.core.compose import new_status
from edoc_axis.core.intake import examine
from edoc_axis.edxml import DEFAULT_LIMITS, StatusCode, build_status
from edoc_axis.errors import EdocError, SignatureMissing, XmlForbidden
from edoc_axis.pki import Issued
from edoc_axis.signature import TrustStore, VerificationPolicy, sign_package
from tests.conftest import G22, H49, build_package

# N per shape: 4N stays inside the default limits where the shape does, and
# under the 1 MiB one-call parse threshold so both sizes take the same path.
BASE_N = {
    "namespace-bomb": 5_000,
    "namespace-per-element": 2_000,
    "namespaces-in-scope": 1_500,
    "comment-flood": 2_000,
    "comment-flood-beyond-limit": 12_000,
    "attribute-flood": 2_000,
    "attributes-at-limit": 64 * 80,
    "deep-tree": 1_500,
    "wide-tree": 1_500,
    "long-text": 3_000,
    "character-references": 4_000,
}
# CPU-time ratios: run alone (`make test` runs serial tests after the parallel run).
pytestmark = pytest.mark.serial

MAX_CALL_RATIO = 5.0
MAX_CPU_RATIO = 8.0
CPU_FLOOR_S = 0.005
VARIANTS = ("unsigned-document", "signed-document", "unsigned-status")


@dataclass(frozen=True)
class Cost:
    calls: int
    cpu_s: float
    outcome: str  # "accepted" or the refusal's code


def _status_package() -> bytes:
    return build_status(
        new_status(
            sender=H49,
            about_document_id=f"{G22},2026/01/02,7816/VPCP-TTĐT",
            counterparty=G22,
            code=StatusCode("03"),
            at=datetime(2026, 1, 2, 8, 0, 0),
        )
    )


def _body(shape: Shape, n: int, variant: str, signer: Issued) -> bytes:
    if variant == "unsigned-status":
        return shaped(_status_package(), shape, n)
    raw = shaped(build_package(), shape, n)
    if variant != "signed-document":
        return raw
    # Parsed without our limits, so that an agency can sign a shape the axis refuses.
    lenient = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)
    return sign_package(etree.fromstring(raw, lenient), signer.key, signer.cert)


def _examiner(raw: bytes, variant: str, trust: TrustStore) -> Callable[[], str]:
    status = variant == "unsigned-status"

    def run() -> str:
        try:
            examine(
                raw,
                limits=DEFAULT_LIMITS,
                policy=VerificationPolicy(),
                trust=trust,
                at=datetime.now(UTC),
                expect_kind="status" if status else "document",
                signature_required=not status,
            )
        except EdocError as exc:
            return exc.code
        return "accepted"

    return run


def _calls(action: Callable[[], str]) -> int:
    count = 0

    def profiler(frame: FrameType, event: str, arg: Any) -> None:
        nonlocal count
        if event in ("call", "c_call"):
            count += 1

    sys.setprofile(profiler)
    try:
        action()
    finally:
        sys.setprofile(None)
    return count


def _cost(action: Callable[[], str], *, count_calls: bool = True) -> Cost:
    outcome = action()  # warm: the schema is compiled, caches are filled
    best = float("inf")
    for _ in range(3):
        started = time.process_time()
        action()
        best = min(best, time.process_time() - started)
    return Cost(_calls(action) if count_calls else 0, best, outcome)


def _expected_outcomes(shape: Shape, variant: str) -> set[str]:
    if not shape.within_default_limits:
        return {XmlForbidden.code}
    if variant == "unsigned-document":
        return {SignatureMissing.code}
    return {"accepted"}


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("shape", SHAPES, ids=[s.name for s in SHAPES])
def test_cost_grows_at_most_linearly(
    shape: Shape, variant: str, agency_g22: Issued, trust_store: TrustStore
) -> None:
    n = BASE_N[shape.name]
    small = _body(shape, n, variant, agency_g22)
    large = _body(shape, 4 * n, variant, agency_g22)
    assert len(shape.fragment(4 * n)) > 3.5 * len(shape.fragment(n))
    assert len(large) <= 1024 * 1024, "keep 4N on the one-call parse path"
    at_n = _cost(_examiner(small, variant, trust_store))
    at_4n = _cost(_examiner(large, variant, trust_store))

    expected = _expected_outcomes(shape, variant)
    assert at_n.outcome in expected and at_4n.outcome in expected, (at_n, at_4n)
    call_ratio = at_4n.calls / at_n.calls
    assert call_ratio <= MAX_CALL_RATIO, f"{at_n.calls} -> {at_4n.calls} Python calls for 4x"
    cpu_ratio = max(at_4n.cpu_s, CPU_FLOOR_S) / max(at_n.cpu_s, CPU_FLOOR_S)
    cpu = f"{at_n.cpu_s:.4f} -> {at_4n.cpu_s:.4f} s"
    print(f"{shape.name} {variant}: calls x{call_ratio:.2f}, cpu {cpu}")  # shown on failure
    assert cpu_ratio < MAX_CPU_RATIO, f"{at_n.cpu_s:.4f} s -> {at_4n.cpu_s:.4f} s for 4x"


def test_every_shape_has_a_size() -> None:
    assert {s.name for s in SHAPES} == set(BASE_N)


def test_cost_of_many_ca_certificates_in_key_info_grows_at_most_linearly(
    agency_g22: Issued, untrusted_ca: Issued, dev_ca: Issued, trust_store: TrustStore
) -> None:
    """KeyInfo may carry CA certificates for the chain: each is parsed and offered once."""
    signed = sign_package(build_package(), agency_g22.key, agency_g22.cert)

    def with_cas(n: int) -> bytes:
        one = [
            base64.b64encode(ca.cert.public_bytes(serialization.Encoding.DER))
            for ca in (untrusted_ca, dev_ca)
        ]
        extra = b"".join(
            b"<ds:X509Certificate>" + one[i % 2] + b"</ds:X509Certificate>" for i in range(n)
        )
        return signed.replace(b"</ds:X509Data>", extra + b"</ds:X509Data>")

    at_n = _cost(_examiner(with_cas(150), "signed-document", trust_store))
    at_4n = _cost(_examiner(with_cas(600), "signed-document", trust_store))
    assert at_n.outcome == at_4n.outcome == "accepted"
    assert at_4n.calls / at_n.calls <= MAX_CALL_RATIO
    cpu_ratio = max(at_4n.cpu_s, CPU_FLOOR_S) / max(at_n.cpu_s, CPU_FLOOR_S)
    assert cpu_ratio < MAX_CPU_RATIO, f"{at_n.cpu_s:.4f} s -> {at_4n.cpu_s:.4f} s for 4x"


# Over 1 MiB at N: both sizes stream through the parse guard (CPU only: profiling
# every parse event of megabytes would take long).
STREAMED_N = {
    "namespace-bomb": 32_000,
    "comment-flood-beyond-limit": 160_000,
    "long-text": 20_000,
    "character-references": 80_000,
}


@pytest.mark.parametrize("name", sorted(STREAMED_N))
def test_cost_of_streamed_bodies_grows_at_most_linearly(
    name: str, agency_g22: Issued, trust_store: TrustStore
) -> None:
    shape = next(s for s in SHAPES if s.name == name)
    n = STREAMED_N[name]
    small = _body(shape, n, "unsigned-document", agency_g22)
    large = _body(shape, 4 * n, "unsigned-document", agency_g22)
    assert len(small) > 1024 * 1024
    at_n = _cost(_examiner(small, "unsigned-document", trust_store), count_calls=False)
    at_4n = _cost(_examiner(large, "unsigned-document", trust_store), count_calls=False)
    assert at_n.outcome in {"xml.forbidden", "signature.missing"}, at_n
    cpu_ratio = max(at_4n.cpu_s, CPU_FLOOR_S) / max(at_n.cpu_s, CPU_FLOOR_S)
    assert cpu_ratio < MAX_CPU_RATIO, f"{at_n.cpu_s:.4f} s -> {at_4n.cpu_s:.4f} s for 4x"


def _runs(count: int, where: bytes) -> bytes:
    """A package carrying ``count`` × 1.1 MB of base64: runs in comments, or one attachment."""
    if where == b"attachment":
        return build_package(attachment=b"\0" * (825_000 * count))
    run = base64.b64encode(b"\0" * 825_000)
    raw = build_package()
    at = raw.index(ANCHOR)
    return raw[:at] + b"".join(b"<!-->" + run + b"<-->" for _ in range(count)) + raw[at:]


@pytest.mark.parametrize("where", [b"comment", b"attachment"])
def test_cost_of_texts_set_aside_grows_at_most_linearly(
    where: bytes, agency_g22: Issued, trust_store: TrustStore
) -> None:
    """Runs the parse may set aside (edxml.aside): one in a comment forces a whole parse again."""
    small, large = _runs(2, where), _runs(8, where)
    if where == b"attachment":
        small, large = (
            sign_package(raw, agency_g22.key, agency_g22.cert) for raw in (small, large)
        )
    at_n = _cost(_examiner(small, "signed-document", trust_store), count_calls=False)
    at_4n = _cost(_examiner(large, "signed-document", trust_store), count_calls=False)
    expected = "accepted" if where == b"attachment" else SignatureMissing.code
    assert at_n.outcome == at_4n.outcome == expected
    cpu_ratio = max(at_4n.cpu_s, CPU_FLOOR_S) / max(at_n.cpu_s, CPU_FLOOR_S)
    assert cpu_ratio < MAX_CPU_RATIO, f"{at_n.cpu_s:.4f} s -> {at_4n.cpu_s:.4f} s for 4x"
