"""Fixtures for the edXML tests: the reference samples and small example packages."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path

import pytest

from edoc_axis.edxml import (
    Attachment,
    Business,
    BusinessDocType,
    BusinessDocumentInfo,
    DocumentCode,
    DocumentPackage,
    DocumentType,
    Organization,
    OtherInfo,
    PromulgationInfo,
    Receiver,
    ReplacementInfo,
    ResponseFor,
    SignerInfo,
    StaffInfo,
    StatusCode,
    StatusPackage,
    TraceHeader,
)
from tests.reference import SDK_SAMPLES

REPO = Path(__file__).resolve().parents[3]
SAMPLES = SDK_SAMPLES
EXAMPLES = REPO / "examples"

SENDER = Organization(
    organ_id="000.00.00.G22",
    organ_name="Văn phòng Chính phủ",
    organization_in_charge="Văn phòng Chính phủ",
    organ_add="Số 1 Hoàng Hoa Thám, Ba Đình, Hà Nội",
    email="vpcp@example.gov.vn",
    telephone="024 0000 0000",
)
RECIPIENT = Organization(organ_id="000.00.00.H41", organ_name="UBND tỉnh Nghệ An")
RECIPIENT_QD20 = Organization(organ_id="H55.242", organ_name="UBND xã thử nghiệm")
STAFF = StaffInfo("Văn thư", "Nguyễn Văn A", "vanthu@example.gov.vn", "0900000000")
PREVIOUS_ID = "000.00.00.G22,2024/05/02,101/VPCP-TTĐT"
FILE_BYTES = b"%PDF-1.4\n% edoc-axis example attachment\n"

DocumentFactory = Callable[..., DocumentPackage]
StatusFactory = Callable[..., StatusPackage]


def business_for(doc_type: BusinessDocType) -> Business:
    """A ``Bussiness`` block that is valid for ``doc_type``."""
    reasons = {0: "Văn bản mới", 1: "Thu hồi", 2: "Cập nhật", 3: "Thay thế"}
    infos: tuple[BusinessDocumentInfo, ...] = ()
    replacements: tuple[ReplacementInfo, ...] = ()
    if doc_type is BusinessDocType.UPDATE:
        receivers = (Receiver("000.00.00.H14", 0), Receiver("000.00.00.H41", 1))
        infos = (BusinessDocumentInfo(1, 1, receivers),)
    if doc_type is BusinessDocType.REPLACE:
        replacements = (ReplacementInfo(PREVIOUS_ID, ("000.00.00.H41", "H55.242")),)
    return Business(
        doc_type=doc_type,
        reason=reasons[int(doc_type)],
        document_id=None if doc_type is BusinessDocType.NEW else PREVIOUS_ID,
        paper=0,
        document_infos=infos,
        replacement_infos=replacements,
        staff_infos=(STAFF,),
    )


def make_document(
    doc_type: BusinessDocType = BusinessDocType.NEW, *, attachment: bool = True
) -> DocumentPackage:
    """A complete document package of the given business type."""
    attachments = (
        (
            Attachment.from_bytes(
                "cid:1", "to-trinh.pdf", FILE_BYTES, content_type="application/pdf"
            ),
        )
        if attachment
        else ()
    )
    return DocumentPackage(
        sender=SENDER,
        recipients=(RECIPIENT, RECIPIENT_QD20),
        document_id=f"000.00.00.G22,2024/05/06,{120 + int(doc_type)}/VPCP-TTĐT",
        code=DocumentCode(str(120 + int(doc_type)), "VPCP-TTĐT"),
        promulgation=PromulgationInfo("Hà Nội", date(2024, 5, 6)),
        document_type=DocumentType(1, "Công văn", 0),
        subject="V/v thử nghiệm trục liên thông",
        content="Nội dung & <ký tự> đặc biệt",
        signer_info=SignerInfo("KT. BỘ TRƯỞNG", "Thứ trưởng", "Trần Văn B"),
        due_date=date(2024, 6, 1),
        to_places=("Như trên", "Lưu: VT"),
        other_info=OtherInfo(0, "Liên thông văn bản quốc gia", "TVC", 2, 3, False, ("Phụ lục I",)),
        response_for=(),
        steering_type=1,
        trace_headers=(TraceHeader("000.00.00.G22", datetime(2024, 5, 6, 9, 30, 0)),),
        business=business_for(doc_type),
        manifest=tuple(a.manifest_reference() for a in attachments),
        attachments=attachments,
    )


def make_status(code: StatusCode = StatusCode.ACCEPTED) -> StatusPackage:
    """A status package answering the NEW example document."""
    return StatusPackage(
        sender=RECIPIENT,
        response_for=ResponseFor(
            "000.00.00.G22",
            "120/VPCP-TTĐT",
            "000.00.00.G22,2024/05/06,120/VPCP-TTĐT",
            date(2024, 5, 6),
        ),
        status_code=code,
        timestamp=datetime(2024, 5, 6, 10, 15, 42),
        description=f"Trạng thái {code.value}",
        staff_info=STAFF,
    )


@pytest.fixture
def samples() -> Path:
    """The reference SDK sample folder (copied into tests/data, see its README)."""
    return SAMPLES
