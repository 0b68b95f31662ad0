"""Pathological XML shapes: what an attacker with a token sends to make intake slow.

Each shape is a fragment put inside ``MessageHeader`` (where the schema allows
foreign elements), scaled by ``n``. Some stay within the axis's default limits
(an agency may sign them and the whole intake runs on them); the others exceed
a limit and must be refused early. Shared by the conformance suite's
robustness section and the project's cost test, which builds each at N and 4N.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

ANCHOR = b"</edXML:MessageHeader>"
_FOREIGN = b'xmlns:x="urn:example:robustness"'


@dataclass(frozen=True)
class Shape:
    """One pathological shape: ``fragment(n)`` goes before ``</edXML:MessageHeader>``."""

    name: str
    description: str
    fragment: Callable[[int], bytes]
    within_default_limits: bool  # for every n the cost test uses (up to 4x its base)


def _extra(content: bytes, declarations: bytes = b"") -> bytes:
    return b"<x:Extra " + _FOREIGN + declarations + b">" + content + b"</x:Extra>"


def _declarations(count: int) -> bytes:
    return b"".join(b' xmlns:n%d="urn:example:n%d"' % (i, i) for i in range(count))


def namespace_bomb(n: int) -> bytes:
    """``n`` namespace declarations on one element with ``n // 7`` children below it."""
    return _extra(b"<x:c/>" * (n // 7), _declarations(n))


def namespace_per_element(n: int) -> bytes:
    """``n`` sibling elements, each declaring a namespace of its own."""
    return _extra(b"".join(b'<x:c xmlns:p%d="urn:example:p%d"/>' % (i, i) for i in range(n)))


def namespaces_in_scope(n: int) -> bytes:
    """12 declarations in scope (within the default 16) over ``n`` elements: C14N's worst."""
    return _extra(b"<x:c/>" * n, _declarations(12))


def comment_flood(n: int) -> bytes:
    """``n`` empty comments as children of MessageHeader (quadratic in the old verifier)."""
    return b"<!---->" * n


def attribute_flood(n: int) -> bytes:
    """One element with ``n`` attributes."""
    return _extra(b"<x:c" + b"".join(b' a%d="v"' % i for i in range(n)) + b"/>")


def attributes_at_limit(n: int) -> bytes:
    """``n // 64`` elements, each with 64 attributes (the default limit)."""
    one = b"<x:c" + b"".join(b' a%d="v"' % i for i in range(64)) + b"/>"
    return _extra(one * max(1, n // 64))


def deep_tree(n: int) -> bytes:
    """Chains of 50 nested elements (within the depth limit), ``n // 50`` of them."""
    chain = b"<x:d>" * 50 + b"</x:d>" * 50
    return _extra(chain * max(1, n // 50))


def wide_tree(n: int) -> bytes:
    """``n`` small sibling elements."""
    return _extra(b"<x:c>v</x:c>" * n)


def long_text(n: int) -> bytes:
    """One text node of ``64 * n`` bytes."""
    return _extra(b"abcdefgh" * (8 * n))


def character_references(n: int) -> bytes:
    """``n`` character references (no entities: none are declared or accepted)."""
    return _extra(b"&#x10FFFF;&#65;" * n)


SHAPES: tuple[Shape, ...] = (
    Shape("namespace-bomb", "n namespace declarations on one element, n/7 children below",
          namespace_bomb, within_default_limits=False),
    Shape("namespace-per-element", "n sibling elements each declaring a namespace",
          namespace_per_element, within_default_limits=False),
    Shape("namespaces-in-scope", "12 namespaces in scope over n elements",
          namespaces_in_scope, within_default_limits=True),
    Shape("comment-flood", "n empty comments under MessageHeader", comment_flood,
          within_default_limits=True),
    Shape("comment-flood-beyond-limit", "n empty comments (n over the default limit of 10,000)",
          comment_flood, within_default_limits=False),
    Shape("attribute-flood", "one element with n attributes", attribute_flood,
          within_default_limits=False),
    Shape("attributes-at-limit", "n/64 elements with 64 attributes each", attributes_at_limit,
          within_default_limits=True),
    Shape("deep-tree", "n/50 chains of 50 nested elements", deep_tree,
          within_default_limits=True),
    Shape("wide-tree", "n small sibling elements", wide_tree, within_default_limits=True),
    Shape("long-text", "one text of 64n bytes", long_text, within_default_limits=True),
    Shape("character-references", "2n character references", character_references,
          within_default_limits=True),
)  # fmt: skip


def shaped(package: bytes, shape: Shape, n: int) -> bytes:
    """``package`` (unsigned, with a MessageHeader) with the shape put inside MessageHeader."""
    at = package.index(ANCHOR)
    return package[:at] + shape.fragment(n) + package[at:]
