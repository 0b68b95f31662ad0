"""Status codes, business types and agency code forms."""

from __future__ import annotations

import pytest

from edoc_axis.edxml import (
    STATUS_INFO,
    AgencyCodeForm,
    BusinessDocType,
    StatusCode,
    StatusSender,
    classify_agency_code,
)
from edoc_axis.errors import SchemaInvalid


def test_status_code_values_and_names() -> None:
    assert {c.name: c.value for c in StatusCode} == {
        "ARRIVED": "01",
        "REFUSED": "02",
        "ACCEPTED": "03",
        "ASSIGNED": "04",
        "PROCESSING": "05",
        "FINISHED": "06",
        "RECALL_REQUEST": "13",
        "RECALL_AGREED": "15",
        "RECALL_REFUSED": "16",
    }
    assert set(STATUS_INFO) == set(StatusCode)


def test_only_the_original_sender_may_ask_for_a_recall() -> None:
    senders = {c.value: c.info.sender for c in StatusCode}
    assert [c for c, s in senders.items() if s is StatusSender.ORIGINAL_SENDER] == ["13"]


def test_refused_and_finished_are_final() -> None:
    assert sorted(c.value for c in StatusCode if c.is_final) == ["02", "06"]


def test_progress_never_ranks_backwards_along_the_normal_path() -> None:
    rank = {c.value: c.info.progress_rank for c in StatusCode}
    assert rank["01"] < rank["03"] == rank["02"] < rank["04"] < rank["05"] < rank["06"]  # type: ignore[operator]
    assert rank["13"] is rank["15"] is rank["16"] is None


def test_business_doc_types() -> None:
    assert [(t.name, int(t)) for t in BusinessDocType] == [
        ("NEW", 0),
        ("REVOKE", 1),
        ("UPDATE", 2),
        ("REPLACE", 3),
    ]


@pytest.mark.parametrize(
    ("code", "form"),
    [
        ("000.00.00.G22", AgencyCodeForm.QCVN102),
        ("000.00.00.H49", AgencyCodeForm.QCVN102),
        ("002.00.20.H13", AgencyCodeForm.QCVN102),
        ("G22", AgencyCodeForm.QD20),
        ("H55.242", AgencyCodeForm.QD20),
        ("G22.01.03", AgencyCodeForm.QD20),
        ("K01.1.22.333", AgencyCodeForm.QD20),
        ("28.22.H17", AgencyCodeForm.LEGACY),
        ("00.00.00.G22", AgencyCodeForm.LEGACY),
        ("G22.A1", AgencyCodeForm.LEGACY),
        ("A" * 35, AgencyCodeForm.LEGACY),
    ],
)
def test_agency_code_forms(code: str, form: AgencyCodeForm) -> None:
    assert classify_agency_code(code) is form


@pytest.mark.parametrize("code", ["", "h55.242", "G22 01", "000.00.00.G22/", "Đ01", "A" * 36])
def test_codes_outside_the_alphabet_or_too_long_are_refused(code: str) -> None:
    with pytest.raises(SchemaInvalid, match="OrganId"):
        classify_agency_code(code)
