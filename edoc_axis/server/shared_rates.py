"""Per-agency rate limits shared by the processes of one `serve --processes N`.

Each process used to enforce 1/N of ``rate_per_s``. The kernel does not spread
connections evenly between processes that share a socket, and an agency's
document system usually keeps one connection: all of its requests then went to
one process, which let it have 1/N of its rate (25 of 50 documents/s with two
processes). So the processes keep their token buckets in one file instead, in
the run's shared directory (server/run_dir.py):
a table of fixed-size slots, mapped into every process, found by a hash of the
key, read and written under an OS lock held for a few microseconds. Whichever
process takes a request, the agency has its whole rate and no more. The bucket
arithmetic is the pure one of core/ratelimit.py.
"""

from __future__ import annotations

import fcntl
import hashlib
import mmap
import os
import struct
from pathlib import Path

import structlog

from edoc_axis.core.ratelimit import Limiter, RateDecision, RateLimiter, TokenBucket
from edoc_axis.server.run_dir import shared_run_dir

log = structlog.get_logger(__name__)
_SLOT = struct.Struct("<16sdd")  # the key's digest, tokens, when they were counted
_EMPTY = bytes(16)


class SharedRateLimiter:
    """Token buckets in a file mapped by every process; one bucket per key."""

    SLOTS = 1 << 16  # distinct keys per run: agencies (or peers) that sent something

    def __init__(self, path: Path, rate_per_s: float, burst: float) -> None:
        self.rate_per_s, self.burst = rate_per_s, burst
        size = self.SLOTS * _SLOT.size
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        if os.fstat(self._fd).st_size < size:
            os.ftruncate(self._fd, size)  # zeros: every slot empty; the same from any process
        self._table = mmap.mmap(self._fd, size)
        # Keys beyond a full table (never expected) are limited in this process alone.
        self._overflow = RateLimiter(rate_per_s, burst)

    def take(self, key: str, now_s: float) -> RateDecision:
        if self.rate_per_s <= 0:
            return RateDecision(True)
        digest = hashlib.blake2b(key.encode(), digest_size=16).digest()
        first = int.from_bytes(digest[:8], "little") % self.SLOTS
        fcntl.flock(self._fd, fcntl.LOCK_EX)
        try:
            for probe in range(self.SLOTS):
                offset = ((first + probe) % self.SLOTS) * _SLOT.size
                found, tokens, counted_at = _SLOT.unpack_from(self._table, offset)
                if found == digest:
                    bucket = TokenBucket(self.rate_per_s, self.burst, tokens, counted_at)
                    break
                if found == _EMPTY:
                    bucket = TokenBucket(self.rate_per_s, self.burst, updated_at=now_s)
                    break
            else:
                log.warning("ratelimit.table_full", slots=self.SLOTS)
                return self._overflow.take(key, now_s)
            decision = bucket.take(now_s)
            _SLOT.pack_into(self._table, offset, digest, bucket.tokens, bucket.updated_at)
            return decision
        finally:
            fcntl.flock(self._fd, fcntl.LOCK_UN)

    def close(self) -> None:
        self._table.close()
        os.close(self._fd)


def rate_limiter(rate_per_s: float, burst: float, table: str) -> Limiter:
    """This process's own buckets, or with several processes the run's shared ``table``."""
    directory = shared_run_dir()
    if directory is None:
        return RateLimiter(rate_per_s, burst)
    return SharedRateLimiter(directory / table, rate_per_s, burst)
