"""Readers for the small composite elements shared by documents and statuses."""

from __future__ import annotations

from lxml import etree

from ._tree import Node, agency_code, bool_value, date_value, int_value, where
from .interop import Reading
from .model import (
    DocumentCode,
    DocumentType,
    Organization,
    OtherInfo,
    PromulgationInfo,
    ResponseFor,
    SignerInfo,
    StaffInfo,
)

_ORGANIZATION = frozenset(
    {
        "OrganId", "OrganName", "OrganizationInCharge", "OrganAdd", "Email", "Telephone",
        "Fax", "Website",
    }
)  # fmt: skip
_OTHER_INFO = frozenset(
    {
        "Priority", "SphereOfPromulgation", "TyperNotation", "PromulgationAmount",
        "PageAmount", "Direction", "Appendixes",
    }
)  # fmt: skip
_CODE = frozenset({"CodeNumber", "CodeNotation"})
_PROMULGATION = frozenset({"Place", "PromulgationDate"})
_DOCUMENT_TYPE = frozenset({"Type", "TypeDetail", "TypeName"})
_SIGNER_INFO = frozenset({"Competence", "Position", "FullName"})
_APPENDIXES = frozenset({"Appendix"})
_RESPONSE_FOR = frozenset({"OrganId", "Code", "DocumentId", "PromulgationDate"})
_STAFF_INFO = frozenset({"Department", "Staff", "Email", "Mobile"})


def organization(el: etree._Element, reading: Reading) -> Organization:
    """``From`` or ``To``; the ``OrganId`` must be a usable agency code.

    ``OrganName`` is required unless ``reading`` tolerates its absence.
    """
    node = Node(el, _ORGANIZATION)
    organ_id = agency_code(node.one("OrganId"), reading)
    organ_name = node.opt_text("OrganName")
    if organ_name is None:
        if not reading.tolerances.missing_organ_name:
            node.one("OrganName")  # raises: names the missing element
        reading.tolerated(where(el), "no OrganName", "missing_organ_name")
    return Organization(
        organ_id=organ_id,
        organ_name=organ_name,
        organization_in_charge=node.opt_text("OrganizationInCharge"),
        organ_add=node.opt_text("OrganAdd"),
        email=node.opt_text("Email"),
        telephone=node.opt_text("Telephone"),
        fax=node.opt_text("Fax"),
        website=node.opt_text("Website"),
        extra=node.extra(),
    )


def document_code(el: etree._Element) -> DocumentCode:
    """``Code`` with ``CodeNumber`` and ``CodeNotation``."""
    node = Node(el, _CODE)
    return DocumentCode(node.text("CodeNumber"), node.text("CodeNotation"), node.extra())


def promulgation_info(el: etree._Element) -> PromulgationInfo:
    """``PromulgationInfo`` with ``Place`` and ``PromulgationDate``."""
    node = Node(el, _PROMULGATION)
    return PromulgationInfo(
        node.text("Place"), date_value(node.one("PromulgationDate")), node.extra()
    )


def document_type(el: etree._Element) -> DocumentType:
    """``DocumentType`` with ``Type``, ``TypeName`` and an optional ``TypeDetail``."""
    node = Node(el, _DOCUMENT_TYPE)
    return DocumentType(
        type=int_value(node.one("Type")),
        type_name=node.text("TypeName"),
        type_detail=node.opt_int("TypeDetail"),
        extra=node.extra(),
    )


def signer_info(el: etree._Element) -> SignerInfo:
    """``SignerInfo``: all children optional."""
    node = Node(el, _SIGNER_INFO)
    return SignerInfo(
        competence=node.opt_text("Competence"),
        position=node.opt_text("Position"),
        full_name=node.opt_text("FullName"),
        extra=node.extra(),
    )


def other_info(el: etree._Element) -> OtherInfo:
    """``OtherInfo``: priority 0..4, printing details and appendixes."""
    node = Node(el, _OTHER_INFO)
    direction = node.opt("Direction")
    appendixes = node.opt("Appendixes")
    return OtherInfo(
        priority=node.opt_int("Priority", range(5)),
        sphere_of_promulgation=node.opt_text("SphereOfPromulgation"),
        typer_notation=node.opt_text("TyperNotation"),
        promulgation_amount=node.opt_int("PromulgationAmount"),
        page_amount=node.opt_int("PageAmount"),
        direction=None if direction is None else bool_value(direction),
        appendixes=() if appendixes is None else Node(appendixes, _APPENDIXES).texts("Appendix"),
        extra=node.extra(),
    )


def response_for(el: etree._Element, reading: Reading) -> ResponseFor:
    """``ResponseFor``: the answered document; ``Code`` is "number/notation" text."""
    node = Node(el, _RESPONSE_FOR)
    return ResponseFor(
        organ_id=agency_code(node.one("OrganId"), reading),
        code=node.text("Code"),
        document_id=node.token("DocumentId"),
        promulgation_date=node.opt_date("PromulgationDate"),
        extra=node.extra(),
    )


def staff_info(el: etree._Element) -> StaffInfo:
    """``StaffInfo``: the handling clerk, all children optional."""
    node = Node(el, _STAFF_INFO)
    return StaffInfo(
        department=node.opt_text("Department"),
        staff=node.opt_text("Staff"),
        email=node.opt_text("Email"),
        mobile=node.opt_text("Mobile"),
        extra=node.extra(),
    )
