"""`edoc new`, `sign`, `verify` and `show` hold a large document about once, or less.

Each parsed it whole (the attachment's text in the tree, then in the model,
then canonicalised or decoded whole): about four to five times the document.
"""

from __future__ import annotations

import json
import random
import tracemalloc
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from edoc_axis.cli.common import write_pieces
from edoc_axis.cli.edoc import main
from edoc_axis.core.compose import new_document
from edoc_axis.edxml import Attachment, DocumentPackage, build_document, read_package
from edoc_axis.edxml.attachments import encode_content
from edoc_axis.pki import Issued, cert_to_pem, save_issued
from edoc_axis.signature import sign_package

MIB = 1024 * 1024
DATA = random.Random(11).randbytes(8 * MIB)  # about 11 MiB of base64


def _unsigned() -> bytes:
    package = new_document(
        sender="000.00.00.G22",
        recipients=["000.00.00.H49"],
        subject="Hồ sơ lớn",
        at=datetime(2026, 11, 29, 9, 0, 0),
        attachments=[Attachment.from_bytes("cid:1", "ho-so.pdf", DATA, zip=True)],
    )
    return build_document(package)


def _traced(argv: list[str]) -> int:
    tracemalloc.start()
    try:
        assert main(argv) == 0
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_sign_verify_and_show_hold_a_large_document_about_once(
    tmp_path: Path, agency_g22: Issued, dev_ca: Issued, capsys: pytest.CaptureFixture[str]
) -> None:
    unsigned = _unsigned()
    (tmp_path / "doc.xml").write_bytes(unsigned)
    save_issued(agency_g22, tmp_path / "key.pem", tmp_path / "cert.pem")
    (tmp_path / "ca.pem").write_bytes(cert_to_pem(dev_ca.cert))
    size = len(unsigned)

    signing = ["sign", str(tmp_path / "doc.xml"), "--key", str(tmp_path / "key.pem")]
    signing += ["--cert", str(tmp_path / "cert.pem"), "-o", str(tmp_path / "signed.xml")]
    peaks = {"sign": _traced(signing)}
    signed = (tmp_path / "signed.xml").read_bytes()
    assert signed == sign_package(unsigned, agency_g22.key, agency_g22.cert)  # RSA: the same
    capsys.readouterr()

    checking = [str(tmp_path / "signed.xml"), "--ca", str(tmp_path / "ca.pem"), "--json"]
    peaks["verify"] = _traced(["verify", *checking])
    assert json.loads(capsys.readouterr().out)["verdict"] == "valid"
    peaks["show"] = _traced(["show", str(tmp_path / "signed.xml"), "--json"])
    (shown,) = json.loads(capsys.readouterr().out)["attachments"]
    assert (shown["name"], shown["size"]) == ("ho-so.pdf", len(DATA))  # unzipped, counted

    for command, peak in peaks.items():
        assert peak < size + 8 * MIB, (command, peak / size)


@pytest.mark.parametrize("zip_form", [False, True], ids=["the file", "the SDK's ZIP form"])
def test_new_writes_a_large_attachment_without_reading_it_whole(
    tmp_path: Path, zip_form: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "ho-so.pdf").write_bytes(DATA)
    (tmp_path / "to-trinh.txt").write_bytes(b"nho")
    argv = ["new", "--from", "000.00.00.G22", "--to", "000.00.00.H49", "--subject", "Hồ sơ lớn"]
    argv += ["--attach", str(tmp_path / "ho-so.pdf"), "--attach", str(tmp_path / "to-trinh.txt")]
    argv += [*(["--zip"] if zip_form else []), "-o", str(tmp_path / "doc.xml")]
    peak = _traced(argv)
    capsys.readouterr()
    raw = (tmp_path / "doc.xml").read_bytes()
    package = read_package(raw)
    assert isinstance(package, DocumentPackage)
    large, small = package.attachments
    # The text encode_content writes for the file, in its place; the package as the builder
    # writes it.
    assert large.encoded == encode_content(DATA, zip=zip_form, entry_name="ho-so.pdf")
    assert (large.data(), small.data()) == (DATA, b"nho")
    assert build_document(package) == raw
    assert peak < 4 * MIB  # it read the file whole and held its text three times


def test_a_piece_that_cannot_be_read_leaves_no_half_written_file(tmp_path: Path) -> None:
    def pieces() -> Iterator[bytes]:
        yield b"<edXML>"
        raise OSError("the attachment went away")

    with pytest.raises(OSError, match="went away"):
        write_pieces(str(tmp_path / "doc.xml"), pieces())
    assert list(tmp_path.iterdir()) == []
