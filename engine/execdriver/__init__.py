"""Exec drivers: the interface (driver.py) and its implementations, chosen by name."""

from __future__ import annotations

import os

from ..libcontainer.capabilities import CAPABILITIES, DOCKER_DEFAULT
from .driver import ExecDriver
from .native import NativeDriver

__all__ = ["CAPABILITIES", "DOCKER_DEFAULT", "DRIVERS", "ExecDriver", "new_execdriver"]

# Every implementation, by the name `--exec-driver` takes; each is made with the
# directory where it keeps its per-container state.
DRIVERS: dict[str, type[ExecDriver]] = {"native": NativeDriver}


def new_execdriver(name: str, exec_root: str) -> ExecDriver:
    cls = DRIVERS.get(name)
    if cls is None:
        raise ValueError(f"unknown exec driver {name!r} (available: {', '.join(DRIVERS)})")
    return cls(root=os.path.join(exec_root, "execdriver", name))
