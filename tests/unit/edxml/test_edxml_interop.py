"""Real-world packages: each [interop] tolerance reads its kind with a warning, or refuses it."""

from __future__ import annotations

import dataclasses

import pytest

from edoc_axis.edxml import (
    REAL_WORLD,
    STRICT,
    DocumentPackage,
    StatusCode,
    StatusPackage,
    Tolerances,
    classify_agency_code,
    read_package,
)
from edoc_axis.edxml.codes import AgencyCodeForm
from edoc_axis.errors import SchemaInvalid
from tests.interop_packages import KINDS, SWITCH, real_world_document, real_world_status

G22, H49 = "000.00.00.G22", "000.00.00.H49"


def _package(kind: str) -> bytes:
    if kind == "lower-case":
        return real_world_document(kind, sender="vxp.saas.03", recipients=["000.00.00.h49"])
    return real_world_document(kind, sender=G22, recipients=[H49])


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_is_read_with_a_warning_naming_its_switch(kind: str) -> None:
    raw = _package(kind)
    package = read_package(raw, tolerances=REAL_WORLD)
    assert isinstance(package, DocumentPackage)
    assert package.raw is raw, "the exact bytes are kept, never rewritten"
    assert package.warnings
    assert all(f"interop.{SWITCH[kind]}" in warning for warning in package.warnings)


@pytest.mark.parametrize("kind", KINDS)
def test_each_kind_is_refused_by_the_strict_profile(kind: str) -> None:
    with pytest.raises(SchemaInvalid):
        read_package(_package(kind), tolerances=STRICT)


@pytest.mark.parametrize("kind", KINDS)
def test_each_switch_off_refuses_its_kind_and_only_its_kind(kind: str) -> None:
    without = dataclasses.replace(REAL_WORLD, **{SWITCH[kind]: False})
    with pytest.raises(SchemaInvalid):
        read_package(_package(kind), tolerances=without)
    for other in KINDS:
        if other != kind:
            read_package(_package(other), tolerances=without)


def test_lower_case_codes_are_kept_as_written() -> None:
    package = read_package(_package("lower-case"), tolerances=REAL_WORLD)
    assert isinstance(package, DocumentPackage)
    assert package.sender.organ_id == "vxp.saas.03"
    assert package.recipient_ids == ("000.00.00.h49",)
    assert package.trace_headers[0].organ_id == "vxp.saas.03"
    assert any("'vxp.saas.03'" in w and "'VXP.SAAS.03'" in w for w in package.warnings)


def test_strict_refusal_names_the_element() -> None:
    with pytest.raises(SchemaInvalid, match=r"OrganId at line \d+"):
        read_package(_package("lower-case"), tolerances=STRICT)
    lenient_schema = Tolerances(case_insensitive_codes=True)
    without_names = dataclasses.replace(lenient_schema, missing_organ_name=False)
    with pytest.raises(SchemaInvalid, match="required element OrganName is missing"):
        read_package(_package("no-organ-name"), tolerances=without_names)


def test_null_and_empty_trace_organ_ids_are_kept_and_not_agency_codes() -> None:
    package = read_package(_package("null-trace"), tolerances=REAL_WORLD)
    assert isinstance(package, DocumentPackage)
    assert [t.organ_id for t in package.trace_headers] == ["", "null"]
    assert package.recipient_ids == (H49,)
    assert len(package.warnings) == 2


def test_null_is_not_an_agency_code_in_a_trace_even_when_case_is_tolerated() -> None:
    only_case = Tolerances(case_insensitive_codes=True)
    empty = b"<edXML:OrganId></edXML:OrganId>"
    raw = _package("null-trace").replace(empty, f"<edXML:OrganId>{G22}</edXML:OrganId>".encode())
    assert raw.count(b"<edXML:OrganId>null</edXML:OrganId>") == 1
    with pytest.raises(SchemaInvalid, match="'null' is not an agency code"):
        read_package(raw, tolerances=only_case)


def test_tolerances_never_let_a_malformed_code_through() -> None:
    raw = _package("lower-case").replace(b"000.00.00.h49", b"000.00.00.h-9")
    with pytest.raises(SchemaInvalid, match=r"000\.00\.00\.h-9"):
        read_package(raw, tolerances=REAL_WORLD)
    raw = real_world_document("lower-case", sender=G22, recipients=[H49])
    raw = raw.replace(f"<edXML:OrganId>{H49}".encode(), b"<edXML:OrganId>null", 1)
    package = read_package(raw, tolerances=REAL_WORLD)  # a To of "null" is a (legacy) code:
    assert isinstance(package, DocumentPackage)  # the registry decides, and knows no NULL
    assert package.recipient_ids == ("null",)


def test_a_real_world_status_is_read_with_warnings() -> None:
    raw = real_world_status(
        sender="000.00.00.h49",
        counterparty="vxp.saas.03",
        about_document_id="vxp.saas.03,2026/01/02,1/VB",
        code=StatusCode.ACCEPTED,
    )
    status = read_package(raw, tolerances=REAL_WORLD)
    assert isinstance(status, StatusPackage)
    assert status.sender.organ_name is None
    assert status.response_for.organ_id == "vxp.saas.03"
    assert len(status.warnings) == 3
    with pytest.raises(SchemaInvalid):
        read_package(raw, tolerances=STRICT)


def test_classify_agency_code_case_insensitive() -> None:
    assert classify_agency_code("vxp.saas.03", case_insensitive=True) is AgencyCodeForm.LEGACY
    assert classify_agency_code("000.00.00.h49", case_insensitive=True) is AgencyCodeForm.QCVN102
    with pytest.raises(SchemaInvalid, match="A-Z 0-9"):
        classify_agency_code("vxp.saas.03")
