"""Validation against ``schemas/edxml.xsd`` (compiled once, on first use)."""

from __future__ import annotations

import re
import threading
from importlib import resources

from lxml import etree

from edoc_axis.errors import SchemaInvalid

from .namespaces import EDXML_NS, qname
from .safexml import log_entries

_lock = threading.Lock()
_compiled: etree.XMLSchema | None = None
_CLARK = re.compile(r"\{[^}]*\}")
_ELEMENT = re.compile(r"^Element '([^']*)'(?:, attribute '[^']*')?: ")


def schema_bytes() -> bytes:
    """The packaged XSD text."""
    return (resources.files("edoc_axis") / "schemas" / "edxml.xsd").read_bytes()


def _schema() -> etree.XMLSchema:
    global _compiled
    if _compiled is None:
        # Our own file, but parsed with the same no-entities, no-network switches.
        parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
        _compiled = etree.XMLSchema(etree.fromstring(schema_bytes(), parser=parser))
    return _compiled


def _message(line: int, message: str) -> str:
    text = _CLARK.sub("", message)
    found = _ELEMENT.match(text)
    element = found.group(1) if found else "edXML"
    detail = text[found.end() :] if found else text
    return f"{element} at line {line}: {detail}"


def validate(root: etree._Element) -> None:
    """Check a parsed package against the edXML schema.

    Raises ``SchemaInvalid("<element> at line N: message")`` from the first error.
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
        schema = _schema()
        if schema.validate(root):
            return
        entries = log_entries(schema.error_log)
    if not entries:
        raise SchemaInvalid(f"edXML at line {root.sourceline}: not a valid edXML package")
    line, _column, message = entries[0]
    raise SchemaInvalid(_message(line, message))
