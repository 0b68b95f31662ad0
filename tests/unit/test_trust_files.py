"""ReloadingTrust re-reads a changed CRL only after its check interval."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from edoc_axis.errors import CertificateRevoked
from edoc_axis.pki import Issued, cert_to_pem, crl_to_pem, issue_certificate, make_crl
from edoc_axis.trust_files import ReloadingTrust


def test_crl_change_is_seen_after_the_interval(tmp_path: Path, dev_ca: Issued) -> None:
    anchor, crl_file = tmp_path / "ca.pem", tmp_path / "ca.crl.pem"
    anchor.write_bytes(cert_to_pem(dev_ca.cert))
    crl_file.write_bytes(crl_to_pem(make_crl(dev_ca, [])))
    signer = issue_certificate(dev_ca, "G22", agency_code="000.00.00.G22")
    now = [100.0]
    trust = ReloadingTrust([anchor], [crl_file], check_interval_s=5.0, monotonic=lambda: now[0])
    at = datetime.now(UTC)
    trust.current().check(signer.cert, at)

    crl_file.write_bytes(crl_to_pem(make_crl(dev_ca, [signer.cert.serial_number])))
    now[0] += 1.0
    trust.current().check(signer.cert, at)  # not re-read yet
    now[0] += 5.0
    with pytest.raises(CertificateRevoked):
        trust.current().check(signer.cert, at)
