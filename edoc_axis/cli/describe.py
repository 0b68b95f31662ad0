"""A package described for people (`edoc show`) and machines (`--json`)."""

from __future__ import annotations

from typing import Any

from edoc_axis.edxml import DocumentPackage, StatusPackage


def _attachments(package: DocumentPackage) -> list[dict[str, Any]]:
    described = []
    for attachment in package.attachments:
        data = attachment.data()
        described.append(
            {
                "content_id": attachment.content_id,
                "name": attachment.attachment_name,
                "content_type": attachment.content_type,
                "size": len(data),
            }
        )
    return described


def describe_package(package: DocumentPackage | StatusPackage) -> dict[str, Any]:
    if isinstance(package, StatusPackage):
        return {
            "kind": "status",
            "sender": package.sender.organ_id,
            "sender_name": package.sender.organ_name,
            "status_code": package.status_code.value,
            "status": package.status_code.name.lower(),
            "about_document_id": package.response_for.document_id,
            "counterparty": package.response_for.organ_id,
            "description": package.description,
            "timestamp": package.timestamp.strftime("%Y/%m/%d %H:%M:%S"),
        }
    return {
        "kind": "document",
        "sender": package.sender.organ_id,
        "sender_name": package.sender.organ_name,
        "recipients": list(package.recipient_ids),
        "document_id": package.document_id,
        "code": f"{package.code.code_number}/{package.code.code_notation}",
        "type": package.document_type.type,
        "type_name": package.document_type.type_name,
        "subject": package.subject,
        "business_type": package.business_type.name.lower(),
        "business_type_code": int(package.business_type),
        "attachments": _attachments(package),
    }


def print_description(description: dict[str, Any]) -> None:
    for name, value in description.items():
        if name == "attachments":
            print(f"{'attachments':19} {len(value)}")
            for item in value:
                print(f"  - {item['name']} ({item['content_type']}, {item['size']} bytes)")
        elif isinstance(value, list):
            print(f"{name.replace('_', ' '):19} {', '.join(map(str, value))}")
        else:
            print(f"{name.replace('_', ' '):19} {'(none)' if value is None else value}")
