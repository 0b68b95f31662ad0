"""`edoc show` / `edoc verify` on the reference SDK's sample packages.

What each sample contains is pinned here; the junk-prefixed `edoc_new.edxml`
must be refused as malformed unless repaired, and the SDK's placeholder
signatures must be reported as invalid or missing, never crash anything.
"""

from __future__ import annotations

import base64
import io
import re
import zipfile
from pathlib import Path

import pytest

from tests.acceptance.conftest import SAMPLES, CliResult, run_many

VPCP_7816 = "000.00.00.G22,2015/09/30,7816/VPCP-TTĐT"
SUBJECT = "V/v kết nối, liên thông phần mềm quản lý văn bản"
DOC_NAME = "1896_QD-TTg_m_294779.doc"

STATUS_SAMPLES = {
    "status_inbox__01.edxml": "01",
    "status_rejection_02.edxml": "02",
    "status_acceptance_03.edxml": "03",
    "status_assignment_04.edxml": "04",
    "status_processing_05.edxml": "05",
    "status_finish_06.edxml": "06",
    "status_change-acceptance_15.edxml": "15",
    "status.edxml": "01",  # the SDK's generic status sample: 01, "Đã đến"
}
DOCUMENT_SAMPLES = ("edoc_new.edxml", "edoc_revocation.edxml", "edoc_update.edxml")
# `verify --legacy` on every document sample and on two status samples (each costs a process)
LEGACY_VERIFIED = (*DOCUMENT_SAMPLES, "status.edxml", "status_rejection_02.edxml")


def _repaired(tmp: Path) -> Path:
    raw = (SAMPLES / "edoc_new.edxml").read_bytes()
    assert raw.startswith(b"1212<?xml"), "the shipped sample has its four stray bytes"
    path = tmp / "edoc_new.repaired.edxml"
    path.write_bytes(raw[4:])
    return path


@pytest.fixture(scope="module")
def results(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, ...], CliResult]:
    """Every CLI call the tests below look at, run once and in parallel."""
    repaired = _repaired(tmp_path_factory.mktemp("samples"))
    new = SAMPLES / "edoc_new.edxml"
    calls: dict[tuple[str, ...], tuple[str | Path, ...]] = {
        ("show", new.name): ("show", new, "--json"),
        ("show-repair", new.name): ("show", new, "--repair", "--json"),
        ("verify", new.name): ("verify", "--legacy", repaired),
        ("verify", new.name, "raw"): ("verify", "--legacy", new),
    }
    for name in (*DOCUMENT_SAMPLES[1:], *STATUS_SAMPLES):
        calls[("show", name)] = ("show", SAMPLES / name, "--json")
    for name in LEGACY_VERIFIED[1:]:
        calls[("verify", name)] = ("verify", "--legacy", SAMPLES / name)
    keys = list(calls)
    ran = run_many([("edoc", calls[key]) for key in keys])
    return dict(zip(keys, ran, strict=True))


def test_every_sample_is_covered() -> None:
    assert sorted(p.name for p in SAMPLES.glob("*.edxml")) == sorted(
        [*DOCUMENT_SAMPLES, *STATUS_SAMPLES]
    )


def test_edoc_new_as_shipped_is_malformed(results: dict) -> None:
    results[("show", "edoc_new.edxml")].refused("xml.malformed")


def test_edoc_new_repaired(results: dict) -> None:
    shown = results[("show-repair", "edoc_new.edxml")].ok().json()
    assert shown["kind"] == "document"
    assert shown["document_id"] == VPCP_7816
    assert shown["sender"] == "002.00.20.H13"
    assert shown["recipients"] == ["28.22.H17"], "a legacy, non-standard agency code"
    assert shown["code"] == "74fass22/VPCP-TTĐT"
    assert shown["subject"] == SUBJECT
    assert (shown["business_type"], shown["business_type_code"]) == ("new", 0)
    (attachment,) = shown["attachments"]
    assert attachment["name"] == DOC_NAME
    assert attachment["size"] == _unzipped_size(SAMPLES / "edoc_new.edxml")


def _unzipped_size(sample: Path) -> int:
    """The sample's attachment decoded by hand: base64 of a one-entry ZIP of the real file."""
    raw = sample.read_bytes()
    (encoded,) = re.findall(rb"<(?:\w+:)?ContentTransferEncoded[^>]*>([^<]*)<", raw)
    with zipfile.ZipFile(io.BytesIO(base64.b64decode(b"".join(encoded.split())))) as archive:
        (entry,) = archive.infolist()
        return len(archive.read(entry))


@pytest.mark.parametrize(
    ("name", "business", "code"),
    [("edoc_revocation.edxml", "revoke", 1), ("edoc_update.edxml", "update", 2)],
)
def test_business_samples(results: dict, name: str, business: str, code: int) -> None:
    shown = results[("show", name)].ok().json()
    assert shown["kind"] == "document"
    assert (shown["business_type"], shown["business_type_code"]) == (business, code)
    assert shown["document_id"] == VPCP_7816
    assert shown["sender"] == "000.00.00.G22"
    assert shown["recipients"] == ["000.00.00.H41", "000.00.00.H14", "000.00.00.G17"]
    assert shown["subject"] == SUBJECT
    (attachment,) = shown["attachments"]
    assert attachment["name"] == DOC_NAME
    assert attachment["size"] == _unzipped_size(SAMPLES / name)


@pytest.mark.parametrize(("name", "status_code"), sorted(STATUS_SAMPLES.items()))
def test_status_samples(results: dict, name: str, status_code: str) -> None:
    shown = results[("show", name)].ok().json()
    assert shown["kind"] == "status"
    assert shown["status_code"] == status_code
    assert shown["about_document_id"] == VPCP_7816
    assert shown["counterparty"] == "000.00.00.G22"
    raw = (SAMPLES / name).read_text("utf-8")
    assert f"<edXML:StatusCode>{status_code}</edXML:StatusCode>" in raw
    sender = re.search(r"<edXML:From>\s*<edXML:OrganId>([^<]+)<", raw)
    assert sender is not None and shown["sender"] == sender.group(1)


@pytest.mark.parametrize("name", LEGACY_VERIFIED)
def test_legacy_verify_reports_the_placeholder_signature(results: dict, name: str) -> None:
    result = results[("verify", name)]
    assert result.exit_code == 1, result.describe()
    assert "Traceback" not in result.stderr
    assert len(result.stderr_lines) == 1, result.describe()
    assert result.stderr_lines[0].split(":", 1)[0] in {"signature.invalid", "signature.missing"}
    if name in DOCUMENT_SAMPLES:
        # the documents carry the SDK's placeholder Signature block: it is there, but false
        assert result.stderr_lines[0].startswith("signature.invalid:"), result.describe()


def test_legacy_verify_of_the_unrepaired_sample_is_malformed(results: dict) -> None:
    results[("verify", "edoc_new.edxml", "raw")].refused("xml.malformed")
