"""Exec drivers: the interface (driver.py) and its implementations, chosen by name."""

from __future__ import annotations

import os

from ..libcontainer.capabilities import CAPABILITIES, DOCKER_DEFAULT
from .driver import ExecDriver

__all__ = ["CAPABILITIES", "DOCKER_DEFAULT", "ExecDriver", "new_execdriver"]


def new_execdriver(name: str, exec_root: str) -> ExecDriver:
    if name == "native":
        from .native import NativeDriver
        return NativeDriver(root=os.path.join(exec_root, "execdriver", "native"))
    raise ValueError(f"unknown exec driver {name!r} (available: native)")
