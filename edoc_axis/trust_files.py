"""Trust anchors and CRLs read from files, re-read when a CRL file changes.

CRLs are re-published daily in production; the axis picks a new one up within
``check_interval_s`` without a restart. A CRL that fails to load keeps the
previous trust store in force (and is logged), so a half-written file never
opens the door.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import structlog

from edoc_axis.keyfiles import load_trust_store
from edoc_axis.signature import TrustStore

log = structlog.get_logger("edoc_axis.trust")


class ReloadingTrust:
    def __init__(
        self,
        anchor_files: Sequence[Path],
        crl_files: Sequence[Path],
        *,
        check_interval_s: float = 2.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._anchors, self._crls = tuple(anchor_files), tuple(crl_files)
        self._interval, self._monotonic = check_interval_s, monotonic
        self._lock = threading.Lock()
        self._stamps = self._stat()
        self._store = load_trust_store(self._anchors, self._crls)
        self._checked_at = monotonic()

    def _stat(self) -> tuple[tuple[int, int], ...]:
        stamps = []
        for path in self._crls:
            try:
                info = path.stat()
            except OSError:
                stamps.append((-1, -1))
            else:
                stamps.append((info.st_mtime_ns, info.st_size))
        return tuple(stamps)

    def current(self) -> TrustStore:
        """The trust store in force; re-reads the CRLs if a file changed."""
        now = self._monotonic()
        if now - self._checked_at < self._interval:
            return self._store
        with self._lock:
            self._checked_at = now
            stamps = self._stat()
            if stamps != self._stamps:
                try:
                    self._store = load_trust_store(self._anchors, self._crls)
                    log.info("trust.crl_reloaded", files=[str(p) for p in self._crls])
                except (OSError, ValueError) as exc:
                    log.error("trust.crl_reload_failed", error=str(exc))
                self._stamps = stamps
        return self._store
