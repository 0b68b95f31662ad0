"""Who a document goes to and what a business message acts on (core/routing.py)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from edoc_axis.core.routing import (
    acts_under_its_target_id,
    idempotency_key,
    referenced_documents,
    routing_targets,
)
from edoc_axis.edxml import BusinessDocType, DocumentPackage
from edoc_axis.edxml.model import (
    Business,
    BusinessDocumentInfo,
    DocumentCode,
    DocumentType,
    Organization,
    PromulgationInfo,
    Receiver,
    ReplacementInfo,
)

DOC_ID = "000.00.00.G22,2026/01/02,7816/VPCP-TTĐT"
SHA = "ab" * 32


def package(*recipients: str, business: Business | None = None) -> DocumentPackage:
    return DocumentPackage(
        sender=Organization("000.00.00.G22", "Văn phòng Chính phủ"),
        recipients=tuple(Organization(code, f"Agency {code}") for code in recipients),
        document_id=DOC_ID,
        code=DocumentCode("7816", "VPCP-TTĐT"),
        promulgation=PromulgationInfo("Hà Nội", date(2026, 1, 2)),
        document_type=DocumentType(1, "Công văn"),
        subject="V/v thử nghiệm",
        business=business,
    )


def test_a_new_document_goes_to_each_recipient_once_in_envelope_order() -> None:
    pkg = package("B", "A", "B", "C", "A")
    assert routing_targets(pkg) == ("B", "A", "C")


def test_an_update_also_goes_to_every_agency_its_receiver_list_names() -> None:
    infos = (
        BusinessDocumentInfo(receivers=(Receiver("D", 1), Receiver("A", 1))),
        BusinessDocumentInfo(receivers=(Receiver("E", 2),)),  # removed: told so
    )
    pkg = package("A", "B", business=Business(BusinessDocType.UPDATE, document_infos=infos))
    assert routing_targets(pkg) == ("A", "B", "D", "E")


@pytest.mark.parametrize("doc_type", [BusinessDocType.REVOKE, BusinessDocType.REPLACE])
def test_only_an_update_adds_receiver_list_targets(doc_type: BusinessDocType) -> None:
    infos = (BusinessDocumentInfo(receivers=(Receiver("D", 1),)),)
    pkg = package("A", business=Business(doc_type, document_infos=infos))
    assert routing_targets(pkg) == ("A",)


def test_a_new_document_references_nothing() -> None:
    assert referenced_documents(package("A")) == ()
    assert referenced_documents(package("A", business=Business(BusinessDocType.NEW))) == ()


def test_a_revoke_without_its_own_target_id_acts_on_the_package_document_id() -> None:
    pkg = package("A", business=Business(BusinessDocType.REVOKE))
    assert referenced_documents(pkg) == (DOC_ID,)
    assert acts_under_its_target_id(pkg)


def test_an_update_naming_another_document_acts_on_that_one() -> None:
    pkg = package("A", business=Business(BusinessDocType.UPDATE, document_id="OTHER"))
    assert referenced_documents(pkg) == ("OTHER",)
    assert not acts_under_its_target_id(pkg)


def test_a_replacement_acts_on_every_document_it_replaces() -> None:
    infos = (ReplacementInfo("OLD-1", ("A",)), ReplacementInfo("OLD-2"))
    pkg = package("A", business=Business(BusinessDocType.REPLACE, replacement_infos=infos))
    assert referenced_documents(pkg) == ("OLD-1", "OLD-2")
    # A replacement is a document of its own, even if it names its own id.
    same = replace(
        pkg,
        business=Business(BusinessDocType.REPLACE, replacement_infos=(ReplacementInfo(DOC_ID),)),
    )
    assert not acts_under_its_target_id(same)


def test_documents_are_keyed_by_document_id_whatever_their_content() -> None:
    assert idempotency_key(package("A"), SHA) == DOC_ID
    assert idempotency_key(package("A"), "cd" * 32) == DOC_ID
    replacement = package(
        "A", business=Business(BusinessDocType.REPLACE, replacement_infos=(ReplacementInfo("X"),))
    )
    assert idempotency_key(replacement, SHA) == DOC_ID


@pytest.mark.parametrize("doc_type", [BusinessDocType.REVOKE, BusinessDocType.UPDATE])
def test_a_message_under_its_target_id_is_keyed_by_type_and_content(
    doc_type: BusinessDocType,
) -> None:
    pkg = package("A", business=Business(doc_type, document_id=DOC_ID))
    key = idempotency_key(pkg, SHA)
    assert key == f"{DOC_ID}#{int(doc_type)}:{SHA}"
    assert key != idempotency_key(pkg, "cd" * 32)  # another revoke/update of it
    assert key != DOC_ID  # never the document's own key
