"""Coverage-guided fuzz target for the intake examination (atheris, libFuzzer).

Every input is examined as a document (signature required) and as a status
(unsigned allowed), against a trust store holding the CA that signed the
seeds. Anything but an ``EdocError`` refusal is a crash; an input that takes
longer than libFuzzer's ``-timeout`` is a slow input. Both leave an artifact
(``crash-*``, ``timeout-*``) that becomes a regression test in
``tests/fuzz/test_fuzz_regressions.py``.

    python tests/fuzz/fuzz_intake.py CORPUS_DIR [libFuzzer flags]   # e.g. make fuzz

An empty corpus directory is first filled with seeds: valid signed and
unsigned documents and statuses, and each pathological shape at a small size.
"""

from __future__ import annotations

import contextlib
import sys
from datetime import UTC, datetime
from pathlib import Path

import atheris

with atheris.instrument_imports(include=["edoc_axis"]):
    from edoc_axis.conformance.shapes import SHAPES, shaped
    from edoc_axis.core.compose import new_status
    from edoc_axis.core.intake import examine
    from edoc_axis.edxml import DEFAULT_LIMITS, StatusCode, build_status
    from edoc_axis.errors import EdocError
    from edoc_axis.pki import create_ca, issue_certificate
    from edoc_axis.signature import TrustStore, VerificationPolicy, sign_package

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests.conftest import G22, H49, build_package

CA = create_ca()
SIGNER = issue_certificate(CA, "Fuzz signer", agency_code=G22)
TRUST = TrustStore([CA.cert])
POLICY = VerificationPolicy()
AT = datetime.now(UTC)


def seeds() -> dict[str, bytes]:
    """Named starting inputs: the valid shapes and each pathological shape, small."""
    document = build_package()
    status = build_status(
        new_status(
            sender=H49,
            about_document_id=f"{G22},2026/01/02,7816/VPCP-TTĐT",
            counterparty=G22,
            code=StatusCode("03"),
            at=datetime(2026, 1, 2, 8, 0, 0),
        )
    )
    found = {
        "document": document,
        "document-signed": sign_package(document, SIGNER.key, SIGNER.cert),
        "status": status,
        "status-signed": sign_package(status, SIGNER.key, SIGNER.cert),
    }
    for shape in SHAPES:
        found[f"shape-{shape.name}"] = shaped(document, shape, 40)
    return found


def examine_both(data: bytes) -> None:
    """The target: refusals are fine, anything else propagates as a crash."""
    for kind, required in (("document", True), ("status", False)):
        with contextlib.suppress(EdocError):
            examine(
                data,
                limits=DEFAULT_LIMITS,
                policy=POLICY,
                trust=TRUST,
                at=AT,
                expect_kind=kind,
                signature_required=required,
            )


def _fill(corpus: Path) -> None:
    corpus.mkdir(parents=True, exist_ok=True)
    if any(corpus.iterdir()):
        return
    for name, raw in seeds().items():
        (corpus / name).write_bytes(raw)


def main(argv: list[str]) -> None:
    corpora = [Path(arg) for arg in argv[1:] if not arg.startswith("-")]
    for corpus in corpora:
        if not corpus.is_file():
            _fill(corpus)
    atheris.Setup(argv, examine_both)
    atheris.Fuzz()


if __name__ == "__main__":
    main(sys.argv)
