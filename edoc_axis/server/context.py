"""Everything a request handler needs, loaded once when the app is made."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.types import CertificateIssuerPrivateKeyTypes

from edoc_axis.clock import Clock
from edoc_axis.config import AxisConfig
from edoc_axis.core.health import EndpointHealth
from edoc_axis.core.ratelimit import Limiter, RateLimiter
from edoc_axis.edxml import STRICT, Tolerances, XmlLimits
from edoc_axis.keyfiles import load_certs, load_key
from edoc_axis.server.bodies import InflightBudget
from edoc_axis.server.fairness import ExaminationSlots
from edoc_axis.server.metrics import Metrics
from edoc_axis.server.shared_rates import rate_limiter
from edoc_axis.service.registry import hash_token
from edoc_axis.signature import VerificationPolicy
from edoc_axis.store import Store
from edoc_axis.trust_files import ReloadingTrust


@dataclass
class AxisServices:
    config: AxisConfig
    store: Store
    clock: Clock
    trust_files: ReloadingTrust
    policy: VerificationPolicy
    axis_key: CertificateIssuerPrivateKeyTypes
    axis_cert: x509.Certificate
    xml_limits: XmlLimits
    limiter: Limiter
    operator_token_hash: str
    metrics: Metrics
    # The [interop] tolerances intake reads packages with.
    tolerances: Tolerances = STRICT
    # Called after a document is accepted; the wiring hooks the push dispatcher
    # here so that the server never imports the delivery package.
    on_accepted: list[Callable[[], None]] = field(default_factory=list)
    # What push delivery knows of its endpoints now (breakers); the wiring hooks
    # the dispatcher here, like on_accepted. Empty when this process does not push.
    endpoint_health: list[Callable[[], list[EndpointHealth]]] = field(default_factory=list)
    executor: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(max_workers=4, thread_name_prefix="verify")
    )
    inflight: InflightBudget = field(default_factory=lambda: InflightBudget(128 * 1024 * 1024))
    examinations: ExaminationSlots = field(default_factory=lambda: ExaminationSlots(2))
    # Batch fetches of one agency answered at once (each holds up to 16 MiB of
    # documents until sent): the others wait, holding only their connection.
    batch_fetches: ExaminationSlots = field(default_factory=lambda: ExaminationSlots(2))
    # Peer axes ([federation]): a province's traffic through one peer, not an agency's.
    peer_limiter: Limiter = field(default_factory=lambda: RateLimiter(500.0, 2000.0))
    peer_examinations: ExaminationSlots = field(default_factory=lambda: ExaminationSlots(8))


SERVICES = web.AppKey("services", AxisServices)


def load_services(config: AxisConfig, store: Store, clock: Clock) -> AxisServices:
    """Load keys, certificates and CRLs once: loading a key per call costs ~40 ms."""
    limits = config.limits
    operator_token = config.operator_token()
    key = load_key(config.axis_key)
    return AxisServices(
        config=config,
        store=store,
        clock=clock,
        trust_files=ReloadingTrust(config.trust_anchors, config.crl_files),
        policy=VerificationPolicy(allow_legacy=config.allow_legacy),
        axis_key=key,
        axis_cert=load_certs(config.axis_cert)[0],
        xml_limits=XmlLimits(
            max_bytes=limits.max_body_bytes,
            max_depth=limits.max_xml_depth,
            max_elements=limits.max_xml_elements,
            max_attributes=limits.max_xml_attributes,
            max_namespaces_in_scope=limits.max_xml_namespaces_in_scope,
            max_namespace_declarations=limits.max_xml_namespace_declarations,
            max_comments=limits.max_xml_comments,
        ),
        limiter=rate_limiter(limits.rate_per_s, limits.rate_burst, "agency-rates"),
        operator_token_hash=hash_token(operator_token),
        metrics=Metrics(),
        tolerances=Tolerances(**dataclasses.asdict(config.interop)),
        inflight=InflightBudget(limits.max_inflight_bytes, limits.max_inflight_bytes_per_agency),
        examinations=ExaminationSlots(limits.max_examinations_per_agency),
        peer_limiter=rate_limiter(
            config.federation.peer_rate_per_s, config.federation.peer_rate_burst, "peer-rates"
        ),
        peer_examinations=ExaminationSlots(config.federation.peer_examinations),
    )
