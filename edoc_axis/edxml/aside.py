"""Large attachment texts left in the package's bytes while the package is examined.

A package carrying a 50 MiB attachment would otherwise hold it three times
during intake: the body, the parsed tree and, while the model checks the
base64 or the digest reads the node, one more ``str`` copy. Here the tree
holds a marker in its place and the text is read from the body itself: the
schema sees the marker, ``check_aside`` then makes the schema's
``xs:base64Binary`` check (and the model's) on the text, and the signature's
digest hashes it from the body (``signature.pieces``).
"""

from __future__ import annotations

from collections.abc import Mapping

from lxml import etree

from edoc_axis.errors import SchemaInvalid

from .attachments import check_base64_binary
from .interop import Tolerances
from .model import Package
from .namespaces import qname
from .parser import attachment_text_elements, package_from_tree
from .safexml import XmlLimits, safe_parse_setting_aside
from .schema import validate

ATTACHMENT_TEXT = qname("ContentTransferEncoded")


def parse_setting_aside(
    raw: bytes, limits: XmlLimits
) -> tuple[etree._Element, dict[str, memoryview]]:
    """The tree with each large attachment text replaced by a marker, and marker -> text.

    Read a model from this tree only with ``keep_attachment_text=False``
    (the marker is not the text). Documents of 1 MiB or less, and any
    document whose large texts are not all attachments' whole content, come
    back parsed whole with an empty map.
    """
    return safe_parse_setting_aside(raw, limits, frozenset({ATTACHMENT_TEXT}))


def check_aside(root: etree._Element, aside: Mapping[str, memoryview]) -> None:
    """The schema's check of each text set aside: ``schema.invalid`` unless valid base64."""
    if not aside:
        return
    for element in root.iter(ATTACHMENT_TEXT):
        text = aside.get(element.text or "")
        if text is None:
            continue
        try:
            check_base64_binary(text)
        except SchemaInvalid as exc:
            reason = exc.detail.removeprefix("ContentTransferEncoded: ")
            raise SchemaInvalid(
                f"ContentTransferEncoded at line {element.sourceline}: {reason}"
            ) from None


def attachment_texts(
    root: etree._Element, aside: Mapping[str, memoryview]
) -> list[str | memoryview]:
    """Each attachment's base64 text, in the order of ``package.attachments``: a text
    set aside as its view of the package's bytes, any other as the tree holds it.

    For a tree the model has been read from and ``check_aside`` has passed.
    """
    texts: list[str | memoryview] = []
    for element in attachment_text_elements(root):
        text = element.text or ""
        texts.append(aside.get(text, text))
    return texts


def read_setting_aside(
    raw: bytes, limits: XmlLimits, tolerances: Tolerances
) -> tuple[etree._Element, dict[str, memoryview], Package]:
    """``read_package`` for a document that may be large: the tree (for its signature),
    the texts set aside (``parse_setting_aside``) and the package, read without
    its attachments' text (``attachment_texts`` gives them).
    """
    root, aside = parse_setting_aside(raw, limits)
    validate(root, tolerances)
    check_aside(root, aside)
    package = package_from_tree(root, raw, tolerances, keep_attachment_text=False, limits=limits)
    return root, aside, package
