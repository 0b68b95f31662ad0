"""The signature interop cases (SIG-04x), checked without any server by the pure intake."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from edoc_axis.conformance import AgencyCreds, AxisTarget, RunContext
from edoc_axis.conformance.cases_sig_interop import CASES, FORMS, InteropForm
from edoc_axis.conformance.corpus import CODE_STATUS
from edoc_axis.conformance.runner import axis_catalogue, run_cases
from edoc_axis.conformance.setup import set_up
from edoc_axis.core import intake
from edoc_axis.errors import EdocError, SignatureWrapping
from edoc_axis.pki import Issued, create_ca, issue_certificate
from edoc_axis.signature import (
    PreparedSignature,
    TrustStore,
    VerificationPolicy,
    prepare_package,
)
from edoc_axis.signature.algorithms import DSIG_NS
from tests.conformance import explain, failed_ids, running_axis
from tests.examining import examine_document


@pytest.fixture(scope="module")
def offline() -> tuple[RunContext, TrustStore]:
    ca = create_ca()

    def kit(code: str, issuer: Issued = ca, **kwargs: object) -> AgencyCreds:
        issued = issue_certificate(issuer, code, agency_code=code, **kwargs)  # type: ignore[arg-type]
        return AgencyCreds(code, "unused", issued.key, issued.cert)

    agencies = {
        "sender": kit("CFT.1"),
        "sender-ec": kit("CFT.1", key_type="ec"),
        "recipient": kit("CFT.2"),
    }
    return RunContext(AxisTarget("http://unused", agencies)), TrustStore([ca.cert])


def test_the_cases_are_in_the_axis_catalogue() -> None:
    ids = {case.id for case in axis_catalogue()}
    assert {form.id for form in FORMS} <= ids
    assert any(form.refused_with is None for form in FORMS)
    assert any(form.refused_with is not None for form in FORMS)


@pytest.mark.parametrize("form", FORMS, ids=lambda form: form.id)
def test_each_form_gets_its_answer_from_the_pure_intake(
    form: InteropForm, offline: tuple[RunContext, TrustStore]
) -> None:
    ctx, trust = offline
    raw = form.forge(ctx)
    if form.refused_with is None:
        examine_document(raw, trust)
        return
    with pytest.raises(EdocError) as caught:
        examine_document(raw, trust)
    expected = (CODE_STATUS[form.refused_with], form.refused_with)
    assert (caught.value.http_status, caught.value.code) == expected, caught.value.detail


def _strict_profile_only(
    root: etree._Element, policy: VerificationPolicy | None = None
) -> PreparedSignature:
    """The verifier as it was before these forms were accepted: two transforms, C14N 1.0."""
    for transforms in root.iter(f"{{{DSIG_NS}}}Transforms"):
        if len(transforms) != 2:
            raise SignatureWrapping("only enveloped-signature then C14N")
    for node in root.iter(f"{{{DSIG_NS}}}Transform", f"{{{DSIG_NS}}}CanonicalizationMethod"):
        if len(node) or "c14n11" in (node.get("Algorithm") or ""):
            raise SignatureWrapping("only parameterless C14N 1.0 or exclusive C14N")
    return prepare_package(root, policy or VerificationPolicy())


async def test_an_axis_refusing_the_equivalent_forms_fails_the_acceptance_cases(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(intake, "prepare_package", _strict_profile_only)
    async with running_axis(tmp_path / "home") as (url, config):
        target = await set_up(url, config)
        async with RunContext(target) as ctx:
            results = await run_cases(CASES, ctx, timeout_s=30)
    accepted = {form.id for form in FORMS if form.refused_with is None}
    assert failed_ids(results) == accepted, explain(results)
