"""Which cgroup version serves this host, and a manager of that version.

The one place that knows both v1.py and v2.py; each of them knows only the
interface (manager.py), so the family has no circle.
"""

from __future__ import annotations

import os

from .manager import CgroupConfig, CgroupError, CgroupManager, HostSupport, cgroup_mounts
from .v1 import V1Manager
from .v1 import probe as probe_v1
from .v2 import V2Manager
from .v2 import probe as probe_v2

DRIVER_ENV = "PYCTR_CGROUP_DRIVER"

MANAGERS: dict[str, type[CgroupManager]] = {"v1": V1Manager, "v2": V2Manager}


def v1_available() -> bool:
    return any(m.fstype == "cgroup" and "name=systemd" not in m.options for m in cgroup_mounts())


def choose_driver(forced: str | None = None) -> str:
    """v1 when v1 controller hierarchies are mounted, else v2; PYCTR_CGROUP_DRIVER or `forced` override."""
    choice = forced or os.environ.get(DRIVER_ENV, "")
    if choice in MANAGERS:
        return choice
    if choice:
        raise CgroupError(f"unknown cgroup driver {choice!r} (want v1 or v2)")
    return "v1" if v1_available() else "v2"


def host_support(driver: str | None = None) -> HostSupport:
    return probe_v1() if choose_driver(driver) == "v1" else probe_v2()


def new(config: CgroupConfig, driver: str | None = None) -> CgroupManager:
    return MANAGERS[choose_driver(driver)](config)


def load(state: dict) -> CgroupManager:
    """The manager that `state()` described (a daemon that restarted finds its cgroups)."""
    return MANAGERS["v1" if state.get("driver") == "v1" else "v2"].from_state(state)
