"""What must hold before pyctrd's socket appears: the data root's lock, and flags that
cannot work. The rest of the opening (graph, bridge, sweep, restoring containers)
runs once the socket already answers `/_ping` (main.py): a daemon that is going to
refuse to start refuses before any client could take it for ready.

Light on purpose: this runs before the heavy modules are imported. The bridge
driver checks its config again when it opens (bridge.py); these are the daemon's
flags, checked early with the same messages."""

from __future__ import annotations

import fcntl
import logging
import os
from ipaddress import IPv4Interface, IPv4Network

from ..errors import is_disk_full
from ..lockfiles import flock_within
from .config import DaemonConfig

log = logging.getLogger("pyctr.daemon")

IFNAMSIZ = 15
BRIDGE_LOCK_DIR = "/run/pyctr/network"   # networkdriver/bridge.py's BridgeLock.DIR


class DaemonLocked(Exception):
    """Another pyctrd already uses this data root."""


class BadFlags(Exception):
    """A daemon flag that cannot work; the message names it."""


def lock_pidfile(path: str) -> int:
    """The data root's lock (flock on the pid file, which holds our pid): an fd kept open
    for the daemon's life."""
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        other = os.pread(fd, 32, 0).decode().strip() or "?"
        os.close(fd)
        raise DaemonLocked(
            f"pyctrd is already running with this data root (pid {other}, lock {path})") from None
    try:
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
    except OSError as exc:   # the lock is what counts; the pid in it is for people
        if not is_disk_full(exc):
            os.close(fd)
            raise
        log.warning("cannot write the pid file %s: %s", path, exc.strerror)
    return fd


def check_network_flags(config: DaemonConfig) -> None:
    """-b/--bip/--fixed-cidr/--mtu, and a --bridge another live pyctrd holds."""
    if config.bridge == "none":
        if config.bip or config.fixed_cidr:
            raise BadFlags("--bip and --fixed-cidr make no sense with --bridge=none")
        return
    name = config.bridge
    if name and not (0 < len(name) <= IFNAMSIZ and all(c.isalnum() or c in "-_." for c in name)):
        raise BadFlags(f"invalid --bridge {name!r}: 1 to 15 of [a-zA-Z0-9_.-]")
    if not 68 <= config.mtu <= 65535:
        raise BadFlags(f"invalid --mtu {config.mtu}: 68 to 65535")
    try:
        if config.bip:
            IPv4Interface(config.bip)
        if config.fixed_cidr:
            IPv4Network(config.fixed_cidr)
    except ValueError as exc:
        raise BadFlags(f"invalid --bip or --fixed-cidr: {exc}") from None
    if config.bip and "/" not in config.bip:
        raise BadFlags(f"--bip {config.bip}: give the prefix length too (e.g. {config.bip}/24)")
    if name and (holder := _bridge_holder(name)) is not None:
        raise BadFlags(f"bridge {name} is used by another running pyctrd (pid {holder}): "
                       f"give this daemon a --bridge of its own")


def _bridge_holder(name: str) -> str | None:
    """The pid in a bridge's lock file if a live daemon holds it (a probe: the bridge
    driver takes the lock itself when it opens)."""
    path = os.path.join(BRIDGE_LOCK_DIR, f"{name}.lock")
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    try:
        if not flock_within(fd):
            return os.pread(fd, 32, 0).decode().strip() or "?"
    finally:
        os.close(fd)   # closing drops the probe's lock, if it got one
    return None
