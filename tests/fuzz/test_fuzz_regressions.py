"""What the fuzzer found stays fixed: each saved input is refused with a stable code."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from edoc_axis.core.intake import examine
from edoc_axis.edxml import DEFAULT_LIMITS
from edoc_axis.errors import EdocError, SignatureInvalid
from edoc_axis.signature import TrustStore, VerificationPolicy

REGRESSIONS = sorted((Path(__file__).parent / "regressions").glob("*.edxml"))
# file -> (the resource it is posted to, the code it must get)
EXPECTED = {
    "certificate-unknown-key-type.edxml": ("document", SignatureInvalid.code),
    "certificate-malformed-subject.edxml": ("status", SignatureInvalid.code),
    "certificate-invalid-version.edxml": ("document", SignatureInvalid.code),
    "certificate-duplicate-extension.edxml": ("document", SignatureInvalid.code),
}


@pytest.mark.parametrize("path", REGRESSIONS, ids=[p.name for p in REGRESSIONS])
def test_saved_input_is_refused_with_its_code(path: Path, trust_store: TrustStore) -> None:
    kind, code = EXPECTED[path.name]
    with pytest.raises(EdocError) as caught:
        examine(
            path.read_bytes(),
            limits=DEFAULT_LIMITS,
            policy=VerificationPolicy(),
            trust=trust_store,
            at=datetime.now(UTC),
            expect_kind=kind,
            signature_required=kind == "document",
        )
    assert caught.value.code == code


def test_every_saved_input_has_an_expected_code() -> None:
    assert {p.name for p in REGRESSIONS} == set(EXPECTED)
