"""Prometheus series, one registry per app so tests and several apps don't collide.

With ``serve --processes N`` the supervisor gives its workers a directory of
their own in ``PROMETHEUS_MULTIPROC_DIR`` (cli/axis_workers.py), and
prometheus-client's multiprocess mode keeps every process's series in files
there: a scrape, whichever process answers it, then sums the counters of all of
them (a dead process's included, so a total never goes down), adds up the
gauges that are per process (connections, body bytes held) over the live ones,
and takes the most recent reading of the gauges read from the store. Without
it each scrape described only the process that answered: counters that went
up and down between scrapes, which Prometheus takes for resets.
"""

from __future__ import annotations

import os

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

MULTIPROCESS_DIR = "PROMETHEUS_MULTIPROC_DIR"


def multiprocess_dir() -> str | None:
    """The directory shared by the processes of one `serve --processes N`, if any."""
    return os.environ.get(MULTIPROCESS_DIR) or None


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self._collectors: list[Collector] = []  # read at scrape time, not kept in files
        self.accepted = Counter(
            "edoc_documents_accepted_total", "Documents accepted", registry=self.registry
        )
        self.rejected = Counter(
            "edoc_documents_rejected_total",
            "Submissions refused, by error code",
            ["code"],
            registry=self.registry,
        )
        self.deliveries = Counter(
            "edoc_deliveries_total",
            "Delivery attempts by outcome",
            ["outcome"],
            registry=self.registry,
        )
        # Peers are few and registered by an operator: the label stays bounded.
        self.relays = Counter(
            "edoc_relays_received_total",
            "Documents, statuses and notices relayed by peer axes, by peer and outcome "
            "(accepted, again for the same bytes, or the refusal's code)",
            ["peer", "outcome"],
            registry=self.registry,
        )
        self.attempt_seconds = Histogram(
            "edoc_delivery_attempt_seconds", "Push attempt latency", registry=self.registry
        )
        # Read from the (shared) store at scrape time: the latest reading is the truth.
        self.queue_depth = Gauge(
            "edoc_delivery_queue_depth",
            "Deliveries not yet delivered",
            registry=self.registry,
            multiprocess_mode="mostrecent",
        )
        self.oldest_pending_age = Gauge(
            "edoc_oldest_undelivered_age_seconds",
            "Age of the oldest undelivered delivery",
            registry=self.registry,
            multiprocess_mode="mostrecent",
        )

        self.connections_closed = Counter(
            "edoc_connections_closed_total",
            "Connections refused or closed by the guard (refused, header_timeout, idle_timeout)",
            ["reason"],
            registry=self.registry,
        )
        # Per process: summed over the live processes.
        self.connections_open = Gauge(
            "edoc_connections_open",
            "Connections open (in every process of this serve)",
            registry=self.registry,
            multiprocess_mode="livesum",
        )
        self.inflight_bytes = Gauge(
            "edoc_inflight_body_bytes",
            "Request body bytes held now (in every process of this serve)",
            registry=self.registry,
            multiprocess_mode="livesum",
        )
        # A failed whole-chain check is tamper evidence: with several processes, one
        # that found the chain broken keeps the figure at 0 for the whole serve.
        self.audit_ok = Gauge(
            "edoc_audit_chain_ok",
            "1 if the last whole-chain verification passed, 0 if it failed "
            "(with serve --processes N: 0 if any verification in this serve failed)",
            registry=self.registry,
            multiprocess_mode="min",
        )
        self.audit_verified_at = Gauge(
            "edoc_audit_last_verified_timestamp_seconds",
            "When the whole chain was last verified by this serve (Unix time; 0 never)",
            registry=self.registry,
            multiprocess_mode="max",
        )
        self.audit_ok.set(1)  # nothing found broken yet; the timestamp says if it was looked at

    def add_collector(self, collector: Collector) -> None:
        """Series computed at scrape time (from the store), the same in every process."""
        self.registry.register(collector)
        self._collectors.append(collector)

    def render(self) -> bytes:
        path = multiprocess_dir()
        if path is None:
            return generate_latest(self.registry)
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path)  # type: ignore[no-untyped-call]
        for collector in self._collectors:
            registry.register(collector)
        return generate_latest(registry)
