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

    @property
    def pidfile_path(self) -> str:
        return self.pidfile or os.path.join(self.data_root, "pyctrd.pid")

    def path(self, *parts: str) -> str:
        return os.path.join(self.data_root, *parts)
