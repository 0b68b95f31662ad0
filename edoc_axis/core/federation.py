"""Federation rules (pure): which peer axis serves an agency, and what a relay path allows.

Axes form a tree (agencies → province or ministry axis → national axis). Each
axis knows its peers and the agencies each serves, as patterns:

- an exact agency code: ``000.00.00.G22``;
- a glob with ``*`` for any run of characters: ``*.H26`` (every QCVN 102
  code of province H26), ``H26*`` (its QĐ 20 codes), ``000.00.*``;
- ``*`` alone: every agency that is not local (the uplink of a province axis).

The most specific pattern wins (an exact code, then the glob with the most
literal characters, then ``*``), so a national axis can serve ``*.H26`` by one
province and a province axis can send everything else up one ``*``.

A relayed document carries the names of the axes it crossed (its path, origin
first). An axis refuses a path that names itself (a loop), a path longer than
its hop limit, and a next hop that would go back to an axis on the path.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from fnmatch import fnmatchcase

from edoc_axis.errors import RelayHops, RelayInvalid, RelayLoop

_PATTERN = re.compile(r"[A-Z0-9.*]{1,64}")
# An axis name goes into receipts and into the relay path header (comma separated):
# ASCII letters, digits, spaces and ._-() only, so it is safe in a header and a log.
_AXIS_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._()-]{0,63}")
EVERYTHING = "*"
PATH_LIMIT = 16  # names in a relay path header, whatever the configured hop limit


def check_pattern(pattern: str) -> str:
    """A served-agencies pattern, or ValueError: codes' characters and ``*`` only."""
    if not _PATTERN.fullmatch(pattern):
        raise ValueError(
            f"{pattern!r} is not an agency pattern: use a code, a glob such as '*.H26', or '*'"
        )
    return pattern


def check_axis_name(name: str) -> str:
    if not _AXIS_NAME.fullmatch(name):
        raise ValueError(
            f"{name!r} is not an axis name (1-64 ASCII letters, digits, spaces, '.', '_', '-', "
            "'(' or ')', starting with a letter or digit)"
        )
    return name


def specificity(pattern: str) -> tuple[int, int]:
    """How specific a pattern is: exact codes first, then globs by literal characters."""
    if "*" not in pattern:
        return (2, len(pattern))
    return (1 if pattern != EVERYTHING else 0, len(pattern.replace("*", "")))


def serves(patterns: Iterable[str], code: str) -> tuple[int, int] | None:
    """The specificity of the best of ``patterns`` that matches ``code``; None if none does.

    ``fnmatchcase`` with only ``*`` possible (``check_pattern``) is linear in
    the code for these short patterns.
    """
    best: tuple[int, int] | None = None
    for pattern in patterns:
        if fnmatchcase(code, pattern):
            rank = specificity(pattern)
            if best is None or rank > best:
                best = rank
    return best


def choose_peer(code: str, peers: Iterable[tuple[str, Iterable[str]]]) -> str | None:
    """The name of the peer whose patterns match ``code`` most specifically.

    Two peers equally specific: the first by name, so every node of an axis
    chooses the same one.
    """
    chosen: tuple[tuple[int, int], str] | None = None
    for name, patterns in peers:
        rank = serves(patterns, code)
        if rank is None:
            continue
        if chosen is None or rank > chosen[0] or (rank == chosen[0] and name < chosen[1]):
            chosen = (rank, name)
    return None if chosen is None else chosen[1]


def parse_path(header: str | None) -> tuple[str, ...]:
    """The relay path header (axis names, origin first, comma separated)."""
    if not header:
        raise RelayInvalid("a relay must name the axes it crossed (Edoc-Relay-Path)")
    names = tuple(name.strip() for name in header.split(",", PATH_LIMIT))
    if len(names) > PATH_LIMIT:
        raise RelayInvalid(f"a relay path names at most {PATH_LIMIT} axes")
    for name in names:
        if not _AXIS_NAME.fullmatch(name):
            raise RelayInvalid(f"{name[:70]!r} in the relay path is not an axis name")
    return names


def check_path(path: tuple[str, ...], own_name: str, max_hops: int) -> None:
    """Refuse a loop (this axis is on the path) and a path over the hop limit."""
    if own_name in path:
        raise RelayLoop(f"the relay path {','.join(path)} already crossed {own_name}")
    if len(path) > max_hops:
        raise RelayHops(f"the relay crossed {len(path)} axes; this axis takes at most {max_hops}")


def check_next_hop(path: tuple[str, ...], next_axis: str) -> None:
    """Refuse sending a relayed document back to an axis it already crossed."""
    if next_axis in path:
        raise RelayLoop(f"the next hop {next_axis} is already on the relay path {','.join(path)}")
