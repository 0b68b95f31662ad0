"""Where the development CA writes its keys and certificates (PEM helpers live in keyfiles)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from edoc_axis.files import make_private_folder
from edoc_axis.keyfiles import cert_to_pem, key_to_pem
from edoc_axis.pki.authority import Issued


def save_issued(issued: Issued, key_path: Path | str, cert_path: Path | str) -> None:
    """Write the key (mode 0600, never readable by others at any moment) and the cert."""
    _write_private(Path(key_path), key_to_pem(issued.key))
    Path(cert_path).write_bytes(cert_to_pem(issued.cert))


def _write_private(path: Path, data: bytes) -> None:
    # mkstemp creates the file 0600, so the key is never briefly world-readable;
    # the rename makes the write atomic.
    make_private_folder(path.parent)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(temporary, 0o600)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
