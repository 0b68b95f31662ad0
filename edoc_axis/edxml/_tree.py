"""Reading helpers shared by the parser: children by name, typed values, extras.

Every error names the element and its source line, as ``SchemaInvalid``
messages must.
"""

from __future__ import annotations

import re
from datetime import date, datetime

from lxml import etree

from edoc_axis.errors import SchemaInvalid

from .codes import classify_agency_code
from .interop import Reading
from .model import Extra
from .namespaces import EDXML_NS, EDXML_PREFIX

DATE_FORMAT = "%Y/%m/%d"
TIMESTAMP_FORMAT = "%Y/%m/%d %H:%M:%S"
# The common, zero-padded forms of the two formats above, read without strptime;
# anything else (e.g. "2026/1/2") still goes through strptime, so what is accepted
# and refused stays exactly strptime's.
_DATE_FAST = re.compile(r"([0-9]{4})/([0-9]{2})/([0-9]{2})")
_TIMESTAMP_FAST = re.compile(r"([0-9]{4})/([0-9]{2})/([0-9]{2}) ([0-9]{2}):([0-9]{2}):([0-9]{2})")

_EDXML_TAG_PREFIX = f"{{{EDXML_NS}}}"
# known local names -> {"{edXML namespace}name": "name"}, built once per set.
_TAG_MAPS: dict[frozenset[str], dict[str, str]] = {}


def local_name(el: etree._Element) -> str:
    """The element's local name (no namespace)."""
    return etree.QName(el).localname


def where(el: etree._Element) -> str:
    """``"<local name> at line N"`` for error messages."""
    return f"{local_name(el)} at line {el.sourceline}"


class Node:
    """The children of one element grouped by local name.

    Children in the edXML namespace whose local name is in ``known`` are
    addressable; everything else (other names, other namespaces) is extra.
    """

    def __init__(self, el: etree._Element, known: frozenset[str]) -> None:
        self.el = el
        tags = _TAG_MAPS.get(known)
        if tags is None:
            tags = _TAG_MAPS[known] = {_EDXML_TAG_PREFIX + name: name for name in known}
        named: dict[str, list[etree._Element]] = {}
        extra: list[etree._Element] = []
        for child in el:
            tag = child.tag
            # Comments, processing instructions and entities have a non-str tag:
            # never in ``tags``, and skipped, since they carry nothing the model keeps.
            name = tags.get(tag)
            if name is not None:
                found = named.get(name)
                if found is None:
                    named[name] = [child]
                else:
                    found.append(child)
            elif isinstance(tag, str):
                extra.append(child)
        self._named = named
        self._extra = extra

    def many(self, name: str) -> list[etree._Element]:
        """Every child called ``name``, in document order."""
        return self._named.get(name, [])

    def opt(self, name: str) -> etree._Element | None:
        """The one child called ``name`` or None; refuses a repeated one."""
        found = self._named.get(name)
        if found is None:
            return None
        if len(found) > 1:
            raise SchemaInvalid(
                f"{where(found[1])}: {name} may appear only once in {where(self.el)}"
            )
        return found[0]

    def one(self, name: str) -> etree._Element:
        """The one required child called ``name``."""
        found = self.opt(name)
        if found is None:
            raise SchemaInvalid(f"{where(self.el)}: required element {name} is missing")
        return found

    def text(self, name: str) -> str:
        """Text of a required child, exactly as written ("" when empty)."""
        return self.one(name).text or ""

    def opt_text(self, name: str) -> str | None:
        """Text of an optional child; "" when present but empty."""
        el = self.opt(name)
        return None if el is None else el.text or ""

    def token(self, name: str) -> str:
        """Text of a required identifier child, surrounding whitespace removed."""
        return self.text(name).strip()

    def opt_token(self, name: str) -> str | None:
        """Text of an optional identifier child, surrounding whitespace removed."""
        text = self.opt_text(name)
        return None if text is None else text.strip()

    def texts(self, name: str) -> tuple[str, ...]:
        """Texts of every child called ``name``."""
        return tuple(el.text or "" for el in self.many(name))

    def tokens(self, name: str) -> tuple[str, ...]:
        """Stripped texts of every child called ``name``."""
        return tuple(text.strip() for text in self.texts(name))

    def opt_int(self, name: str, allowed: range | None = None) -> int | None:
        """An optional integer child, optionally within ``allowed``."""
        el = self.opt(name)
        return None if el is None else int_value(el, allowed)

    def opt_date(self, name: str) -> date | None:
        """An optional ``yyyy/MM/dd`` child."""
        el = self.opt(name)
        return None if el is None else date_value(el)

    def extra(self) -> Extra:
        """The unknown children as canonical bytes, in document order."""
        return tuple(canonical_extra(el) for el in self._extra)


def int_value(el: etree._Element, allowed: range | None = None) -> int:
    """The element's text as an int (within ``allowed`` when given)."""
    text = (el.text or "").strip()
    try:
        value = int(text)
    except ValueError:
        raise SchemaInvalid(f"{where(el)}: {text!r} is not an integer") from None
    if allowed is not None and value not in allowed:
        raise SchemaInvalid(f"{where(el)}: {value} is outside {allowed.start}..{allowed.stop - 1}")
    return value


def date_value(el: etree._Element) -> date:
    """The element's text as a ``yyyy/MM/dd`` date."""
    text = (el.text or "").strip()
    try:
        fast = _DATE_FAST.fullmatch(text)
        if fast is not None:
            return date(int(fast[1]), int(fast[2]), int(fast[3]))
        return datetime.strptime(text, DATE_FORMAT).date()
    except ValueError:
        raise SchemaInvalid(f"{where(el)}: {text!r} is not a date yyyy/MM/dd") from None


def timestamp_value(el: etree._Element) -> datetime:
    """The element's text as a naive ``yyyy/MM/dd HH:mm:ss`` timestamp (Vietnam time)."""
    text = (el.text or "").strip()
    try:
        fast = _TIMESTAMP_FAST.fullmatch(text)
        if fast is not None:
            year, month, day, hour, minute, second = map(int, fast.groups())
            return datetime(year, month, day, hour, minute, second)
        return datetime.strptime(text, TIMESTAMP_FORMAT)
    except ValueError:
        raise SchemaInvalid(
            f"{where(el)}: {text!r} is not a timestamp yyyy/MM/dd HH:mm:ss"
        ) from None


def bool_value(el: etree._Element) -> bool:
    """``true``/``false`` (or ``1``/``0``) as a bool."""
    text = (el.text or "").strip().lower()
    if text in ("true", "1"):
        return True
    if text in ("false", "0"):
        return False
    raise SchemaInvalid(f"{where(el)}: {text!r} is not true or false")


def agency_code(el: etree._Element, reading: Reading, *, trace: bool = False) -> str:
    """An ``OrganId`` that routing can use: one of the known code forms.

    What ``reading``'s tolerances let through is returned as written, with a
    warning: a code not in upper case, and (``trace``) a TraceHeader's empty
    or ``null`` OrganId, which names no agency and is never routed on.
    """
    tolerances = reading.tolerances
    code = (el.text or "").strip()
    if trace and code in ("", "null"):
        if not tolerances.null_trace_organ_id:
            raise SchemaInvalid(f"{where(el)}: {code!r} is not an agency code")
        what = f"OrganId {code!r} names no agency; kept, not used for routing"
        reading.tolerated(where(el), what, "null_trace_organ_id")
        return code
    try:
        classify_agency_code(code, case_insensitive=tolerances.case_insensitive_codes)
    except SchemaInvalid as exc:
        raise SchemaInvalid(f"{where(el)}: {exc.detail}") from None
    if code != code.upper():
        what = f"agency code {code!r} is not in upper case; compared as {code.upper()!r}"
        reading.tolerated(where(el), what, "case_insensitive_codes")
    return code


def canonical_extra(el: etree._Element) -> bytes:
    """An unknown element as stable bytes, whatever its prefixes or indentation were.

    The edXML namespace is bound to ``edXML`` and whitespace-only text between
    elements is dropped, so that what the builder writes (re-indented, maybe
    re-prefixed by lxml) reads back to the same bytes.
    """
    # The element's in-scope namespaces, then each declaration made below it
    # in document order (what asking every descendant for its nsmap gives,
    # without reading the whole in-scope set per descendant).
    nsmap: dict[str | None, str] = {}
    declared = [(p, u) for p, u in el.nsmap.items()]
    for _event, (prefix, uri) in etree.iterwalk(el, events=("start-ns",)):
        declared.append((prefix or None, uri))
    for prefix, uri in declared:
        if uri != EDXML_NS and prefix != EDXML_PREFIX:
            nsmap.setdefault(prefix, uri)
    nsmap[EDXML_PREFIX] = EDXML_NS
    copy = etree.Element(el.tag, attrib=_attributes(el), nsmap=nsmap)  # type: ignore[arg-type]
    _copy_into(el, copy)
    return etree.tostring(copy, method="c14n", exclusive=True)


def _copy_into(src: etree._Element, dst: etree._Element) -> None:
    # Attributes are given when each copy is created: setting them one by one
    # searches the attributes already set, quadratic in their number.
    children = [child for child in src if isinstance(child.tag, str)]
    dst.text = src.text if not children or (src.text or "").strip() else None
    for child in children:
        sub = etree.SubElement(dst, child.tag, attrib=_attributes(child))
        _copy_into(child, sub)
        sub.tail = child.tail if (child.tail or "").strip() else None


def _attributes(el: etree._Element) -> dict[str, str]:
    return {str(name): str(value) for name, value in el.attrib.items()}
