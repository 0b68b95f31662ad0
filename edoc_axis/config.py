"""The axis configuration (`axis.toml`): loading, defaults and the init template.

Relative paths in the file are relative to the file's own folder, so an axis
home can be moved as a whole.
"""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_CONFIG_NAME = "axis.toml"
CONFIG_ENV = "EDOC_AXIS_CONFIG"
DSN_ENV = "EDOC_AXIS_DSN"
STATUS_CODES = ("01", "02", "03", "04", "05", "06", "13", "15", "16")
# Statuses that end or undo a document's handling (refused, finished, recall and
# its answers) must be signed: a bearer token alone must not decide them.
SIGNED_STATUSES_DEFAULT = frozenset({"02", "06", "13", "15", "16"})


@dataclass(frozen=True)
class Limits:
    max_body_bytes: int = 64 * 1024 * 1024
    # Request bodies held at once by the process, charged by the bytes actually
    # received; beyond it intake answers 503. One agency holds at most its share.
    max_inflight_bytes: int = 128 * 1024 * 1024
    max_inflight_bytes_per_agency: int = 64 * 1024 * 1024
    max_xml_depth: int = 64
    max_xml_elements: int = 200_000
    # Bounds that keep every check linear in the body (README "Security").
    max_xml_attributes: int = 64  # per element
    max_xml_namespaces_in_scope: int = 16  # declarations in scope at one element
    max_xml_namespace_declarations: int = 64  # in the whole document
    max_xml_comments: int = 10_000
    # Examinations of one agency's bodies running at once (of the 4 workers).
    max_examinations_per_agency: int = 2
    # Bodies up to this size are examined on the event loop itself (about 1 ms
    # for 10 KB): a hand-off to a worker thread and back costs more than that
    # under the GIL (issue 15: intake +70 %). At 16 KiB the costliest shape the
    # limits admit holds the loop ~5 ms, as long as a worker holding the GIL
    # would (the switch interval). Larger bodies go to the workers; 0: all do.
    inline_examination_bytes: int = 16 * 1024
    rate_per_s: float = 50.0
    rate_burst: float = 200.0
    # Connections (README "Connections, timeouts and budgets"); 0 disables a limit.
    header_timeout_s: float = 10.0  # a request's head, from its first byte or the connection
    # An idle connection between requests; longer than clients reuse one (aiohttp 15 s,
    # ours 10 s: outgoing.py), so that a client never sends on a connection being closed.
    keepalive_timeout_s: float = 75.0
    max_requests_per_connection: int = 1000
    body_idle_timeout_s: float = 15.0  # no byte of a body for this long: 408
    body_min_rate_bytes_per_s: float = 8192.0  # after the first body_idle_timeout_s
    max_connections: int = 1000
    max_connections_per_client: int = 100  # per client address; 0 behind a reverse proxy

    def __post_init__(self) -> None:
        if self.inline_examination_bytes < 0:
            raise ValueError("config: [limits] inline_examination_bytes must be 0 or more")


@dataclass(frozen=True)
class RetrySettings:
    base_s: float = 2.0
    cap_s: float = 600.0
    max_attempts: int = 12
    max_age_s: float = 72 * 3600.0
    connect_timeout_s: float = 5.0
    read_timeout_s: float = 30.0
    # Pushes at once to one endpoint origin, and in all. A push waits on round
    # trips, not CPU: at 4 per endpoint delivery fell behind intake (issue 15).
    per_endpoint_concurrency: int = 16
    workers: int = 32
    lease_s: float = 120.0
    # Consecutive failures that open an endpoint's circuit, and how long it stays open.
    breaker_threshold: int = 5
    breaker_cool_off_s: float = 30.0


@dataclass(frozen=True)
class Interop:
    """``[interop]``: the real-world departures from the strict edXML profile accepted.

    The defaults are what packages from the document systems in service today
    need; each switch set to false refuses such packages with ``schema.invalid``.
    """

    # OrganId in any case (tenant-style "vxp.saas.03"); the registry is upper case.
    case_insensitive_codes: bool = True
    # TraceHeader/OrganId empty or "null": kept, never routed on.
    null_trace_organ_id: bool = True
    # From/To without OrganName.
    missing_organ_name: bool = True


@dataclass(frozen=True)
class VdxpSettings:
    """The reference transport (VDXP) that existing document systems speak."""

    enabled: bool = True
    path_prefix: str = "/vdxp"
    # The official client fixes its timestamp when its object is made, so a
    # long-lived client sends old ones: replay safety comes from idempotency,
    # this window only bounds how stale a signed request may be. 0 disables it.
    freshness_s: float = 7 * 24 * 3600.0
    secret_key_file: Path = Path("vdxp.key")
    list_limit: int = 500  # messages per getReceivedEdocList / getSentEdocList answer


@dataclass(frozen=True)
class FederationSettings:
    """This axis as a node of the tree of axes (README "Connecting axes")."""

    # Axes a relayed document may have crossed before this one: a province →
    # national → province path is 2 before the last axis; 4 leaves room.
    max_hops: int = 4
    # How long an axis waits for a peer's part of a trace before showing the rest.
    trace_timeout_s: float = 5.0
    # How often each active peer's directory is fetched (only what changed is
    # applied; the version says whether anything did). 0: only `edoc-axis peer sync`.
    sync_interval_s: float = 300.0
    # A peer carries a whole province's (or the nation's) traffic, so it has its
    # own rate and examination slots, not an agency's.
    peer_rate_per_s: float = 500.0
    peer_rate_burst: float = 2000.0
    peer_examinations: int = 8


@dataclass(frozen=True)
class AxisConfig:
    home: Path
    axis_name: str = "edoc-axis"
    host: str = "127.0.0.1"
    port: int = 8080
    processes: int = 1
    store_backend: str = "sqlite"
    store_path: Path = Path("store/axis.db")
    # PostgreSQL (backend = "postgresql"): DSN, or EDOC_AXIS_DSN; pool per process.
    store_dsn: str = ""
    store_pool_min: int = 2
    store_pool_max: int = 10
    axis_key: Path = Path("pki/axis.key.pem")
    axis_cert: Path = Path("pki/axis.cert.pem")
    trust_anchors: tuple[Path, ...] = ()
    crl_files: tuple[Path, ...] = ()
    allow_legacy: bool = False
    # Status codes refused unsigned ([security] require_signed_statuses); under
    # allow_legacy the reference SDK's unsigned statuses are accepted.
    require_signed_statuses: frozenset[str] = SIGNED_STATUSES_DEFAULT
    operator_token_file: Path = Path("operator.token")
    log_format: str = "auto"  # auto | json | console
    limits: Limits = field(default_factory=Limits)
    retry: RetrySettings = field(default_factory=RetrySettings)
    interop: Interop = field(default_factory=Interop)
    vdxp: VdxpSettings = field(default_factory=VdxpSettings)
    federation: FederationSettings = field(default_factory=FederationSettings)
    ca_key: Path | None = None  # development CA key, for `pki issue` and conformance --setup
    # HTTPS: the server certificate and key; with tls_client_ca, client certificates
    # (mutual TLS) are asked for, optionally, and one registered to an agency is its login.
    tls_cert: Path | None = None
    tls_key: Path | None = None
    tls_client_ca: Path | None = None
    # CA bundle push delivery verifies https:// endpoints with (None: the system's).
    push_ca_file: Path | None = None

    @property
    def scheme(self) -> str:
        return "https" if self.tls_cert is not None else "http"

    def operator_token(self) -> str:
        return self.operator_token_file.read_text(encoding="utf-8").strip()

    def vdxp_key_file(self) -> Path:
        key_file = self.vdxp.secret_key_file
        return key_file if key_file.is_absolute() else self.home / key_file


def _path(home: Path, value: str) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else home / path


def _optional_path(home: Path, value: Any) -> Path | None:
    return _path(home, str(value)) if value else None


def _section(data: dict[str, Any], name: str) -> dict[str, Any]:
    value = data.get(name, {})
    if not isinstance(value, dict):
        raise ValueError(f"config: [{name}] must be a table")
    return value


def _booleans(data: dict[str, Any], name: str) -> dict[str, Any]:
    values = _section(data, name)
    for key, value in values.items():
        if not isinstance(value, bool):
            raise ValueError(f"config: [{name}] {key} must be true or false")
    return values


def _dataclass_from(cls: type[Any], values: dict[str, Any], section: str) -> Any:
    known = set(cls.__dataclass_fields__)
    unknown = set(values) - known
    if unknown:
        raise ValueError(f"config: unknown keys in [{section}]: {', '.join(sorted(unknown))}")
    return cls(**values)


def load_config(path: Path) -> AxisConfig:
    """Read an `axis.toml`; unknown keys are errors so typos do not pass silently."""
    path = path.resolve()
    with path.open("rb") as handle:
        data = tomllib.load(handle)
    home = path.parent
    axis, server, store = _section(data, "axis"), _section(data, "server"), _section(data, "store")
    security = _section(data, "security")
    ca_key = security.get("ca_key")
    tls = {
        name: _optional_path(home, server.get(name))
        for name in ("tls_cert", "tls_key", "tls_client_ca")
    }
    if (tls["tls_cert"] is None) != (tls["tls_key"] is None):
        raise ValueError("config: [server] tls_cert and tls_key go together")
    if tls["tls_client_ca"] is not None and tls["tls_cert"] is None:
        raise ValueError("config: [server] tls_client_ca needs tls_cert and tls_key")
    return AxisConfig(
        home=home,
        axis_name=_axis_name(str(axis.get("name", "edoc-axis"))),
        host=str(server.get("host", "127.0.0.1")),
        port=int(server.get("port", 8080)),
        processes=int(server.get("processes", 1)),
        log_format=str(server.get("log_format", "auto")),
        store_backend=str(store.get("backend", "sqlite")),  # checked by the store factory
        store_path=_path(home, str(store.get("path", "store/axis.db"))),
        # The environment wins, so a password need not be written in the file.
        store_dsn=os.environ.get(DSN_ENV) or str(store.get("dsn", "")),
        store_pool_min=int(store.get("pool_min_size", 2)),
        store_pool_max=int(store.get("pool_max_size", 10)),
        axis_key=_path(home, str(security.get("axis_key", "pki/axis.key.pem"))),
        axis_cert=_path(home, str(security.get("axis_cert", "pki/axis.cert.pem"))),
        trust_anchors=tuple(_path(home, p) for p in security.get("trust_anchors", [])),
        crl_files=tuple(_path(home, p) for p in security.get("crl_files", [])),
        allow_legacy=bool(security.get("allow_legacy", False)),
        require_signed_statuses=signed_status_codes(
            security.get("require_signed_statuses", sorted(SIGNED_STATUSES_DEFAULT))
        ),
        operator_token_file=_path(home, str(security.get("operator_token_file", "operator.token"))),
        ca_key=_path(home, str(ca_key)) if ca_key else None,
        tls_cert=tls["tls_cert"],
        tls_key=tls["tls_key"],
        tls_client_ca=tls["tls_client_ca"],
        push_ca_file=_optional_path(home, security.get("push_ca_file")),
        limits=_dataclass_from(Limits, _section(data, "limits"), "limits"),
        retry=_dataclass_from(RetrySettings, _section(data, "retry"), "retry"),
        interop=_dataclass_from(Interop, _booleans(data, "interop"), "interop"),
        vdxp=_vdxp_settings(home, _section(data, "vdxp")),
        federation=_dataclass_from(FederationSettings, _section(data, "federation"), "federation"),
    )


# The same rule as core.federation's axis names (config may not import the core;
# tests/unit/test_config_interop.py checks the two agree).
AXIS_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._()-]{0,63}")


def _axis_name(name: str) -> str:
    """``[axis] name``: it signs receipts and travels in relay paths (README "Connecting axes")."""
    if not AXIS_NAME.fullmatch(name):
        raise ValueError(
            f"config: [axis] name {name!r}: 1-64 ASCII letters, digits, spaces, "
            "'.', '_', '-', '(' or ')', starting with a letter or digit "
            "(it travels in the relay path header between axes)"
        )
    return name


def signed_status_codes(value: Any) -> frozenset[str]:
    """``require_signed_statuses``: true (every code), false (none) or a list of codes."""
    if isinstance(value, bool):
        return frozenset(STATUS_CODES) if value else frozenset()
    if not isinstance(value, list) or not all(isinstance(code, str) for code in value):
        raise ValueError(
            "config: [security] require_signed_statuses must be true, false or a list of "
            'status codes such as ["02", "06", "13", "15", "16"]'
        )
    unknown = sorted(set(value) - set(STATUS_CODES))
    if unknown:
        raise ValueError(
            f"config: [security] require_signed_statuses names unknown status codes "
            f"{', '.join(unknown)} (known: {', '.join(STATUS_CODES)})"
        )
    return frozenset(value)


def _vdxp_settings(home: Path, values: dict[str, Any]) -> VdxpSettings:
    values = dict(values)
    values["secret_key_file"] = _path(home, str(values.get("secret_key_file", "vdxp.key")))
    settings: VdxpSettings = _dataclass_from(VdxpSettings, values, "vdxp")
    prefix = settings.path_prefix
    if not prefix.startswith("/") or prefix.endswith("/") or len(prefix) < 2:
        raise ValueError("config: [vdxp] path_prefix must look like /vdxp")
    return settings


def find_config(explicit: str | None) -> Path:
    """The config path from a flag, then EDOC_AXIS_CONFIG, then ./axis.toml."""
    return Path(explicit or os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG_NAME)


TLS_OFF = """\
# tls_cert = "pki/tls.cert.pem"   # HTTPS (edoc-axis init --tls makes a development pair)
# tls_key = "pki/tls.key.pem"
# tls_client_ca = "pki/ca.cert.pem"  # mutual TLS: client certificates from this CA
"""
TLS_ON = """\
tls_cert = "pki/tls.cert.pem"  # HTTPS; development certificate for 127.0.0.1 and localhost
tls_key = "pki/tls.key.pem"
# tls_client_ca = "pki/ca.cert.pem"  # mutual TLS: client certificates from this CA
"""

CONFIG_TEMPLATE = """\
# edoc-axis configuration. Relative paths are relative to this file's folder.

[axis]
name = "{axis_name}"

[server]
host = "127.0.0.1"
port = {port}
processes = 1                # axis processes sharing the port (one core each)
log_format = "auto"          # auto (console on a terminal, JSON otherwise) | json | console
{tls}
[store]
backend = "sqlite"           # sqlite | postgresql (several nodes: README "Running several nodes")
path = "store/axis.db"
# dsn = "postgresql://edoc@db.example/edoc_axis"   # postgresql only; or env EDOC_AXIS_DSN
# pool_min_size = 2          # postgresql connections per axis process
# pool_max_size = 10

[security]
axis_key = "pki/axis.key.pem"
axis_cert = "pki/axis.cert.pem"
trust_anchors = ["pki/ca.cert.pem"]
crl_files = ["pki/ca.crl.pem"]
allow_legacy = false         # true accepts SHA-1 and the reference SDK's edXML-namespace signature
                             # (and its unsigned statuses)
require_signed_statuses = ["02", "06", "13", "15", "16"]  # refused unsigned (true: all)
operator_token_file = "operator.token"
ca_key = "pki/ca.key.pem"    # development CA only; remove in production
# push_ca_file = "pki/ca.cert.pem"  # CA bundle for https:// push endpoints (default: system CAs)

[limits]
max_body_bytes = 67108864    # 64 MiB, enforced while the body streams in
max_inflight_bytes = 134217728  # 128 MiB of bodies held at once; beyond it 503 + Retry-After
max_inflight_bytes_per_agency = 67108864  # 64 MiB: no agency takes the whole budget
max_xml_depth = 64
max_xml_elements = 200000
max_xml_attributes = 64      # per element
max_xml_namespaces_in_scope = 16  # namespace declarations in scope at any one element
max_xml_namespace_declarations = 64  # in the whole document
max_xml_comments = 10000
max_examinations_per_agency = 2  # one agency's bodies examined at once; others never wait for them
inline_examination_bytes = 16384  # smaller bodies: examined on the event loop; 0: never
rate_per_s = 50.0            # per agency; 0 disables
rate_burst = 200.0
header_timeout_s = 10.0      # the request head must arrive within this (else the connection closes)
keepalive_timeout_s = 75.0   # idle connections are closed after this (clients stop reusing sooner)
max_requests_per_connection = 1000
body_idle_timeout_s = 15.0   # a body that stalls this long gets 408 request.timeout
body_min_rate_bytes_per_s = 8192.0  # ... or that falls below 8 KiB/s after that grace
max_connections = 1000       # open connections per axis process; beyond it 503 and close
max_connections_per_client = 100  # per client address (0 disables; use 0 behind a proxy)

[vdxp]
enabled = true               # the reference transport for existing document systems
path_prefix = "/vdxp"        # the endpoint URL integrators set is http(s)://HOST:PORT/vdxp
freshness_s = 604800.0       # oldest signed timestamp accepted (the client fixes it at start)
secret_key_file = "vdxp.key" # seals the systems' HMAC secrets in the store (0600)
list_limit = 500

[retry]
base_s = 2.0
cap_s = 600.0
max_attempts = 12
max_age_s = 259200.0
connect_timeout_s = 5.0
read_timeout_s = 30.0
per_endpoint_concurrency = 16
workers = 32
lease_s = 120.0
breaker_threshold = 5        # consecutive failures that open an endpoint's circuit
breaker_cool_off_s = 30.0    # how long it stays open before one trial push

[federation]
# This axis as a node of the tree of axes (README "Connecting axes").
max_hops = 4                 # axes a relayed document may have crossed before this one
trace_timeout_s = 5.0        # how long a trace waits for a peer axis's part
sync_interval_s = 300.0      # how often peers' directories are fetched; 0: by hand only
peer_rate_per_s = 500.0      # relays per second from one peer axis (an agency: [limits] rate_per_s)
peer_rate_burst = 2000.0
peer_examinations = 8        # a peer's packages examined at once (an agency: 2)

[interop]
# Real-world packages the strict edXML profile refuses; false refuses them
# with schema.invalid. The stored bytes are always the received bytes.
case_insensitive_codes = true  # OrganId in lower case, e.g. tenant-style "vxp.saas.03"
null_trace_organ_id = true     # TraceHeader/OrganId empty or "null": kept, not routed on
missing_organ_name = true      # From/To without OrganName
"""
