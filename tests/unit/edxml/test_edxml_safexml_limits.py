"""The limits that keep every later check linear: attributes, namespaces, comments.

Each limit is tried at N (accepted) and N+1 (refused with ``xml.forbidden``
naming the line), through both parse paths: documents up to 1 MiB are parsed
in one call and checked on the tree, bigger ones stream through the guard.
"""

from __future__ import annotations

import pytest
from lxml import etree

from edoc_axis.edxml import DEFAULT_LIMITS, XmlLimits, safe_parse
from edoc_axis.edxml._tree import canonical_extra
from edoc_axis.edxml.namespaces import EDXML_NS, EDXML_PREFIX
from edoc_axis.errors import XmlForbidden

# Over the one-call threshold (1 MiB), so the streaming guard does the counting.
_PADDING = "p" * (1024 * 1024 + 10)


def _document(inner: str, *, streamed: bool, root_attrs: str = "") -> bytes:
    padding = f"<pad>{_PADDING}</pad>" if streamed else ""
    return f"<r{root_attrs}>{padding}\n{inner}</r>".encode()


def _refused(raw: bytes, limits: XmlLimits) -> XmlForbidden:
    with pytest.raises(XmlForbidden) as caught:
        safe_parse(raw, limits)
    return caught.value


PATHS = pytest.mark.parametrize("streamed", [False, True], ids=["one-call", "streamed"])


def _attributes(count: int) -> str:
    return "".join(f' a{i}="v"' for i in range(count))


@PATHS
def test_attributes_per_element_at_limit_pass_and_one_more_is_refused(streamed: bool) -> None:
    limits = XmlLimits(max_attributes=8)
    safe_parse(_document(f"<e{_attributes(8)}/>" * 3, streamed=streamed), limits)
    err = _refused(_document(f"<e{_attributes(9)}/>", streamed=streamed), limits)
    assert "line 2 has more than 8 attributes" in err.detail


def test_namespace_declarations_are_not_attributes() -> None:
    declarations = "".join(f' xmlns:p{i}="urn:{i}"' for i in range(4))
    limits = XmlLimits(max_attributes=1)
    safe_parse(f"<e{declarations} a='1'/>".encode(), limits)


def _declarations(first: int, count: int) -> str:
    return "".join(f' xmlns:p{i}="urn:p{i}"' for i in range(first, first + count))


@PATHS
def test_namespaces_in_scope_at_limit_pass_and_one_more_is_refused(streamed: bool) -> None:
    limits = XmlLimits(max_namespaces_in_scope=4, max_namespace_declarations=100)
    # 2 on the parent and 2 on each child: 4 in scope at every child.
    ok = f"<a{_declarations(0, 2)}>" + f"<b{_declarations(2, 2)}/>" * 5 + "</a>"
    safe_parse(_document(ok, streamed=streamed), limits)
    over = f"<a{_declarations(0, 2)}><b{_declarations(2, 2)}/><c{_declarations(4, 3)}/></a>"
    err = _refused(_document(over, streamed=streamed), limits)
    assert "line 2 has more than 4 namespace declarations in scope" in err.detail


@PATHS
def test_namespaces_declared_on_one_element_count_in_scope(streamed: bool) -> None:
    limits = XmlLimits(max_namespaces_in_scope=4, max_namespace_declarations=100)
    safe_parse(_document(f"<a{_declarations(0, 4)}/>", streamed=streamed), limits)
    err = _refused(_document(f"<a{_declarations(0, 5)}/>", streamed=streamed), limits)
    assert "more than 4 namespace declarations in scope" in err.detail


@PATHS
def test_namespace_declarations_in_the_document_at_limit_pass_and_one_more_is_refused(
    streamed: bool,
) -> None:
    limits = XmlLimits(max_namespaces_in_scope=4, max_namespace_declarations=10)
    # Siblings each declare two: never more than 2 in scope, 10 in all.
    ok = "".join(f"<b{_declarations(2 * i, 2)}/>" for i in range(5))
    safe_parse(_document(ok, streamed=streamed), limits)
    over = ok + f"<b{_declarations(10, 1)}/>"
    err = _refused(_document(over, streamed=streamed), limits)
    assert "exceeds the limit of 10 namespace declarations in the document" in err.detail


@PATHS
def test_default_namespace_counts_as_a_declaration(streamed: bool) -> None:
    limits = XmlLimits(max_namespaces_in_scope=2, max_namespace_declarations=100)
    safe_parse(_document('<a xmlns="urn:d" xmlns:p="urn:p"/>', streamed=streamed), limits)
    err = _refused(
        _document('<a xmlns="urn:d" xmlns:p="urn:p"><b xmlns="urn:e"/></a>', streamed=streamed),
        limits,
    )
    assert "more than 2 namespace declarations in scope" in err.detail


def test_xmlns_in_text_does_not_count() -> None:
    limits = XmlLimits(max_namespaces_in_scope=1, max_namespace_declarations=1)
    root = safe_parse(b"<a>" + b'xmlns:p="urn:p" ' * 50 + b"</a>", limits)
    assert root.text is not None and root.text.count("xmlns") == 50


@PATHS
def test_comments_at_limit_pass_and_one_more_is_refused(streamed: bool) -> None:
    limits = XmlLimits(max_comments=5)
    safe_parse(_document("<!---->" * 5, streamed=streamed), limits)
    err = _refused(_document("<!---->" * 5 + "\n<!--six-->", streamed=streamed), limits)
    assert "comment at line 3 exceeds the limit of 5 comments" in err.detail


def test_comments_before_and_after_the_root_count() -> None:
    limits = XmlLimits(max_comments=2)
    safe_parse(b"<!--1--><r/><!--2-->", limits)
    _refused(b"<!--1--><r><!--2--></r><!--3-->", limits)


def test_default_limits_are_documented_values() -> None:
    assert DEFAULT_LIMITS.max_attributes == 64
    assert DEFAULT_LIMITS.max_namespaces_in_scope == 16
    assert DEFAULT_LIMITS.max_namespace_declarations == 64
    assert DEFAULT_LIMITS.max_comments == 10_000


def test_text_nodes_are_merged_so_they_need_no_limit() -> None:
    # Character references and CDATA sections between text become one text
    # node: text nodes are bounded by elements + comments + 1.
    raw = b"<r>" + b"a&#x41;<![CDATA[b]]>&amp;" * 20_000 + b"<e/>t<!--c-->u</r>"
    root = safe_parse(raw)
    assert int(root.xpath("count(//text())")) == 3
    assert root.text == "aAb&" * 20_000


# -- canonical_extra: the same bytes as reading every descendant's nsmap ---------


def _reference_extra(el: etree._Element) -> bytes:
    """The former implementation (in-scope namespaces of every descendant)."""
    nsmap: dict[str | None, str] = {}
    for node in el.iter():
        for prefix, uri in node.nsmap.items():
            if uri != EDXML_NS and prefix != EDXML_PREFIX:
                nsmap.setdefault(prefix, uri)
    nsmap[EDXML_PREFIX] = EDXML_NS
    copy = etree.Element(el.tag, nsmap=nsmap)  # type: ignore[arg-type]
    _reference_copy(el, copy)
    return etree.tostring(copy, method="c14n", exclusive=True)


def _reference_copy(src: etree._Element, dst: etree._Element) -> None:
    for key, value in src.attrib.items():
        dst.set(key, value)
    children = [child for child in src if isinstance(child.tag, str)]
    dst.text = src.text if not children or (src.text or "").strip() else None
    for child in children:
        sub = etree.SubElement(dst, child.tag)
        _reference_copy(child, sub)
        sub.tail = child.tail if (child.tail or "").strip() else None


EXTRAS = [
    b'<x:e xmlns:x="urn:x" a="1" x:b="2"><x:c xmlns:y="urn:y" y:z="3">t<y:d/>tail</x:c>'
    b"  <x:f/></x:e>",
    b'<e xmlns="urn:d" xmlns:e="urn:e"><f xmlns="urn:f" xmlns:p="urn:d"><p:g/></f>'
    b'<e:h xmlns:e="urn:other"/></e>',
    b'<x:e xmlns:x="urn:x" xmlns:a="urn:same" xmlns:b="urn:same"><b:c a:q="1"/></x:e>',
    f'<r xmlns:edXML="{EDXML_NS}" xmlns:p="urn:p"><p:e xmlns:edXML="urn:wrong">'
    "<edXML:k/></p:e></r>".encode(),
    b'<r xmlns:x="urn:x"><x:e xmlns:x="urn:x2" xmlns:q="urn:q"><q:a xmlns:q="urn:q2" q:at="v"'
    b' x:at="w" plain="p"/></x:e><!-- c --></r>',
]


@pytest.mark.parametrize("raw", EXTRAS)
def test_canonical_extra_matches_the_former_reading_for_every_element(raw: bytes) -> None:
    root = safe_parse(raw)
    for el in root.iter(etree.Element):
        assert canonical_extra(el) == _reference_extra(el)
