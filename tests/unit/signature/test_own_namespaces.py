"""Whether a Signature can be taken out of its document without lxml rewriting it."""

from __future__ import annotations

import pytest
from lxml import etree

from edoc_axis.signature.algorithms import DSIG_NS, EDXML_NS, _declares_own_namespaces

_DOCUMENTS = {
    # xmlns:ds on the Signature, used by every element below: its own.
    "own prefix": (
        f'<r xmlns="{EDXML_NS}"><ds:Signature xmlns:ds="{DSIG_NS}">'
        "<ds:SignedInfo><ds:Reference URI=''/></ds:SignedInfo></ds:Signature></r>",
        True,
    ),
    "own default namespace": (
        f'<r xmlns:e="{EDXML_NS}"><Signature xmlns="{DSIG_NS}"><SignedInfo/></Signature></r>',
        True,
    ),
    "prefix declared on the root": (
        f'<r xmlns:ds="{DSIG_NS}"><ds:Signature><ds:SignedInfo/></ds:Signature></r>',
        False,
    ),
    "a child under a prefix declared outside": (
        f'<r xmlns:x="{DSIG_NS}"><ds:Signature xmlns:ds="{DSIG_NS}">'
        "<x:SignedInfo/></ds:Signature></r>",
        False,
    ),
    "a child in another namespace": (
        f'<r xmlns:e="{EDXML_NS}"><ds:Signature xmlns:ds="{DSIG_NS}">'
        "<e:Object/></ds:Signature></r>",
        False,
    ),
    "a namespaced attribute": (
        f'<r xmlns:e="{EDXML_NS}"><ds:Signature xmlns:ds="{DSIG_NS}">'
        '<ds:SignedInfo e:Id="a"/></ds:Signature></r>',
        False,
    ),
    "an xml: attribute": (
        f'<r><ds:Signature xmlns:ds="{DSIG_NS}"><ds:SignedInfo xml:space="preserve"/>'
        "</ds:Signature></r>",
        False,
    ),
    "a child declaring its own prefix": (
        f'<r><ds:Signature xmlns:ds="{DSIG_NS}"><y:SignedInfo xmlns:y="{DSIG_NS}"/>'
        "</ds:Signature></r>",
        True,
    ),
    "another namespace, walked in Python": (
        '<r><s:Signature xmlns:s="urn:other"><s:SignedInfo/></s:Signature></r>',
        True,
    ),
    "two own declarations, walked in Python": (
        f'<r><ds:Signature xmlns:ds="{DSIG_NS}" xmlns:e="{EDXML_NS}"><e:X/></ds:Signature></r>',
        True,
    ),
}


@pytest.mark.parametrize("name", list(_DOCUMENTS))
def test_a_signature_is_its_own_only_if_nothing_below_needs_an_outside_declaration(
    name: str,
) -> None:
    text, expected = _DOCUMENTS[name]
    signature = etree.fromstring(text)[0]
    assert _declares_own_namespaces(signature) is expected
