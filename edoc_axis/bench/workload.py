"""Pre-built, pre-signed documents for the benchmark, so signing never counts as load.

Every document is distinct (its own DocumentId and random attachment bytes)
and signed with the sender's key; padding is sized so the whole signed
package is close to the requested size. Signing runs in a process pool so
that preparing thousands of documents takes seconds.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass

from cryptography.hazmat.primitives.serialization import load_pem_private_key

from edoc_axis.clock import vietnam_now
from edoc_axis.core.compose import new_document
from edoc_axis.edxml import Attachment, build_document
from edoc_axis.pki import Issued, issue_certificate, key_to_pem
from edoc_axis.pki.authority import KeyType
from edoc_axis.signature import sign_package

_BATCH = 200


@dataclass(frozen=True)
class Party:
    """An agency of the benchmark: code, name and its signing key and certificate."""

    code: str
    name: str
    issued: Issued


def make_party(ca: Issued, code: str, name: str, key_type: KeyType = "rsa") -> Party:
    return Party(code, name, issue_certificate(ca, name, agency_code=code, key_type=key_type))


@dataclass(frozen=True)
class _Job:
    """What a signing worker needs; keys travel as PEM because they do not pickle."""

    key_pem: bytes
    cert_der: bytes
    sender: str
    recipients: tuple[str, ...]
    numbers: tuple[int, ...]
    size: int
    tag: str


def _unsigned(job: _Job, number: int, padding: int) -> bytes:
    recipient = job.recipients[number % len(job.recipients)]
    attachments = []
    if padding > 0:
        blob = os.urandom(padding)
        attachments.append(Attachment.from_bytes("1", "bench.bin", blob))
    package = new_document(
        sender=job.sender,
        recipients=[recipient],
        subject=f"Benchmark document {job.tag}-{number}",
        at=vietnam_now(),
        code_number=str(number),
        code_notation=f"BENCH-{job.tag}",
        attachments=attachments,
    )
    return build_document(package)


def _padding_for(job: _Job, overhead: int) -> int:
    # base64 grows 4/3 and is wrapped in lines; leave the rest to the envelope.
    return max(0, (job.size - overhead) * 3 // 4)


def _sign_batch(job: _Job) -> list[bytes]:
    from cryptography import x509

    key = load_pem_private_key(job.key_pem, password=None)
    cert = x509.load_der_x509_certificate(job.cert_der)
    overhead = len(sign_package(_unsigned(job, 0, 0), key, cert)) + 600  # type: ignore[arg-type]
    padding = _padding_for(job, overhead)
    return [
        sign_package(_unsigned(job, n, padding), key, cert)  # type: ignore[arg-type]
        for n in job.numbers
    ]


def _jobs(
    sender: Party, recipients: Sequence[str], count: int, size: int, tag: str
) -> Iterator[_Job]:
    from cryptography.hazmat.primitives.serialization import Encoding

    key_pem = key_to_pem(sender.issued.key)
    cert_der = sender.issued.cert.public_bytes(Encoding.DER)
    for start in range(0, count, _BATCH):
        numbers = tuple(range(start, min(count, start + _BATCH)))
        yield _Job(key_pem, cert_der, sender.code, tuple(recipients), numbers, size, tag)


def signed_documents(
    sender: Party,
    recipients: Sequence[str],
    count: int,
    size: int,
    *,
    tag: str,
    progress: Callable[[int], None] | None = None,
    workers: int | None = None,
) -> list[bytes]:
    """``count`` signed packages of about ``size`` bytes, addressed in turn to ``recipients``.

    ``tag`` keeps DocumentIds distinct between the sets of one run.
    """
    documents: list[bytes] = []
    jobs = list(_jobs(sender, recipients, count, size, tag))
    if len(jobs) <= 1:
        batches: Iterator[list[bytes]] = map(_sign_batch, jobs)
        for batch in batches:
            documents.extend(batch)
            if progress:
                progress(len(batch))
        return documents
    with ProcessPoolExecutor(max_workers=workers or min(4, os.cpu_count() or 1)) as pool:
        for batch in pool.map(_sign_batch, jobs):
            documents.extend(batch)
            if progress:
                progress(len(batch))
    return documents
