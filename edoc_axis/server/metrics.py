"""Prometheus series, one registry per app so tests and several apps don't collide."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
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
        self.queue_depth = Gauge(
            "edoc_delivery_queue_depth", "Deliveries not yet delivered", registry=self.registry
        )
        self.oldest_pending_age = Gauge(
            "edoc_oldest_undelivered_age_seconds",
            "Age of the oldest undelivered delivery",
            registry=self.registry,
        )

        self.connections_closed = Counter(
            "edoc_connections_closed_total",
            "Connections refused or closed by the guard (refused, header_timeout, idle_timeout)",
            ["reason"],
            registry=self.registry,
        )
        self.connections_open = Gauge(
            "edoc_connections_open", "Connections open in this process", registry=self.registry
        )
        self.inflight_bytes = Gauge(
            "edoc_inflight_body_bytes", "Request body bytes held now", registry=self.registry
        )

    def render(self) -> bytes:
        return generate_latest(self.registry)
