"""`edoc new --business update --add-recipient/--remove-recipient` (in-process).

The options become the update's ReceiverList (ReceiverType 1 added, 0 removed);
the axis routes the update to its To list and every agency the list names.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from edoc_axis.cli.edoc import main
from edoc_axis.core.routing import routing_targets
from edoc_axis.edxml import BusinessDocType, DocumentPackage, read_package

G22, H49, G14, G15, G16 = (
    "000.00.00.G22",
    "000.00.00.H49",
    "000.00.00.G14",
    "000.00.00.G15",
    "000.00.00.G16",
)
BASE = ["new", "--from", G22, "--to", H49, "--subject", "V/v bổ sung nơi nhận"]


def test_update_names_added_and_removed_recipients(tmp_path: Path) -> None:
    out = tmp_path / "update.xml"
    code = main(
        [
            *BASE,
            "--business",
            "update",
            "--ref",
            "G22-ORIG",
            "--add-recipient",
            f"{G15},{G16}",
            "--add-recipient",
            G15,  # named twice: listed once
            "--remove-recipient",
            G14,
            "-o",
            str(out),
        ]
    )
    assert code == 0
    package = read_package(out.read_bytes())
    assert isinstance(package, DocumentPackage)
    assert package.business is not None
    assert package.business.doc_type == BusinessDocType.UPDATE
    assert package.business.document_id == "G22-ORIG"
    receivers = [
        (r.organ_id, r.receiver_type)
        for info in package.business.document_infos
        for r in info.receivers
    ]
    assert receivers == [(G15, 1), (G16, 1), (G14, 0)]
    assert routing_targets(package) == (H49, G15, G16, G14)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--add-recipient", G15], "add --business update --ref DOCUMENT_ID"),
        (["--business", "revoke", "--remove-recipient", G14], "change an update's ReceiverList"),
        (
            [
                "--business",
                "update",
                "--ref",
                "X",
                "--add-recipient",
                G15,
                "--remove-recipient",
                G15,
            ],
            "both added and removed",
        ),
    ],
)
def test_receiver_changes_outside_an_update_are_usage_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    out = tmp_path / "x.xml"
    assert main([*BASE, *extra, "-o", str(out)]) == 2
    assert message in capsys.readouterr().err
    assert not out.exists()
