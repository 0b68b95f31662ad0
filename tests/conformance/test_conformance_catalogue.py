"""The catalogue itself and the attack corpus, checked without any server."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from edoc_axis.conformance import AgencyCreds, AxisTarget, RunContext
from edoc_axis.conformance.corpus import XML_ATTACKS, Attack
from edoc_axis.conformance.corpus_sig import SIGNATURE_ATTACKS
from edoc_axis.conformance.runner import axis_catalogue, endpoint_catalogue, select
from edoc_axis.core.intake import examine
from edoc_axis.edxml import DEFAULT_LIMITS
from edoc_axis.errors import EdocError
from edoc_axis.pki import Issued, create_ca, issue_certificate
from edoc_axis.signature import TrustStore, VerificationPolicy

DOCS = Path(__file__).resolve().parents[2] / "docs" / "conformance.md"
# Answered only once the registry is consulted (the offline intake cannot know them).
NEEDS_REGISTRY = {"SIG-025"}
ALL_CASES = axis_catalogue() + endpoint_catalogue()


def test_at_least_sixty_cases_with_unique_well_formed_ids() -> None:
    ids = [case.id for case in ALL_CASES]
    assert len(ids) >= 60
    assert len(ids) == len(set(ids))
    for case in ALL_CASES:
        assert re.fullmatch(
            r"(INTAKE|XML|SIG|AUTH|STATUS|PULL|FLOW|ENDPOINT|ROBUST|FED)-\d{3}", case.id
        )
        assert case.title and case.clause and case.sends and case.expects


def test_every_group_is_covered() -> None:
    groups = {case.group for case in ALL_CASES}
    assert groups == {
        "INTAKE", "XML", "SIG", "AUTH", "STATUS", "PULL", "FLOW", "ENDPOINT", "ROBUST", "FED"
    }  # fmt: skip


def test_docs_list_every_case_with_its_clause() -> None:
    text = DOCS.read_text(encoding="utf-8")
    for case in ALL_CASES:
        row = next((line for line in text.splitlines() if f"| {case.id} |" in line), None)
        assert row is not None, case.id
        assert case.clause in row, case.id
        assert ("required" if case.required else "optional") in row, case.id


def test_only_selects_by_pattern() -> None:
    chosen = select(axis_catalogue(), ["sig-00*", "AUTH-004"])
    assert [c.id for c in chosen] == [f"SIG-00{n}" for n in range(1, 10)] + ["AUTH-004"]


@pytest.fixture(scope="module")
def offline() -> tuple[RunContext, TrustStore]:
    ca = create_ca()
    now = datetime.now(UTC)

    def kit(code: str, issuer: Issued = ca, **kwargs: object) -> AgencyCreds:
        issued = issue_certificate(issuer, code, agency_code=code, **kwargs)  # type: ignore[arg-type]
        return AgencyCreds(code, "unused", issued.key, issued.cert)

    agencies = {
        "sender": kit("CFT.1"),
        "recipient": kit("CFT.2"),
        "second": kit("CFT.3"),
        "untrusted": kit("CFT.4", create_ca("rogue")),
        "keyusage": kit("CFT.4", key_usage_digital_signature=False),
        "expired": kit("CFT.5", valid_from=now - timedelta(days=30), valid_days=10),
        "future": kit("CFT.5", valid_from=now + timedelta(days=1)),
    }
    return RunContext(AxisTarget("http://unused", agencies)), TrustStore([ca.cert])


@pytest.mark.parametrize(
    "attack",
    [a for a in XML_ATTACKS + SIGNATURE_ATTACKS if a.id not in NEEDS_REGISTRY],
    ids=lambda a: a.id,
)
def test_corpus_entry_is_refused_by_the_pure_intake_as_its_manifest_says(
    attack: Attack, offline: tuple[RunContext, TrustStore]
) -> None:
    ctx, trust = offline
    with pytest.raises(EdocError) as caught:
        examine(
            attack.forge(ctx),
            limits=DEFAULT_LIMITS,
            policy=VerificationPolicy(),
            trust=trust,
            at=datetime.now(UTC),
            expect_kind="document",
        )
    assert (caught.value.http_status, caught.value.code) in attack.answers, caught.value.detail
