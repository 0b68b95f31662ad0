"""The system under test: a fresh axis home, the axis and the reference endpoint.

Three agencies: the sender (pull), a pull recipient the load generator drains,
and a push recipient behind the reference endpoint. The home's rate limit is
switched off (``rate_per_s = 0``): the benchmark measures throughput, and the
per-agency limiter would otherwise answer 429 after the burst. So is the limit
of connections per client address (``max_connections_per_client = 0``): every
client of the bench comes from 127.0.0.1, where a real axis sees each agency
from its own address, and the half-rate phase alone opens 64 connections
beside the pull recipient's (with the last phase's still closing, near 100).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from edoc_axis import outgoing
from edoc_axis.bench.processes import Child, NodeGroup, start_axis, start_endpoint, start_nodes
from edoc_axis.bench.workload import Party, make_party
from edoc_axis.home import Home, init_home
from edoc_axis.pki import Issued, cert_to_pem, load_certs, load_key
from edoc_axis.pki.authority import KeyType

SENDER = ("000.00.00.G22", "Văn phòng Chính phủ")
PULLER = ("000.00.00.H41", "UBND tỉnh Nghệ An")
PUSHED = ("000.00.00.H49", "UBND tỉnh Quảng Ninh")
ARCHIVE = ("000.00.00.H26", "UBND tỉnh Hưng Yên")  # receives the --scale preload


@dataclass
class Rig:
    """A home folder with its parties; ``start`` runs the endpoint and the axis."""

    folder: Path
    home: Home
    ca: Issued
    parties: dict[str, Party]
    tokens: dict[str, str] = field(default_factory=dict)
    axis: Child | NodeGroup | None = None
    endpoint: Child | None = None
    nodes: int = 0  # > 0: that many separate serve processes (a shared PostgreSQL store)

    @property
    def config(self) -> Path:
        return self.home.config

    @property
    def store_path(self) -> Path:
        return self.home.root / "store" / "axis.db"

    @property
    def url(self) -> str:
        assert self.axis is not None, "the axis is not running"
        return self.axis.url

    @property
    def urls(self) -> list[str]:
        """Every node's URL (one for a single axis)."""
        assert self.axis is not None, "the axis is not running"
        return self.axis.urls if isinstance(self.axis, NodeGroup) else [self.axis.url]

    def sender(self) -> Party:
        return self.parties[SENDER[0]]

    def recipients(self) -> list[str]:
        return [PULLER[0], PUSHED[0]]

    def start_processes(self) -> None:
        if self.endpoint is None:
            received = self.folder / "received"
            self.endpoint = start_endpoint(received, self.home.root / "pki", self.folder)
        if self.nodes:
            self.axis = start_nodes(self.config, self.folder, self.nodes)
        else:
            self.axis = start_axis(self.config, self.folder)

    def stop_axis(self) -> None:
        if self.axis is not None:
            self.axis.stop()
            self.axis = None

    def stop(self) -> None:
        self.stop_axis()
        if self.endpoint is not None:
            self.endpoint.stop()
            self.endpoint = None

    async def register(self) -> None:
        """Register the four agencies through the operator API; keep their tokens."""
        assert self.endpoint is not None
        headers = {"Authorization": f"Bearer {self.home.operator_token}"}
        async with aiohttp.ClientSession(
            headers=headers, connector=outgoing.connector()
        ) as session:
            for code, party in self.parties.items():
                push = code == PUSHED[0]
                body = {
                    "code": code,
                    "name": party.name,
                    "delivery_mode": "push" if push else "pull",
                    "endpoint_url": self.endpoint.url + "/" if push else None,
                    "certificates": [cert_to_pem(party.issued.cert).decode()],
                }
                url = self.url + "/admin/v1/agencies"
                async with session.post(url, json=body) as response:
                    data = await response.json()
                    if response.status != 201:
                        raise RuntimeError(f"registering {code}: {response.status} {data}")
                self.tokens[code] = str(data["token"])


def tune_config(config: Path, settings: dict[str, str]) -> None:
    """Set ``key = value`` lines of the generated axis.toml in place."""
    text = config.read_text(encoding="utf-8")
    for key, value in settings.items():
        text, count = re.subn(rf"(?m)^{key} = [^#\n]*", f"{key} = {value}   ", text)
        if count != 1:
            raise RuntimeError(f"axis.toml has no single {key} line")
    config.write_text(text, encoding="utf-8")


def new_rig(folder: Path, key_type: KeyType = "rsa", processes: int = 1) -> Rig:
    """Create the home (a development CA, the axis key) and the agencies' keys."""
    home = init_home(folder / "axis", axis_name="edoc-axis bench")
    tune_config(
        home.config,
        {"rate_per_s": "0.0", "max_connections_per_client": "0", "processes": str(processes)},
    )
    pki = home.root / "pki"
    ca = Issued(key=load_key(pki / "ca.key.pem"), cert=load_certs(pki / "ca.cert.pem")[0])
    parties = {
        code: make_party(ca, code, name, key_type) for code, name in (SENDER, PULLER, PUSHED)
    }
    parties[ARCHIVE[0]] = make_party(ca, *ARCHIVE, key_type)
    return Rig(folder=folder, home=home, ca=ca, parties=parties)
