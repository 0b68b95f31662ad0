"""A 202 is a promise: SIGKILL the axis mid-intake and every accepted document survives.

Thirty signed documents go to a real `edoc-axis serve` from a thread pool; as
soon as a few 202s have arrived the process is killed with SIGKILL while other
requests are still on the wire. After a restart on the same home, every
document that got a 202 is served back byte for byte and its receipt's digest
is the digest of those bytes; every document whose request was cut off can be
re-submitted and is answered 202 (it had not been stored) or 200 (it had) —
never 409, never a second copy.
"""

from __future__ import annotations

import hashlib
import os
import signal
import sqlite3
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.acceptance.conftest import (
    G22,
    H49,
    AxisServer,
    http_request,
    init_home,
    signed_document,
)

pytestmark = pytest.mark.slow

DOCUMENTS = 30
WORKERS = 10
KILL_AFTER_ACCEPTED = 5
ATTACHMENT_BYTES = 150_000


@dataclass
class Outcome:
    index: int
    status: int | None = None  # None: no answer (cut off, or the axis was already gone)
    axis_id: str | None = None
    receipt: bytes = b""
    error: str = ""


def _submit(url: str, token: str, body: bytes) -> tuple[int, dict[str, str], bytes]:
    return http_request(
        url,
        "POST",
        "/api/v1/documents",
        body=body,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/xml"},
        timeout=30.0,
    )


def _fetch(url: str, token: str, axis_id: str) -> tuple[int, dict[str, str], bytes]:
    return http_request(
        url,
        "GET",
        f"/api/v1/documents/{axis_id}",
        headers={"Authorization": f"Bearer {token}", "Accept": "application/xml"},
    )


def test_accepted_documents_survive_sigkill(tmp_path: Path) -> None:
    from edoc_axis.core.receipt import verify_receipt
    from edoc_axis.pki import load_certs

    home = init_home(tmp_path)
    g22, _ = home.register_many({G22: "Văn phòng Chính phủ", H49: "UBND tỉnh Hòa Bình"})
    documents = [
        signed_document(g22, subject=f"Văn bản {i}", attachment=os.urandom(ATTACHMENT_BYTES))
        for i in range(DOCUMENTS)
    ]
    axis_certs = load_certs(home.axis_cert)

    server = AxisServer(home.config, tmp_path)
    url = server.start()
    assert server.process is not None
    pid = server.process.pid
    accepted = 0
    lock = threading.Lock()

    def submit(index: int) -> Outcome:
        nonlocal accepted
        outcome = Outcome(index)
        try:
            status, headers, body = _submit(url, g22.token, documents[index])
        except OSError as exc:
            outcome.error = f"{type(exc).__name__}: {exc}"
            return outcome
        outcome.status, outcome.axis_id, outcome.receipt = status, headers.get("edoc-axis-id"), body
        if status == 202:
            with lock:
                accepted += 1
                if accepted == KILL_AFTER_ACCEPTED:
                    os.kill(pid, signal.SIGKILL)
        return outcome

    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        outcomes = list(pool.map(submit, range(DOCUMENTS)))
    server.kill()
    assert server.process.returncode == -signal.SIGKILL, "the axis was killed, not finished"

    answered = [o for o in outcomes if o.status is not None]
    assert all(o.status == 202 for o in answered), [(o.index, o.status) for o in answered]
    got_202 = [o for o in outcomes if o.status == 202]
    cut_off = [o for o in outcomes if o.status is None]
    assert len(got_202) >= KILL_AFTER_ACCEPTED
    assert cut_off, "the kill came after everything was answered; nothing was in flight"

    url = server.start()  # same home, a fresh process

    for o in got_202:
        raw = documents[o.index]
        receipt = verify_receipt(o.receipt, axis_certs)
        assert receipt.sha256 == hashlib.sha256(raw).hexdigest()
        assert receipt.axis_id == o.axis_id
        status, headers, body = _fetch(url, g22.token, str(o.axis_id))
        assert status == 200, (o.index, status, body[:300])
        assert body == raw, f"document {o.index} (202 before the kill) is not stored as sent"
        assert headers.get("edoc-sha256") == receipt.sha256

    axis_ids: dict[int, str] = {}
    stored_anyway = 0
    for o in outcomes:
        status, headers, body = _submit(url, g22.token, documents[o.index])
        stored_anyway += o.status is None and status == 200
        if o.status == 202:
            assert status == 200, (o.index, status, body[:300])
            assert headers.get("edoc-axis-id") == o.axis_id
        else:
            assert status in (200, 202), (o.index, status, body[:300])
        receipt = verify_receipt(body, axis_certs)
        assert receipt.sha256 == hashlib.sha256(documents[o.index]).hexdigest()
        axis_ids[o.index] = str(headers.get("edoc-axis-id"))
    for o in cut_off:  # once more: now it is certainly stored, under the same id
        status, headers, _ = _submit(url, g22.token, documents[o.index])
        assert (status, headers.get("edoc-axis-id")) == (200, axis_ids[o.index])
        status, _, body = _fetch(url, g22.token, axis_ids[o.index])
        assert (status, body) == (200, documents[o.index])
    assert len(set(axis_ids.values())) == DOCUMENTS, "one axis id per document"
    print(
        f"{len(got_202)} answered 202 before the kill, {len(cut_off)} without an answer, "
        f"{stored_anyway} of those had been stored nonetheless"
    )

    assert server.stop() == 0, f"serve did not stop cleanly on SIGTERM: {server.stderr()}"
    database = f"file:{home.root / 'store' / 'axis.db'}?mode=ro"
    with closing(sqlite3.connect(database, uri=True)) as db:
        (rows,) = db.execute("SELECT COUNT(*) FROM documents WHERE sender_code = ?", (G22,))
    assert rows == (DOCUMENTS,), "a re-submission created a second copy"
