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
from collections.abc import Iterator
from datetime import datetime, timedelta

from aiohttp import web
from cryptography import x509
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

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


# (name, help, labels) of each series computed from the store.
_SERIES: dict[str, tuple[str, str, tuple[str, ...]]] = {
    "deliveries": (
        "edoc_agency_deliveries",
        "Deliveries to the agency by state, now",
        ("agency", "state"),
    ),
    "oldest_pending": (
        "edoc_agency_oldest_pending_age_seconds",
        "Age of the agency's oldest pending delivery (0 when none)",
        ("agency",),
    ),
    "accepted": (
        "edoc_agency_accepted_last_hour",
        "Documents the agency sent that were accepted in the last hour",
        ("agency",),
    ),
    "refused": (
        "edoc_agency_refused_last_hour",
        "Documents of the agency refused in the last hour, by code",
        ("agency", "code"),
    ),
    "retries": (
        "edoc_agency_retries_last_hour",
        "Push attempts to the agency that failed and were rescheduled in the last hour",
        ("agency",),
    ),
    "dead_letters": (
        "edoc_dead_letters",
        "Dead-lettered deliveries now (test agencies excluded)",
        (),
    ),
    "cert_expiry": (
        "edoc_agency_certificate_expiry_seconds",
        "Seconds until the agency's soonest-expiring registered certificate expires",
        ("agency",),
    ),
}
Reading = dict[str, dict[tuple[str, ...], float]]  # series -> label values -> value


class OperatorMetrics(Collector):
    """A collector, not gauges: its series are read from the store at scrape time, so
    they are the same whichever process answers and need no per-process files."""

    def __init__(self, services: AxisServices) -> None:
        self._services = services
        self._codes = refusal_codes()
        self._read_at = 0.0
        self._reading: Reading = {key: {} for key in _SERIES}
        services.metrics.add_collector(self)

    def describe(self) -> Iterator[GaugeMetricFamily]:
        for name, help_text, labels in _SERIES.values():
            yield GaugeMetricFamily(name, help_text, labels=labels)

    def collect(self) -> Iterator[GaugeMetricFamily]:
        for key, (name, help_text, labels) in _SERIES.items():
            family = GaugeMetricFamily(name, help_text, labels=labels)
            for label_values, value in self._reading[key].items():
                family.add_metric(label_values, value)
            yield family

    def audit_verified(self, ok: bool, at: datetime) -> None:
        metrics = self._services.metrics
        metrics.audit_ok.set(1 if ok else 0)
        metrics.audit_verified_at.set(at.timestamp())

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
        reading: Reading = {key: defaultdict(float) for key in _SERIES}
        self._read_deliveries(reading, stats, known)
        self._read_oldest_and_counts(reading, activity, known, now)
        expiring = [a for a in agencies if a.code in known]
        await self._read_certificate_expiry(reading, store, expiring, now)
        self._reading = reading
        self._read_at = time.monotonic()

    def _read_deliveries(self, reading: Reading, stats: Stats, known: list[str]) -> None:
        for (code, state), n in stats.by_agency_state.items():
            reading["deliveries"][(self._label(code, known), state)] += n
        reading["dead_letters"][()] = stats.by_state.get("dead", 0)

    def _read_oldest_and_counts(
        self, reading: Reading, activity: Activity, known: list[str], now: datetime
    ) -> None:
        oldest: dict[str, float] = {}
        for code, (_, queued) in activity.pending.items():
            label = self._label(code, known)
            oldest[label] = max(oldest.get(label, 0.0), (now - queued).total_seconds())
        for label in known:
            reading["oldest_pending"][(label,)] = max(0.0, oldest.get(label, 0.0))
            reading["accepted"][(label,)] = 0
            reading["retries"][(label,)] = 0
        for count in activity.counts:
            label = self._label(count.agency, known)
            if count.event == "document.accepted":
                reading["accepted"][(label,)] += count.count
            elif count.event == "delivery.retry_scheduled":
                reading["retries"][(label,)] += count.count
            elif count.event == "document.refused":
                code = count.code if count.code in self._codes else "other"
                reading["refused"][(label, code)] += count.count

    async def _read_certificate_expiry(
        self, reading: Reading, store: Store, agencies: list[Agency], now: datetime
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
                reading["cert_expiry"][(agency.code,)] = min(expiries)


OPERATOR_METRICS = web.AppKey("operator_metrics", OperatorMetrics)


def install_metrics(services: AxisServices) -> OperatorMetrics:
    return OperatorMetrics(services)
