"""A package described for people (`edoc show`) and machines (`--json`)."""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from edoc_axis.cli.receive_store import AttachmentText, write_attachment
from edoc_axis.edxml import DocumentPackage, StatusPackage


def _attachments(package: DocumentPackage, texts: Sequence[AttachmentText]) -> list[dict[str, Any]]:
    described = []
    for attachment, text in zip(package.attachments, texts, strict=True):
        size = _Counted()
        with tempfile.TemporaryDirectory(prefix="edoc-show-") as scratch:
            write_attachment(text, attachment.attachment_name, Path(scratch), size)
        described.append(
            {
                "content_id": attachment.content_id,
                "name": attachment.attachment_name,
                "content_type": attachment.content_type,
                "size": size.count,
            }
        )
    return described


class _Counted:
    """Takes bytes and keeps nothing but their number."""

    def __init__(self) -> None:
        self.count = 0

    def write(self, data: bytes, /) -> int:
        self.count += len(data)
        return len(data)


def describe_package(
    package: DocumentPackage | StatusPackage, texts: Sequence[AttachmentText] = ()
) -> dict[str, Any]:
    """``texts``: each attachment's base64 text (``edxml.aside.attachment_texts``); the
    size shown is the file's, counted a piece at a time as ``edoc receive`` writes it."""
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
        "attachments": _attachments(package, texts),
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
