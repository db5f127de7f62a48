"""How pyctrd was started: every daemon flag, typed, in one record."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

DEFAULT_SOCKET = "unix:///var/run/pyctr.sock"


@dataclass
class DaemonConfig:
    hosts: list[str] = field(default_factory=lambda: [DEFAULT_SOCKET])
    data_root: str = "/var/lib/pyctr"
    exec_root: str = "/var/run/pyctr"
    storage_driver: str | None = None      # None: overlay where supported, else vfs
    exec_driver: str = "native"
    cgroup_parent: str = ""                # "": under the daemon's own cgroup
    log_level: str = "info"
    pidfile: str = ""                      # "": <data_root>/pyctrd.pid
    dns: list[str] = field(default_factory=list)
    dns_search: list[str] = field(default_factory=list)
    shutdown_timeout: float = 10           # per container, then SIGKILL
    live_restore: bool = True              # containers outlive pyctrd (false: Docker 1.2's behaviour)
    insecure_registries: list[str] = field(default_factory=list)  # plain HTTP allowed (loopback always)
    registry_mirrors: list[str] = field(default_factory=list)     # tried before Docker Hub for pulls
    default_registry: str = "docker.io"    # where unqualified names are pulled; "none": nowhere
    # networking (Docker 1.2's bridge driver flags)
    bridge: str = ""                       # "": first free of pyctr0..9; "none": only lo
    bip: str = ""                          # bridge address/prefix; "": a free subnet
    fixed_cidr: str = ""                   # containers' addresses from this part of the subnet
    mtu: int = 1500
    ip_forward: bool = True
    iptables: bool = True
    icc: bool = True                       # containers on the bridge may talk to each other
    ip_masq: bool = True
    userland_proxy: bool = True            # false: 127.0.0.1 reaches published ports by DNAT
    # API connections (server/connections.py): seconds, 0 = never; max 0 = from RLIMIT_NOFILE
    header_timeout: float = 300.0          # to send a request's head (dockerd's ReadHeaderTimeout)
    idle_timeout: float = 120.0            # between requests (above the docker CLI's 90 s)
    body_timeout: float = 300.0            # of silence within a request's body
    max_connections: int = 0
    # user-defined networks without a subnet take one from these ("base=CIDR,size=N")
    default_address_pools: list[str] = field(default_factory=list)

    @property
    def pidfile_path(self) -> str:
        return self.pidfile or os.path.join(self.data_root, "pyctrd.pid")

    def path(self, *parts: str) -> str:
        return os.path.join(self.data_root, *parts)
