"""The set-aside parse decides as the whole parse does, for every change near a large attachment.

``examine`` leaves a large attachment's text in the body (``edxml.aside``) and
checks it there. Whatever is done to the bytes around and inside that text (a
comment, CDATA, a character reference, a carriage return, a child element,
padding, a byte flipped or dropped), the outcome must be the one the whole
parse gives: the same refusal code, or accepted both ways.
"""

from __future__ import annotations

import os
import random

import pytest

from edoc_axis.core import intake
from edoc_axis.edxml import safe_parse
from edoc_axis.pki import Issued
from edoc_axis.signature import TrustStore, sign_package
from tests.conftest import build_package
from tests.examining import outcome

INSERTS = [
    b"<!--x-->", b"<![CDATA[QUJD]]>", b"&#65;", b"<a/>", b"\r\n", b"\r", b"=", b"==", b"QR==",
    b"\t", b" ", b"\n", b"A", b"AAAA", b">", b"<", b"]]>", b"&amp;", b"\xc3\xa1",
]  # fmt: skip
REPLACEMENTS = b"A=\r\n <>&]!Q+/9"


def _mutations(raw: bytes, count: int, rng: random.Random) -> list[bytes]:
    start = raw.index(b"<edXML:ContentTransferEncoded")
    end = raw.index(b"</edXML:ContentTransferEncoded>") + 31
    text_start = raw.index(b">", start) + 1
    # Around the element's tags, inside its text, and anywhere.
    spots = [
        lambda: rng.randrange(start - 50, text_start + 50),
        lambda: rng.randrange(end - 80, end + 50),
        lambda: rng.randrange(text_start, end - 31),
        lambda: rng.randrange(len(raw)),
    ]
    changed = []
    for _ in range(count):
        at = rng.choice(spots)()
        kind = rng.randrange(3)
        if kind == 0:
            changed.append(raw[:at] + rng.choice(INSERTS) + raw[at:])
        elif kind == 1:
            changed.append(raw[:at] + bytes([rng.choice(REPLACEMENTS)]) + raw[at + 1 :])
        else:
            changed.append(raw[:at] + raw[at + rng.randrange(1, 6) :])
    return changed


@pytest.mark.parametrize("signed", [True, False], ids=["signed", "unsigned"])
def test_every_change_near_a_large_attachment_is_decided_as_by_the_whole_parse(
    signed: bool, agency_g22: Issued, trust_store: TrustStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    raw = build_package(attachment=os.urandom(1_000_000))
    if signed:
        raw = sign_package(raw, agency_g22.key, agency_g22.cert)
    rng = random.Random(20261129 + signed)
    cases = [raw, *_mutations(raw, 60, rng)]
    aside = [outcome(case, trust_store) for case in cases]
    monkeypatch.setattr(
        intake, "parse_setting_aside", lambda body, limits: (safe_parse(body, limits), {})
    )
    whole = [outcome(case, trust_store) for case in cases]
    assert aside[0] == whole[0] == ("accepted" if signed else "signature.missing")
    differ = [(i, a, w) for i, (a, w) in enumerate(zip(aside, whole, strict=True)) if a != w]
    assert differ == []
    assert len(set(whole)) > 2  # the changes reached several checks
