"""Per-agency series for /metrics, computed from the store at scrape time.

Reading the store (not counting in this process) makes every node of a
multi-node axis expose the same figures. Label sets are bounded: the agency
label only takes registered agencies' codes, at most ``MAX_AGENCY_LABELS`` of
them (the rest summed under ``_other``), and refusal codes are the fixed set of
the axis's error codes (anything else is ``other``).
"""

from __future__ import annotations

import time
from collections import defaultdict
from datetime import datetime, timedelta

from aiohttp import web
from cryptography import x509
from prometheus_client import Gauge

from edoc_axis import errors
from edoc_axis.server.context import AxisServices
from edoc_axis.store import Activity, Agency, Stats, Store

MAX_AGENCY_LABELS = 500
OTHER = "_other"
_WINDOW = timedelta(hours=1)
_CACHE_S = 15.0  # scrapes closer together than this reuse the last reading


def refusal_codes() -> frozenset[str]:
    """Every code an ``EdocError`` subclass answers with: the closed label set."""
    found: set[str] = set()
    pending: list[type] = [errors.EdocError]
    while pending:
        cls = pending.pop()
        pending.extend(cls.__subclasses__())
        code = getattr(cls, "code", None)
        if isinstance(code, str) and code:
            found.add(code)
    return frozenset(found)


class OperatorMetrics:
    def __init__(self, services: AxisServices) -> None:
        self._services = services
        self._codes = refusal_codes()
        self._read_at = 0.0
        registry = services.metrics.registry
        self.deliveries = Gauge(
            "edoc_agency_deliveries",
            "Deliveries to the agency by state, now",
            ["agency", "state"],
            registry=registry,
        )
        self.oldest_pending = Gauge(
            "edoc_agency_oldest_pending_age_seconds",
            "Age of the agency's oldest pending delivery (0 when none)",
            ["agency"],
            registry=registry,
        )
        self.accepted = Gauge(
            "edoc_agency_accepted_last_hour",
            "Documents the agency sent that were accepted in the last hour",
            ["agency"],
            registry=registry,
        )
        self.refused = Gauge(
            "edoc_agency_refused_last_hour",
            "Documents of the agency refused in the last hour, by code",
            ["agency", "code"],
            registry=registry,
        )
        self.retries = Gauge(
            "edoc_agency_retries_last_hour",
            "Push attempts to the agency that failed and were rescheduled in the last hour",
            ["agency"],
            registry=registry,
        )
        self.dead_letters = Gauge(
            "edoc_dead_letters",
            "Dead-lettered deliveries now (test agencies excluded)",
            registry=registry,
        )
        self.cert_expiry = Gauge(
            "edoc_agency_certificate_expiry_seconds",
            "Seconds until the agency's soonest-expiring registered certificate expires",
            ["agency"],
            registry=registry,
        )
        self.audit_ok = Gauge(
            "edoc_audit_chain_ok",
            "1 if the last whole-chain verification in this process passed, 0 if it failed",
            registry=registry,
        )
        self.audit_verified_at = Gauge(
            "edoc_audit_last_verified_timestamp_seconds",
            "When the whole chain was last verified in this process (Unix time; 0 never)",
            registry=registry,
        )
        self.audit_ok.set(1)  # nothing found broken yet; the timestamp says if it was looked at

    def audit_verified(self, ok: bool, at: datetime) -> None:
        self.audit_ok.set(1 if ok else 0)
        self.audit_verified_at.set(at.timestamp())

    def _label(self, code: str | None, known: list[str]) -> str:
        return code if code is not None and code in known else OTHER

    async def refresh(self) -> None:
        if time.monotonic() - self._read_at < _CACHE_S and self._read_at:
            return
        services = self._services
        store = services.store
        now = services.clock.now()
        agencies = await store.list_agencies()
        known = [a.code for a in agencies][:MAX_AGENCY_LABELS]
        stats = await store.stats(now)
        activity = await store.activity(now - _WINDOW, now + timedelta(seconds=1))
        for gauge in (
            self.deliveries,
            self.oldest_pending,
            self.accepted,
            self.refused,
            self.retries,
            self.cert_expiry,
        ):
            gauge.clear()
        self._set_deliveries(stats, known)
        self._set_oldest_and_counts(activity, known, now)
        await self._set_certificate_expiry(store, [a for a in agencies if a.code in known], now)
        self._read_at = time.monotonic()

    def _set_deliveries(self, stats: Stats, known: list[str]) -> None:
        states: dict[tuple[str, str], int] = defaultdict(int)
        for (code, state), n in stats.by_agency_state.items():
            states[(self._label(code, known), state)] += n
        for (label, state), n in states.items():
            self.deliveries.labels(label, state).set(n)
        self.dead_letters.set(stats.by_state.get("dead", 0))

    def _set_oldest_and_counts(self, activity: Activity, known: list[str], now: datetime) -> None:
        oldest: dict[str, float] = {}
        for code, (_, queued) in activity.pending.items():
            label = self._label(code, known)
            oldest[label] = max(oldest.get(label, 0.0), (now - queued).total_seconds())
        for label in known:
            self.oldest_pending.labels(label).set(max(0.0, oldest.get(label, 0.0)))
            self.accepted.labels(label).set(0)
            self.retries.labels(label).set(0)
        for count in activity.counts:
            label = self._label(count.agency, known)
            if count.event == "document.accepted":
                self.accepted.labels(label).inc(count.count)
            elif count.event == "delivery.retry_scheduled":
                self.retries.labels(label).inc(count.count)
            elif count.event == "document.refused":
                code = count.code if count.code in self._codes else "other"
                self.refused.labels(label, code).inc(count.count)

    async def _set_certificate_expiry(
        self, store: Store, agencies: list[Agency], now: datetime
    ) -> None:
        for agency in agencies:
            expiries = []
            for fingerprint in agency.certificate_fingerprints:
                pem = await store.certificate_pem(fingerprint)
                if pem is None:
                    continue
                try:
                    cert = x509.load_pem_x509_certificate(pem)
                except ValueError:
                    continue
                expiries.append((cert.not_valid_after_utc - now).total_seconds())
            if expiries:
                self.cert_expiry.labels(agency.code).set(min(expiries))


OPERATOR_METRICS = web.AppKey("operator_metrics", OperatorMetrics)


def install_metrics(services: AxisServices) -> OperatorMetrics:
    return OperatorMetrics(services)
