"""Safe XML intake: the only way bytes from outside become an lxml tree.

The parser never resolves entities, never loads a DTD and never touches the
network or the file system. On top of lxml's own switches we refuse, before or
while parsing, every construct the edXML profile has no use for: any DOCTYPE
(and with it every entity declaration), processing instructions, XInclude,
and documents that are too big, too deep or have too many elements,
attributes, namespace declarations or comments.

Every check here costs time linear in the input, whatever its shape, and the
limits exist where what comes after parsing is not linear: libxml2's
inclusive C14N costs (namespaces in scope)^2 per element and sorts each
element's attributes by insertion, so those two are bounded per element.
Text nodes need no limit of their own: libxml2 merges adjacent character data
(character references and CDATA sections included), so there are at most
elements + comments + 1 of them.
"""

from __future__ import annotations

import itertools
import re
import secrets
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, cast

from lxml import etree

from edoc_axis.errors import PayloadTooLarge, XmlForbidden, XmlMalformed

from .namespaces import XINCLUDE_NS, XINCLUDE_OLD_NS

_UTF8_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_WHITESPACE = b" \t\r\n"
_DECL_END = (b" ", b"\t", b"\r", b"\n", b"?")
_XML_DECL = re.compile(rb"<\?xml[ \t\r\n][^>]*?\?>")
_ENCODING = re.compile(rb"""encoding[ \t\r\n]*=[ \t\r\n]*["']([^"']*)["']""")
_PI_TARGET = re.compile(rb"<\?([^ \t\r\n?>]{0,64})")
_UTF8_NAMES = frozenset({"utf-8", "utf8"})
_CHUNK = 64 * 1024
# Up to this size a document is parsed in one C call and the limits are checked
# on the tree: its element count and depth are bounded by its size anyway.
# Bigger ones stream through the guard, which stops the parse at the limit.
_ONE_SHOT_MAX = 1024 * 1024
_XINCLUDE = (f"{{{XINCLUDE_NS}}}", f"{{{XINCLUDE_OLD_NS}}}")
_XMLNS = b"xmlns"
# Text runs of this many bytes or more may be left out of the tree
# (safe_parse_setting_aside); more than _ONE_SHOT_MAX, so only streamed
# documents can hold one.
SET_ASIDE_MIN = _ONE_SHOT_MAX + 1


@dataclass(frozen=True)
class XmlLimits:
    """Bounds on one XML document; each is enforced while the bytes are parsed."""

    max_bytes: int = 64 * 1024 * 1024
    max_depth: int = 64
    max_elements: int = 200_000
    # Attributes on one element: C14N sorts them by insertion (quadratic per element).
    max_attributes: int = 64
    # Namespace declarations in scope at one element (its own plus its
    # ancestors'): inclusive C14N costs their square for every element.
    max_namespaces_in_scope: int = 16
    # Namespace declarations in the whole document.
    max_namespace_declarations: int = 64
    # Comments anywhere in the document (C14N drops them; nothing uses them).
    max_comments: int = 10_000


def _line_of(data: bytes, pos: int) -> int:
    return data.count(b"\n", 0, pos) + 1


def _check_encoding(data: bytes) -> None:
    if data.startswith(_UTF16_BOMS) or b"\x00" in data[:4]:
        raise XmlMalformed("encoding at line 1: UTF-16/UTF-32 input is refused; send UTF-8")
    decl = _XML_DECL.match(data)
    if decl is None:
        return
    found = _ENCODING.search(decl.group(0))
    if found is not None and found.group(1).decode("ascii", "replace").lower() not in _UTF8_NAMES:
        name = found.group(1).decode("ascii", "replace")
        raise XmlMalformed(f"XML declaration at line 1: encoding {name!r} refused; send UTF-8")


def _doctype_message(data: bytes, pos: int) -> str:
    # Only for the message: say whether the DTD declares entities or points outside.
    end = data.find(b"]>", pos)
    if end == -1:
        end = data.find(b">", pos)
    subset = data[pos : end if end != -1 else len(data)]
    what = "DOCTYPE declaration"
    if b"<!ENTITY" in subset:
        what = "DOCTYPE with ENTITY declaration"
    elif b"SYSTEM" in subset or b"PUBLIC" in subset:
        what = "DOCTYPE with external DTD"
    return f"{what} at line {_line_of(data, pos)} is forbidden (no DTDs or entities accepted)"


def _check_prolog(data: bytes) -> None:
    """Walk the prolog by hand: only the XML declaration, comments and whitespace."""
    pos = 0
    decl = _XML_DECL.match(data)
    if decl is not None:
        pos = decl.end()
    while pos < len(data):
        if data[pos] in _WHITESPACE:
            pos += 1
        elif data.startswith(b"<!--", pos):
            end = data.find(b"-->", pos + 4)
            if end == -1:
                return  # unterminated comment: the parser reports it precisely
            pos = end + 3
        elif data.startswith(b"<!DOCTYPE", pos):
            raise XmlForbidden(_doctype_message(data, pos))
        elif data.startswith(b"<?xml", pos) and data[pos + 5 : pos + 6] in _DECL_END:
            raise XmlMalformed(
                f"XML declaration at line {_line_of(data, pos)} is not at the start of the document"
            )
        elif data.startswith(b"<?", pos):
            target = _PI_TARGET.match(data, pos)
            name = target.group(1).decode("utf-8", "replace") if target else ""
            raise XmlForbidden(
                f"processing instruction <?{name}?> at line {_line_of(data, pos)} is forbidden"
            )
        elif data.startswith(b"<", pos):
            return
        else:
            snippet = data[pos : pos + 16]
            raise XmlMalformed(
                f"content before the root element at line {_line_of(data, pos)}: {snippet!r}"
            )


def log_entries(log: object) -> list[tuple[int, int, str]]:
    """``(line, column, message)`` of each entry of an lxml error log."""
    # lxml-stubs does not declare the error log iterable; it is at runtime.
    entries = cast("Iterable[Any]", log)
    return [(int(e.line), int(e.column), str(e.message)) for e in entries]


def _syntax_message(exc: etree.XMLSyntaxError) -> str:
    # lxml keeps a thread-local log; it was cleared before parsing, so its first
    # entry is the earliest problem (the exception text can be a generic
    # "no element found" at line 0 when libxml2 carried on after the real error).
    for line, column, message in log_entries(exc.error_log):
        return f"not well-formed at line {line}, column {column}: {message}"
    line = exc.position[0] if exc.position else 0
    return f"not well-formed at line {line}: {exc.msg}"


class _Guard:
    """Counts depth, elements, attributes, namespaces and comments as parse events arrive."""

    def __init__(self, limits: XmlLimits) -> None:
        self.limits = limits
        self.depth = 0
        self.elements = 0
        self.comments = 0
        self.namespaces = _NamespaceCount(limits)

    def event(self, kind: str, node: object) -> None:
        if kind == "end":
            self.depth -= 1
        elif kind == "start-ns":
            self.namespaces.declared()
        elif kind == "end-ns":
            self.namespaces.out_of_scope()
        elif not isinstance(node, etree._Element):
            return
        elif kind == "pi":
            raise XmlForbidden(f"processing instruction at line {node.sourceline} is forbidden")
        elif kind == "comment":
            self._comment(node.sourceline)
        else:
            self._start(node)

    def _comment(self, line: object) -> None:
        self.comments += 1
        if self.comments > self.limits.max_comments:
            raise XmlForbidden(_too_many_comments(line, self.limits))

    def _start(self, node: etree._Element) -> None:
        """An element begins: every limit is checked here, each in constant time."""
        line = node.sourceline
        self.namespaces.check(line)
        self.depth += 1
        self.elements += 1
        if self.depth > self.limits.max_depth:
            raise XmlForbidden(
                f"element nesting at line {line} exceeds the depth limit {self.limits.max_depth}"
            )
        if self.elements > self.limits.max_elements:
            raise XmlForbidden(
                f"element at line {line} exceeds the limit of {self.limits.max_elements} elements"
            )
        if len(node.attrib) > self.limits.max_attributes:
            raise XmlForbidden(_too_many_attributes(node, self.limits))
        if isinstance(node.tag, str) and node.tag.startswith(_XINCLUDE):
            local = etree.QName(node).localname
            raise XmlForbidden(f"XInclude element {local} at line {line} is forbidden")


class _NamespaceCount:
    """Namespace declarations in scope and in total, from start-ns/end-ns events.

    A declaration's event comes before the start event of the element that
    carries it, so an excess is recorded first and refused with that element.
    """

    def __init__(self, limits: XmlLimits) -> None:
        self.limits = limits
        self.in_scope = 0
        self.total = 0
        self.excess: str | None = None

    def declared(self) -> None:
        self.in_scope += 1
        self.total += 1
        if self.excess is not None:
            return
        if self.total > self.limits.max_namespace_declarations:
            limit = self.limits.max_namespace_declarations
            self.excess = f"exceeds the limit of {limit} namespace declarations in the document"
        elif self.in_scope > self.limits.max_namespaces_in_scope:
            self.excess = (
                f"has more than {self.limits.max_namespaces_in_scope} namespace declarations"
                " in scope (its own and its ancestors')"
            )

    def out_of_scope(self) -> None:
        self.in_scope -= 1

    def check(self, line: object) -> None:
        if self.excess is not None:
            raise XmlForbidden(f"element at line {line} {self.excess}")


def _too_many_comments(line: object, limits: XmlLimits) -> str:
    return f"comment at line {line} exceeds the limit of {limits.max_comments} comments"


def _too_many_attributes(node: etree._Element, limits: XmlLimits) -> str:
    return f"element at line {node.sourceline} has more than {limits.max_attributes} attributes"


def _new_parser() -> etree.XMLPullParser:
    return etree.XMLPullParser(
        events=("start", "end", "pi", "comment", "start-ns", "end-ns"),
        resolve_entities=False,
        no_network=True,
        dtd_validation=False,
        load_dtd=False,
        # Only because our own depth/element/size limits bound the work.
        huge_tree=True,
        remove_blank_text=False,
        remove_comments=False,
        collect_ids=False,
    )


def _new_one_shot_parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        dtd_validation=False,
        load_dtd=False,
        huge_tree=True,  # as the streaming parser: the limits are our own
        remove_blank_text=False,
        remove_comments=False,
        collect_ids=False,
    )


_compiled = threading.local()  # XPath evaluators are not shared between threads


def _xpath(expression: str) -> etree.XPath:
    cache: dict[str, etree.XPath] | None = getattr(_compiled, "cache", None)
    if cache is None:
        cache = _compiled.cache = {}
    if expression not in cache:
        cache[expression] = etree.XPath(expression)
    return cache[expression]


def _check_tree(root: etree._Element, limits: XmlLimits) -> None:
    """The guard's checks, on a tree parsed in one go (documents up to _ONE_SHOT_MAX)."""
    outside = [*root.itersiblings(preceding=True), *root.itersiblings()]
    for node in (*outside, *root.iter(etree.ProcessingInstruction)):
        if isinstance(node, etree._ProcessingInstruction):
            raise XmlForbidden(f"processing instruction at line {node.sourceline} is forbidden")
    too_deep = _xpath("/" + "/".join(["*"] * (limits.max_depth + 1)))(root)
    if isinstance(too_deep, list) and too_deep:
        line = cast("etree._Element", too_deep[0]).sourceline
        raise XmlForbidden(
            f"element nesting at line {line} exceeds the depth limit {limits.max_depth}"
        )
    if int(cast(float, _xpath("count(//*)")(root))) > limits.max_elements:
        extra = next(itertools.islice(root.iter(etree.Element), limits.max_elements, None))
        raise XmlForbidden(
            f"element at line {extra.sourceline} exceeds the limit of "
            f"{limits.max_elements} elements"
        )
    for node in root.iter(f"{{{XINCLUDE_NS}}}*", f"{{{XINCLUDE_OLD_NS}}}*"):
        local = etree.QName(node).localname
        raise XmlForbidden(f"XInclude element {local} at line {node.sourceline} is forbidden")
    _check_counts(root, limits)


def _check_counts(root: etree._Element, limits: XmlLimits) -> None:
    """Attributes and comments of a tree parsed in one go (namespaces: see _one_shot)."""
    # All attributes first (cheap, and never over the limit in real packages);
    # only then look for the element that holds too many.
    if int(cast(float, _xpath("count(//@*)")(root))) > limits.max_attributes:
        crowded = _xpath(f"(//*[count(@*) > {int(limits.max_attributes)}])[1]")(root)
        if isinstance(crowded, list) and crowded:
            element = cast("etree._Element", crowded[0])
            raise XmlForbidden(_too_many_attributes(element, limits))
    if int(cast(float, _xpath("count(//comment())")(root))) > limits.max_comments:
        # Not "(//comment())[$n]": libxml2 evaluates that in time quadratic in the comments.
        comments = itertools.chain(
            reversed(list(root.itersiblings(etree.Comment, preceding=True))),
            root.iter(etree.Comment),
            root.itersiblings(etree.Comment),
        )
        extra = next(itertools.islice(comments, limits.max_comments, None))
        raise XmlForbidden(_too_many_comments(extra.sourceline, limits))


def _parse_streaming(
    raw: bytes, limits: XmlLimits, set_aside: Iterable[_SetAside] = ()
) -> etree._Element:
    parser = _new_parser()
    guard = _Guard(limits)
    for piece in _pieces(raw, set_aside):
        parser.feed(piece)
        for kind, node in parser.read_events():
            guard.event(kind, node)
    root = parser.close()
    for kind, node in parser.read_events():
        guard.event(kind, node)
    return root


def _assert_clean(root: etree._Element) -> None:
    # Moot once a DOCTYPE is refused up front, but checked so a future change
    # to the prolog walk cannot silently let entity references through.
    docinfo = root.getroottree().docinfo
    if docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise XmlForbidden("DOCTYPE declaration at line 1 is forbidden")
    for node in root.iter(etree.Entity):
        raise XmlForbidden(f"entity reference at line {node.sourceline} is forbidden")


DEFAULT_LIMITS = XmlLimits()


def _one_shot(raw: bytes, limits: XmlLimits) -> bool:
    """Whether to parse in one call and check the tree, rather than stream through the guard.

    Namespace declarations can only be counted from parse events: lxml
    reports in-scope sets (the depth of the tree per element), and iterwalk's
    start-ns events queue an element's declarations in a list emptied from
    the front (quadratic in declarations per element). Every declaration is
    spelt "xmlns" in the bytes, so when there are no more occurrences than
    either namespace limit allows, neither can be exceeded and the tree needs
    no count; otherwise the document streams through the guard.
    """
    if len(raw) > _ONE_SHOT_MAX:
        return False
    fewest = min(limits.max_namespaces_in_scope, limits.max_namespace_declarations)
    return raw.count(_XMLNS) <= fewest


@dataclass(frozen=True)
class _SetAside:
    """A large text run of the bytes, fed to the parser as ``marker`` instead."""

    start: int
    end: int
    marker: str


# A run of base64 (and the spaces, tabs and line ends it is wrapped with)
# between markup. Its CR LF and lone CR are line feeds to the parser (XML's
# end-of-line handling): whoever reads the text from the bytes reads it so
# (``signature.pieces.canonical_text_pieces``).
_LARGE_RUN = re.compile(rb">([A-Za-z0-9+/=\t\n\r ]{%d,})<" % SET_ASIDE_MIN)


def _pieces(raw: bytes, set_aside: Iterable[_SetAside]) -> Iterator[bytes]:
    """The bytes to parse, a chunk at a time, each run set aside replaced by its marker."""
    position = 0
    for run in (*set_aside, _SetAside(len(raw), len(raw), "")):
        for start in range(position, run.start, _CHUNK):
            yield raw[start : min(start + _CHUNK, run.start)]
        if run.marker:
            yield run.marker.encode("ascii")
        position = run.end


def _marker(raw: bytes, start: int, end: int) -> str:
    # Valid base64 (alphanumeric, a multiple of four long), so the schema
    # accepts it where base64 is expected; followed by the run's line feeds,
    # so every line number after it stays the one of the bytes received
    # (libxml2 counts lines by their line feeds: a lone CR starts none).
    return f"EdocAxisSetAside{secrets.token_hex(16)}" + "\n" * raw.count(b"\n", start, end)


def safe_parse_setting_aside(
    raw: bytes, limits: XmlLimits, tags: frozenset[str]
) -> tuple[etree._Element, dict[str, memoryview]]:
    """``safe_parse``, with the large texts of ``tags`` elements left in ``raw``.

    A 50 MiB attachment's base64 would otherwise live in the tree for as long
    as it is examined, beside the body it was parsed from. Each run of base64
    of ``SET_ASIDE_MIN`` bytes or more between markup is fed to the parser as
    a short marker instead; when every marker is then the whole text of an
    element of one of ``tags`` with no children, the tree holds the markers
    and the answer maps each marker to its text, a view of ``raw``: base64,
    spaces, tabs and line ends, nothing C14N escapes, so the text's canonical
    form once its CR LF and lone CR are read as line feeds, as the parser
    reads them. The checks the schema would have made on that text fall to
    the caller (``attachments.check_base64_binary``). Anywhere else (a
    comment, a tail, mixed content, another element), the document is parsed
    again whole and the map is empty. Linear in ``raw`` either way.
    """
    if len(raw) <= _ONE_SHOT_MAX or len(raw) > limits.max_bytes:
        return safe_parse(raw, limits), {}
    runs = [
        _SetAside(found.start(1), found.end(1), _marker(raw, found.start(1), found.end(1)))
        for found in _LARGE_RUN.finditer(raw)
    ]
    if not runs:
        return safe_parse(raw, limits), {}
    root = _safe_parse(raw, limits, runs)
    texts = {run.marker: memoryview(raw)[run.start : run.end] for run in runs}
    placed = 0
    for element in root.iter(*tags):
        if len(element) == 0 and element.text in texts:
            placed += 1
    if placed != len(texts):
        return safe_parse(raw, limits), {}
    return root, texts


def safe_parse(raw: bytes, limits: XmlLimits = DEFAULT_LIMITS) -> etree._Element:
    """Parse untrusted bytes into an lxml root element, or refuse them.

    Raises ``PayloadTooLarge`` over ``limits.max_bytes``, ``XmlForbidden`` for a
    DOCTYPE/ENTITY, processing instruction, XInclude or a depth/element limit,
    and ``XmlMalformed`` for anything not well-formed or not UTF-8.
    """
    return _safe_parse(raw, limits, ())


def _safe_parse(raw: bytes, limits: XmlLimits, set_aside: Iterable[_SetAside]) -> etree._Element:
    if len(raw) > limits.max_bytes:
        raise PayloadTooLarge(
            f"document of {len(raw)} bytes exceeds the limit of {limits.max_bytes}"
        )
    data = raw[len(_UTF8_BOM) :] if raw.startswith(_UTF8_BOM) else raw
    _check_encoding(data)
    _check_prolog(data)
    etree.clear_error_log()
    try:
        if _one_shot(raw, limits):
            root = etree.fromstring(raw, _new_one_shot_parser())
            _check_tree(root, limits)
        else:
            root = _parse_streaming(raw, limits, set_aside)
    except etree.XMLSyntaxError as exc:
        raise XmlMalformed(_syntax_message(exc)) from None
    _assert_clean(root)
    return root
