"""The axis's signed receipt: what is signed is what a reader gets back, and nothing else."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from edoc_axis.core.receipt import Receipt, sign_receipt, verify_receipt
from edoc_axis.errors import EdocError
from edoc_axis.pki import Issued

_AT = datetime(2026, 11, 29, 13, 2, 3, 456789, tzinfo=timezone(timedelta(hours=7)))


@pytest.mark.parametrize(
    "recipients", [(), ("000.00.00.H41",), ("000.00.00.H41", "000.00.00.H49", "a&<b>\"'")]
)
@pytest.mark.parametrize("legacy", [True, False])
def test_a_signed_receipt_reads_back_as_signed(
    agency_g22_ec: Issued, recipients: tuple[str, ...], legacy: bool
) -> None:
    receipt = Receipt(
        axis_name="Trục <quốc gia> & 'NGSP'",
        axis_id="01m8jw54mz0c5jgfcv3ad57y1n",
        sender="000.00.00.G22",
        document_id="000.00.00.G22,2026/11/29,12/QĐ-UBND&<x>",
        sha256="ab" * 32,
        accepted_at=_AT,
        recipients=recipients,
        legacy_policy=legacy,
        kind="status",
    )
    raw = sign_receipt(receipt, agency_g22_ec.key, agency_g22_ec.cert)
    read = verify_receipt(raw, [agency_g22_ec.cert])
    assert read == Receipt(**{**receipt.__dict__, "accepted_at": _AT.astimezone(UTC)})
    assert read.accepted_at.tzinfo == UTC
    # Two receipts never share a tree: the first is unchanged by the second.
    sign_receipt(Receipt(**{**receipt.__dict__, "recipients": ("X",)}), agency_g22_ec.key,
                 agency_g22_ec.cert)  # fmt: skip
    assert verify_receipt(raw, [agency_g22_ec.cert]) == read


def test_a_changed_receipt_is_refused(agency_g22_ec: Issued) -> None:
    receipt = Receipt("axis", "01abc", "000.00.00.G22", "D", "00" * 32, _AT, ("R",), False)
    raw = sign_receipt(receipt, agency_g22_ec.key, agency_g22_ec.cert)
    with pytest.raises(EdocError):
        verify_receipt(raw.replace(b"<Recipient>R<", b"<Recipient>Q<"), [agency_g22_ec.cert])
