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

A text the tree never held (``aside``: a marker in the tree, the text a view
of the document's bytes, with nothing in it for C14N to escape) is hashed the
same way, straight from those bytes, its line ends read as the parser reads
them (``canonical_text_pieces``).

Peak memory is about the tree plus the largest text node once more (its
``str`` while it is read, its UTF-8 ``bytes`` while it is put back); the plain
path costs the tree plus about three times the canonical document at peak.
Every step is linear in the size of the document.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Callable, Container, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass

from lxml import etree

from edoc_axis.errors import SignatureInvalid

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
    root: etree._Element,
    digest_name: str,
    canonicalize: Callable[[], bytes],
    aside: Mapping[str, memoryview] | None = None,
) -> tuple[bytes, bytes | None]:
    """(digest of ``canonicalize()``, the canonical bytes or None when hashed in pieces).

    ``canonicalize`` must canonicalise the document ``root`` belongs to; it is
    called once, while the large text nodes (if any) are replaced by markers.
    The tree is modified while this runs and restored before it returns,
    whatever happens: do not share it with another thread meanwhile.
    ``aside`` maps the markers the tree already holds to their texts: views
    of the document's bytes with nothing in them for C14N to escape, whose
    line ends are read as the parser reads them.
    """
    aside = aside or {}
    taken = _take_large_texts(root, skip=aside)
    if not taken and not aside:
        plain = canonicalize()
        return hashlib.new(digest_name, plain).digest(), plain
    try:
        compact = canonicalize()
        texts = [(item.marker, item.text) for item in taken] + list(aside.items())
        digest = _hash_with_texts(compact, texts, digest_name)
    finally:
        _restore(taken)
    if digest is not None:
        return digest, None
    if aside:  # the tree does not hold these texts: there is no plain path
        raise SignatureInvalid("a text set aside while parsing occurs more than once")
    plain = canonicalize()  # a marker's text occurs elsewhere: never in practice
    return hashlib.new(digest_name, plain).digest(), plain


def _take_large_texts(root: etree._Element, skip: Container[str]) -> list[_Taken]:
    stem = f"edoc-axis-c14n-{secrets.token_hex(16)}-"
    taken: list[_Taken] = []
    try:
        for node in root.iter():
            if isinstance(node.tag, str):  # an element's text; a comment's is no text node
                _take(node, False, stem, taken, skip)
            if node is not root:
                _take(node, True, stem, taken, skip)
    except BaseException:
        _restore(taken)
        raise
    return taken


def _take(
    node: etree._Element, tail: bool, stem: str, taken: list[_Taken], skip: Container[str]
) -> None:
    text = node.tail if tail else node.text
    if text is None or len(text) < LARGE_TEXT or text in skip:
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


def _hash_with_texts(
    compact: bytes, texts: Sequence[tuple[str, str | bytes | memoryview]], digest_name: str
) -> bytes | None:
    """The digest of ``compact`` with each marker replaced by its escaped text.

    None when a marker occurs more than once. A marker that does not occur is
    a text the reference does not cover (e.g. inside the enveloped Signature).
    """
    found: list[tuple[int, str, str | bytes | memoryview]] = []
    for marker, text in texts:
        encoded = marker.encode("ascii")
        count = compact.count(encoded)
        if count > 1:
            return None
        if count == 1:
            found.append((compact.index(encoded), marker, text))
    found.sort(key=lambda entry: entry[0])
    hasher = hashlib.new(digest_name)
    position = 0
    for start, marker, text in found:
        hasher.update(compact[position:start])
        _feed_escaped(hasher, text)
        position = start + len(marker)
    hasher.update(compact[position:])
    return hasher.digest()


def _feed_escaped(hasher: hashlib._Hash, text: str | bytes | memoryview) -> None:
    """C14N's rendering of a text node (``&``, ``<``, ``>``, CR escaped; UTF-8), in pieces.

    A memoryview is a text set aside while parsing: nothing in it to escape,
    its line ends read as the parser reads them.
    """
    if isinstance(text, memoryview):
        for canonical in canonical_text_pieces(text):
            hasher.update(canonical)
        return
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


_CR = re.compile(rb"\r")
TextPieces = Iterable[bytes | memoryview]
"""A text written a piece at a time."""


def canonical_text_pieces(text: memoryview) -> Iterator[bytes | memoryview]:
    """A text set aside while parsing, as the tree would have held it: its CR LF and
    lone CR as line feeds (XML's end-of-line handling), a piece at a time.

    Without a carriage return, which is the usual case, that is the view itself.
    """
    if _CR.search(text) is None:
        yield text
        return
    held = b""  # a CR at the end of a piece: a CR LF may go on in the next
    for start in range(0, len(text), _PIECE):
        piece = held + bytes(text[start : start + _PIECE])
        held = b"\r" if piece.endswith(b"\r") else b""
        piece = piece[: len(piece) - len(held)]
        yield piece.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    if held:
        yield b"\n"


def with_texts_back(
    serialized: bytes, texts: Mapping[str, memoryview | TextPieces]
) -> list[bytes | memoryview | TextPieces]:
    """``serialized`` (a tree holding the markers of ``texts``) as pieces, each marker
    replaced by its text: the whole document, never joined into one copy.

    A text is a view of bytes (one set aside while parsing: nothing in it for
    a serialiser to escape, so it is written as the tree would have held it,
    ``canonical_text_pieces``), or pieces of bytes to be written one after
    the other (``pieces_of`` flattens the answer). Each marker must stand
    exactly once; that is checked now, before anything is written.
    """
    if not texts:
        return [serialized]
    found: list[tuple[int, int, memoryview | TextPieces]] = []
    for marker, text in texts.items():
        encoded = marker.encode("ascii")
        at = serialized.find(encoded)
        if at < 0 or serialized.find(encoded, at + 1) >= 0:
            raise ValueError("a text set aside does not stand exactly once in the document")
        found.append((at, len(encoded), text))
    view = memoryview(serialized)
    pieces: list[bytes | memoryview | TextPieces] = []
    position = 0
    for at, length, text in sorted(found, key=lambda entry: entry[0]):
        as_held = canonical_text_pieces(text) if isinstance(text, memoryview) else text
        pieces += [view[position:at], as_held]
        position = at + length
    pieces.append(view[position:])
    return pieces


def pieces_of(pieces: Iterable[bytes | memoryview | TextPieces]) -> Iterator[bytes | memoryview]:
    """The pieces of ``with_texts_back`` one after the other, a text's own pieces included."""
    for piece in pieces:
        if isinstance(piece, bytes | memoryview):
            yield piece
        else:
            yield from piece
