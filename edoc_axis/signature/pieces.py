"""The enveloped Reference digest of a document with large text nodes, hashed in pieces.

libxml2 canonicalises a text node in one piece: for a package carrying a 50 MiB
base64 attachment, C14N builds the whole canonical document (its output buffer
grows by doubling) and lxml copies it into one Python ``bytes``, about twice
the text on top of the tree. Here each text node of ``LARGE_TEXT`` characters
or more is taken out of the tree and replaced by a unique marker, the now small
document is canonicalised as before, and the hash is fed the canonical bytes
with each marker replaced by the C14N-escaped original text, a piece at a
time. The digest is the one of the plain path, byte for byte (C14N renders a
text node as its characters with ``&``, ``<``, ``>`` and carriage return
escaped, whatever canonicalization is used), and the tree is restored.

Peak memory is about the tree plus the largest text node once more (its
``str`` while it is read, its UTF-8 ``bytes`` while it is put back); the plain
path costs the tree plus about three times the canonical document at peak.
Every step is linear in the size of the document.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from lxml import etree

LARGE_TEXT = 1 << 20  # characters: smaller text nodes stay in the canonical bytes
_PIECE = 1 << 20  # characters escaped, encoded and hashed at a time
_ESCAPES = (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ("\r", "&#xD;"))


@dataclass
class _Taken:
    """A large text node taken out of the tree, and the marker standing in for it."""

    node: etree._Element
    tail: bool  # the node's tail (text after it) rather than its text
    marker: str
    text: str | bytes  # bytes (UTF-8) when ASCII: lxml puts bytes back without a copy

    def restore(self) -> None:
        # lxml takes ASCII bytes as they are (its stubs only say str).
        if self.tail:
            self.node.tail = self.text  # type: ignore[assignment]
        else:
            self.node.text = self.text  # type: ignore[assignment]


def digest_in_pieces(
    root: etree._Element, digest_name: str, canonicalize: Callable[[], bytes]
) -> tuple[bytes, bytes | None]:
    """(digest of ``canonicalize()``, the canonical bytes or None when hashed in pieces).

    ``canonicalize`` must canonicalise the document ``root`` belongs to; it is
    called once, while the large text nodes (if any) are replaced by markers.
    The tree is modified while this runs and restored before it returns,
    whatever happens: do not share it with another thread meanwhile.
    """
    taken = _take_large_texts(root)
    if not taken:
        plain = canonicalize()
        return hashlib.new(digest_name, plain).digest(), plain
    try:
        compact = canonicalize()
        digest = _hash_with_texts(compact, taken, digest_name)
    finally:
        _restore(taken)
    if digest is None:  # a marker's text occurs elsewhere: never in practice
        plain = canonicalize()
        return hashlib.new(digest_name, plain).digest(), plain
    return digest, None


def _take_large_texts(root: etree._Element) -> list[_Taken]:
    stem = f"edoc-axis-c14n-{secrets.token_hex(16)}-"
    taken: list[_Taken] = []
    try:
        for node in root.iter():
            if isinstance(node.tag, str):  # an element's text; a comment's is no text node
                _take(node, False, stem, taken)
            if node is not root:
                _take(node, True, stem, taken)
    except BaseException:
        _restore(taken)
        raise
    return taken


def _take(node: etree._Element, tail: bool, stem: str, taken: list[_Taken]) -> None:
    text = node.tail if tail else node.text
    if text is None or len(text) < LARGE_TEXT:
        return
    marker = f"{stem}{len(taken)}-"
    # Swap first, so the tree's copy is freed before a second one is made.
    if tail:
        node.tail = marker
    else:
        node.text = marker
    kept: str | bytes = text
    if text.isascii():
        kept = text.encode("ascii")
        del text
    taken.append(_Taken(node, tail, marker, kept))


def _restore(taken: Sequence[_Taken]) -> None:
    for item in reversed(taken):
        item.restore()
        item.text = ""  # the tree holds it again: drop this copy now, not at the end


def _hash_with_texts(compact: bytes, taken: Sequence[_Taken], digest_name: str) -> bytes | None:
    """The digest of ``compact`` with each marker replaced by its escaped text.

    None when a marker does not occur exactly once or not at all (a marker is
    missing when its node is not covered, e.g. inside the enveloped Signature).
    """
    found: list[tuple[int, _Taken]] = []
    for item in taken:
        marker = item.marker.encode("ascii")
        count = compact.count(marker)
        if count > 1:
            return None
        if count == 1:
            found.append((compact.index(marker), item))
    found.sort(key=lambda pair: pair[0])
    hasher = hashlib.new(digest_name)
    position = 0
    for start, item in found:
        hasher.update(compact[position:start])
        _feed_escaped(hasher, item.text)
        position = start + len(item.marker)
    hasher.update(compact[position:])
    return hasher.digest()


def _feed_escaped(hasher: hashlib._Hash, text: str | bytes) -> None:
    """C14N's rendering of a text node (``&``, ``<``, ``>``, CR escaped; UTF-8), in pieces."""
    for start in range(0, len(text), _PIECE):
        piece = text[start : start + _PIECE]
        if isinstance(piece, bytes):
            for char, escaped in _ESCAPES:
                if char.encode() in piece:
                    piece = piece.replace(char.encode(), escaped.encode())
            hasher.update(piece)
        else:
            for char, escaped in _ESCAPES:
                if char in piece:
                    piece = piece.replace(char, escaped)
            hasher.update(piece.encode("utf-8"))
