"""Which peer serves an agency, and what a relay path allows (core/federation.py)."""

from __future__ import annotations

import pytest

from edoc_axis.core.federation import (
    check_next_hop,
    check_path,
    check_pattern,
    choose_peer,
    parse_path,
    serves,
)
from edoc_axis.edxml import agency_level
from edoc_axis.errors import RelayHops, RelayInvalid, RelayLoop

PEERS = [
    ("NGSP", ("*",)),
    ("LGSP-H26", ("*.H26",)),
    ("LGSP-H27", ("*.H27", "000.00.00.G22")),
]


@pytest.mark.parametrize(
    ("code", "peer"),
    [
        ("000.00.01.H26", "LGSP-H26"),  # the province's glob beats the uplink's "*"
        ("000.00.00.H27", "LGSP-H27"),
        ("000.00.00.G22", "LGSP-H27"),  # an exact code beats every glob
        ("000.00.00.H49", "NGSP"),  # everything else goes up
        ("H26.1", "NGSP"),  # "*.H26" matches the QCVN 102 form only
    ],
)
def test_the_most_specific_pattern_wins(code: str, peer: str) -> None:
    assert choose_peer(code, PEERS) == peer


def test_no_pattern_no_peer_and_ties_go_to_the_first_name() -> None:
    assert choose_peer("000.00.00.H49", [("B", ("*.H26",))]) is None
    assert choose_peer("000.00.00.H49", [("B", ("*",)), ("A", ("*",))]) == "A"
    assert serves(("*.H26",), "000.00.00.H27") is None


@pytest.mark.parametrize("pattern", ["", "*.h26", "?.H26", "[A-Z]*", "H26 ", "a" * 65, "x/y"])
def test_patterns_are_codes_globs_or_everything(pattern: str) -> None:
    with pytest.raises(ValueError, match="agency pattern"):
        check_pattern(pattern)


def test_a_path_names_axes_and_is_bounded() -> None:
    assert parse_path("LGSP-H26, NGSP") == ("LGSP-H26", "NGSP")
    for bad in (None, "", "LGSP-H26,,NGSP", "bad!name", "Trục", ",".join(["A"] * 17)):
        with pytest.raises(RelayInvalid):
            parse_path(bad)


def test_loops_and_hops_are_refused() -> None:
    check_path(("LGSP-H26",), "NGSP", 4)
    with pytest.raises(RelayLoop):
        check_path(("LGSP-H26", "NGSP"), "NGSP", 4)
    with pytest.raises(RelayHops):
        check_path(("A", "B", "C", "D", "E"), "NGSP", 4)
    with pytest.raises(RelayLoop):
        check_next_hop(("LGSP-H27", "NGSP"), "LGSP-H27")


@pytest.mark.parametrize(
    ("code", "level"),
    [
        ("000.00.00.G22", 1),
        ("000.00.01.H27", 2),
        ("000.03.01.H27", 3),
        ("004.03.01.H27", 4),
        ("G22", 1),
        ("H55.242", 2),
        ("28.22.H17", None),
        ("not a code", None),
    ],
)
def test_agency_levels(code: str, level: int | None) -> None:
    assert agency_level(code) == level
