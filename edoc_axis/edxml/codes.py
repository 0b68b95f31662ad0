"""Wire values of the edXML profile: status codes, business types, agency codes.

Everything here is data plus tiny pure lookups; the server's state machine and
registry decide what to do with it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import IntEnum, StrEnum
from types import MappingProxyType
from typing import Final

from edoc_axis.errors import SchemaInvalid


class StatusCode(StrEnum):
    """The two-digit ``StatusCode`` of a status package."""

    ARRIVED = "01"
    REFUSED = "02"
    ACCEPTED = "03"
    ASSIGNED = "04"
    PROCESSING = "05"
    FINISHED = "06"
    RECALL_REQUEST = "13"
    RECALL_AGREED = "15"
    RECALL_REFUSED = "16"

    @property
    def info(self) -> StatusInfo:
        """Who may send this code, whether it is final, and its progress rank."""
        return STATUS_INFO[self]

    @property
    def is_final(self) -> bool:
        """True for 02 (refused) and 06 (finished): nothing may follow them."""
        return STATUS_INFO[self].is_final


class StatusSender(StrEnum):
    """Which party of a document may send a given status code."""

    RECIPIENT = "recipient"
    ORIGINAL_SENDER = "original-sender"


@dataclass(frozen=True)
class StatusInfo:
    """Metadata of one status code (EDXML.md, status table).

    ``progress_rank`` orders the handling progress of one delivery
    (01 < 02 = 03 < 04 < 05 < 06); ``None`` for the recall conversation
    (13/15/16), which is not a progress step.
    """

    sender: StatusSender
    is_final: bool
    progress_rank: int | None
    meaning: str


_R, _S = StatusSender.RECIPIENT, StatusSender.ORIGINAL_SENDER

STATUS_INFO: Final = MappingProxyType(
    {
        StatusCode.ARRIVED: StatusInfo(_R, False, 1, "arrived in the recipient's system"),
        StatusCode.REFUSED: StatusInfo(_R, True, 2, "refused by the clerk"),
        StatusCode.ACCEPTED: StatusInfo(_R, False, 2, "accepted and registered"),
        StatusCode.ASSIGNED: StatusInfo(_R, False, 3, "assigned for handling"),
        StatusCode.PROCESSING: StatusInfo(_R, False, 4, "being handled"),
        StatusCode.FINISHED: StatusInfo(_R, True, 5, "finished"),
        StatusCode.RECALL_REQUEST: StatusInfo(_S, False, None, "asks to recall the document"),
        StatusCode.RECALL_AGREED: StatusInfo(_R, False, None, "agrees to the recall/update"),
        StatusCode.RECALL_REFUSED: StatusInfo(_R, False, None, "refuses the recall/update"),
    }
)


class BusinessDocType(IntEnum):
    """``Bussiness/BussinessDocType``: what a document package does."""

    NEW = 0
    REVOKE = 1
    UPDATE = 2
    REPLACE = 3


class AgencyCodeForm(StrEnum):
    """The shape of an ``OrganId``."""

    QCVN102 = "qcvn102"  # DDD.DD.DD.LDD, level 1 last
    QD20 = "qd20"  # QĐ 20/2020/QĐ-TTg: level-1 code first, e.g. H55.242
    LEGACY = "legacy"  # anything else of A-Z 0-9 '.', e.g. the SDK sample's 28.22.H17


MAX_AGENCY_CODE_LENGTH: Final = 35
_QCVN102 = re.compile(r"\d{3}\.\d{2}\.\d{2}\.[A-Z]\d{2}")
_QD20 = re.compile(r"[A-Z]\d{2}(?:\.\d+)*")
_ALLOWED = re.compile(r"[A-Z0-9.]+")


def classify_agency_code(code: str, *, case_insensitive: bool = False) -> AgencyCodeForm:
    """Tell which form an agency code has; refuse one that no form allows.

    Raises ``SchemaInvalid`` for an empty code, one longer than 35 characters,
    or one with characters outside ``A-Z 0-9 .``. With ``case_insensitive``
    lower-case letters count as their upper-case form (tenant-style codes such
    as ``vxp.saas.03`` that real systems send).
    """
    checked = code.upper() if case_insensitive else code
    if not code or len(code) > MAX_AGENCY_CODE_LENGTH or not _ALLOWED.fullmatch(checked):
        letters = "A-Z a-z" if case_insensitive else "A-Z"
        raise SchemaInvalid(
            f"OrganId {code!r}: an agency code is 1 to {MAX_AGENCY_CODE_LENGTH} "
            f"characters of {letters} 0-9 '.'"
        )
    code = checked
    if _QCVN102.fullmatch(code):
        return AgencyCodeForm.QCVN102
    if _QD20.fullmatch(code):
        return AgencyCodeForm.QD20
    return AgencyCodeForm.LEGACY


def agency_level(code: str) -> int | None:
    """The administrative level an agency code names (1: a ministry or a province).

    QCVN 102 ``DDD.DD.DD.LDD`` reads right to left: level 1 is ``LDD`` and each
    non-zero group to its left is one level down (``000.00.01.H27``: 2).
    QĐ 20 grows left to right, one group per level (``H55.242``: 2). None for
    a code of neither form.
    """
    try:
        form = classify_agency_code(code)
    except SchemaInvalid:
        return None
    groups = code.split(".")
    if form == AgencyCodeForm.QD20:
        return len(groups)
    if form != AgencyCodeForm.QCVN102:
        return None
    level = 1
    for group in reversed(groups[:-1]):
        if int(group) == 0:
            break
        level += 1
    return level
