"""What each reference SDK sample contains, as the parser reads it."""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from pathlib import Path

import pytest

from edoc_axis.edxml import (
    AgencyCodeForm,
    BusinessDocType,
    DocumentPackage,
    Receiver,
    StatusCode,
    StatusPackage,
    classify_agency_code,
    read_package,
    safe_parse,
    validate,
)
from edoc_axis.errors import XmlMalformed

DOCUMENT_ID = "000.00.00.G22,2015/09/30,7816/VPCP-TTĐT"
# The file inside each sample's one-entry ZIP (identical in all three samples).
ATTACHMENT_SIZE = 388_347
ATTACHMENT_SHA256 = "8385739ec4a4ed36d71eabcaead629641ffc5ffff3d487ff5c34d2f821c9f36e"


def _document(samples: Path, name: str, strip: int = 0) -> DocumentPackage:
    raw = (samples / name).read_bytes()[strip:]
    pkg = read_package(raw)
    assert isinstance(pkg, DocumentPackage)
    assert pkg.raw == raw
    return pkg


def _check_attachment(pkg: DocumentPackage) -> None:
    assert len(pkg.manifest) == len(pkg.attachments) == 1
    ref, att = pkg.manifest[0], pkg.attachments[0]
    assert (ref.content_id, ref.content_type, ref.attachment_name) == (
        "cid:209",
        "application/zip",
        "1896_QD-TTg_m_294779.doc",
    )
    assert (att.content_id, att.attachment_name, att.description) == (
        "cid:209",
        "1896_QD-TTg_m_294779.doc",
        "1896_QD-TTg_m_294779.doc",
    )
    data = att.data()
    assert len(data) == ATTACHMENT_SIZE
    assert hashlib.sha256(data).hexdigest() == ATTACHMENT_SHA256


def test_edoc_new_as_shipped_is_malformed(samples: Path) -> None:
    raw = (samples / "edoc_new.edxml").read_bytes()
    assert raw.startswith(b"1212<?xml")
    with pytest.raises(XmlMalformed, match=r"content before the root element at line 1: b'1212"):
        read_package(raw)


def test_edoc_new_without_its_junk_prefix(samples: Path) -> None:
    pkg = _document(samples, "edoc_new.edxml", strip=4)
    assert pkg.kind == "document"
    assert pkg.sender.organ_id == "002.00.20.H13"
    assert pkg.recipient_ids == ("28.22.H17",)
    assert classify_agency_code("28.22.H17") is AgencyCodeForm.LEGACY
    assert pkg.recipients[0].organization_in_charge is not None
    assert pkg.recipients[0].organization_in_charge.startswith(" UBND")  # text kept as written
    assert pkg.document_id == DOCUMENT_ID
    assert (pkg.code.code_number, pkg.code.code_notation) == ("74fass22", "VPCP-TTĐT")
    assert pkg.promulgation.promulgation_date == date(2019, 1, 16)
    assert (pkg.document_type.type, pkg.document_type.type_detail) == (1, 0)
    assert pkg.document_type.type_name == "Công văn"
    assert pkg.due_date == date(2018, 9, 28)
    assert pkg.steering_type == 1
    assert pkg.to_places == ("Cac bo va co quan ngang bo", "Uy ban nhan dan cac tinh, TP")
    assert pkg.other_info is not None
    assert (pkg.other_info.priority, pkg.other_info.page_amount) == (0, 22)
    assert pkg.other_info.direction is False
    assert len(pkg.other_info.appendixes) == 1
    assert pkg.trace_headers[0].organ_id == "000.00.00.G22"
    assert pkg.trace_headers[0].timestamp == datetime(2018, 9, 28, 0, 0, 0)
    assert pkg.business is not None
    assert pkg.business_type is BusinessDocType.NEW
    assert pkg.business.document_id == "000.00.00.G22,2014/02/30,7806/VPCP-TTĐT"
    assert pkg.business.staff_infos[0].staff == "Nguyễn Thị Ngọc Trâm"
    assert pkg.response_for == ()
    assert pkg.extra == ()  # the edXML-namespace Signature is not model content
    _check_attachment(pkg)


def test_edoc_revocation(samples: Path) -> None:
    pkg = _document(samples, "edoc_revocation.edxml")
    assert pkg.business_type is BusinessDocType.REVOKE
    assert pkg.sender.organ_id == "000.00.00.G22"
    assert pkg.recipient_ids == ("000.00.00.H41", "000.00.00.H14", "000.00.00.G17")
    assert pkg.document_id == DOCUMENT_ID
    assert (pkg.code.code_number, pkg.code.code_notation) == ("7816", "VPCP-TTĐT")
    assert len(pkg.response_for) == 1
    answered = pkg.response_for[0]
    assert (answered.organ_id, answered.code) == ("000.00.00.H14", "267/VPCP-TTĐT")
    assert answered.document_id == "000.00.04.G14,2012/08/06,267/VPCP-TTĐT"
    assert pkg.business is not None
    assert pkg.business.reason == "Thu hồi văn bản điện tử"
    assert pkg.business.document_id is None
    _check_attachment(pkg)


def test_edoc_update(samples: Path) -> None:
    pkg = _document(samples, "edoc_update.edxml")
    assert pkg.business_type is BusinessDocType.UPDATE
    assert pkg.recipient_ids == ("000.00.00.H41", "000.00.00.H14", "000.00.00.G17")
    assert pkg.business is not None
    assert pkg.business.document_id == "000.00.00.G22,2014/02/30,7806/VPCP-TTĐT"
    (info,) = pkg.business.document_infos
    assert (info.document_info, info.document_receiver) == (1, 1)
    assert info.receivers == (Receiver("000.00.00.H41", 0), Receiver("000.00.00.H14", 1))
    _check_attachment(pkg)


STATUS_FILES = [
    ("status.edxml", StatusCode.ARRIVED, date(2018, 9, 28), datetime(2018, 9, 28, 17, 25, 11)),
    ("status_inbox__01.edxml", StatusCode.ARRIVED, date(2015, 9, 30), None),
    ("status_rejection_02.edxml", StatusCode.REFUSED, date(2015, 9, 30), None),
    ("status_acceptance_03.edxml", StatusCode.ACCEPTED, date(2015, 9, 30), None),
    ("status_assignment_04.edxml", StatusCode.ASSIGNED, date(2015, 9, 30), None),
    ("status_processing_05.edxml", StatusCode.PROCESSING, date(2015, 9, 30), None),
    ("status_finish_06.edxml", StatusCode.FINISHED, date(2015, 9, 30), None),
    ("status_change-acceptance_15.edxml", StatusCode.RECALL_AGREED, date(2015, 9, 30), None),
]


@pytest.mark.parametrize(
    ("name", "code", "promulgated", "stamp"), STATUS_FILES, ids=[f[0] for f in STATUS_FILES]
)
def test_status_samples(
    samples: Path, name: str, code: StatusCode, promulgated: date, stamp: datetime | None
) -> None:
    raw = (samples / name).read_bytes()
    pkg = read_package(raw)
    assert isinstance(pkg, StatusPackage)
    assert pkg.kind == "status"
    assert pkg.raw == raw
    assert pkg.status_code is code
    assert pkg.sender.organ_id == "000.00.00.H41"
    assert pkg.sender.organ_name == "UBND Tỉnh Nghệ An"
    assert pkg.response_for.organ_id == "000.00.00.G22"
    assert pkg.response_for.code == "7816/VPCP-TTĐT"
    assert pkg.response_for.document_id == DOCUMENT_ID
    assert pkg.response_for.promulgation_date == promulgated
    assert pkg.timestamp == (stamp or datetime(2015, 9, 20, 11, 8, 36))
    assert pkg.staff_info is not None and pkg.staff_info.mobile == "84912000001"
    assert pkg.description


def test_every_sample_file_is_covered(samples: Path) -> None:
    covered = {f[0] for f in STATUS_FILES} | {
        "edoc_new.edxml",
        "edoc_revocation.edxml",
        "edoc_update.edxml",
    }
    assert {p.name for p in samples.iterdir()} == covered


@pytest.mark.parametrize("name", ["edoc_revocation.edxml", "status_rejection_02.edxml"])
def test_samples_pass_the_schema_with_their_edxml_namespace_signature(
    samples: Path, name: str
) -> None:
    validate(safe_parse((samples / name).read_bytes()))
