"""Validation against ``schemas/edxml.xsd`` (compiled once, on first use)."""

from __future__ import annotations

import re
import threading
from importlib import resources

from lxml import etree

from edoc_axis.errors import SchemaInvalid

from .interop import STRICT, Tolerances
from .namespaces import EDXML_NS, qname
from .safexml import log_entries

_lock = threading.Lock()
_compiled: dict[bool, etree.XMLSchema] = {}
# The interop form of the XSD: OrganId is any token of up to 35 characters, so
# that the reader, not the schema, judges codes by the interop tolerances
# (lower case, a TraceHeader's empty or "null" OrganId) and names the switch.
_STRICT_CODE = '<xs:pattern value="[A-Z0-9.]{1,35}"/>'
_LOOSE_CODE = '<xs:maxLength value="35"/>'
_CLARK = re.compile(r"\{[^}]*\}")
_ELEMENT = re.compile(r"^Element '([^']*)'(?:, attribute '[^']*')?: ")


def schema_bytes() -> bytes:
    """The packaged XSD text."""
    return (resources.files("edoc_axis") / "schemas" / "edxml.xsd").read_bytes()


def _schema(loose_organ_ids: bool = False) -> etree.XMLSchema:
    compiled = _compiled.get(loose_organ_ids)
    if compiled is None:
        text = schema_bytes()
        if loose_organ_ids:
            assert text.count(_STRICT_CODE.encode()) == 1, "AgencyCodeType changed in the XSD"
            text = text.replace(_STRICT_CODE.encode(), _LOOSE_CODE.encode())
        # Our own file, but parsed with the same no-entities, no-network switches.
        parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
        compiled = _compiled[loose_organ_ids] = etree.XMLSchema(
            etree.fromstring(text, parser=parser)
        )
    return compiled


def _message(line: int, message: str) -> str:
    text = _CLARK.sub("", message)
    found = _ELEMENT.match(text)
    element = found.group(1) if found else "edXML"
    detail = text[found.end() :] if found else text
    return f"{element} at line {line}: {detail}"


def validate(root: etree._Element, tolerances: Tolerances = STRICT) -> None:
    """Check a parsed package against the edXML schema.

    Raises ``SchemaInvalid("<element> at line N: message")`` from the first error.
    The strict form is the XSD as written; tolerances about agency codes use its
    interop form, and the reader then checks every OrganId itself.
    """
    if root.tag != qname("edXML"):
        local = etree.QName(root).localname
        raise SchemaInvalid(
            f"{local} at line {root.sourceline}: the root element must be edXML "
            f"in namespace {EDXML_NS}"
        )
    # One compiled schema is shared; its error log is per object, so validation
    # is serialised to keep each caller's first error its own.
    with _lock:
        schema = _schema(tolerances.loose_organ_ids)
        if schema.validate(root):
            return
        entries = log_entries(schema.error_log)
    if not entries:
        raise SchemaInvalid(f"edXML at line {root.sourceline}: not a valid edXML package")
    line, _column, message = entries[0]
    raise SchemaInvalid(_message(line, message))
