"""Linux capabilities: names, Docker 1.2's default set, and dropping to a set.

Stdlib-only (runs in the container init).
"""

from __future__ import annotations

from . import syscalls

# From include/uapi/linux/capability.h.
CAPABILITIES: dict[str, int] = {
    "CHOWN": 0, "DAC_OVERRIDE": 1, "DAC_READ_SEARCH": 2, "FOWNER": 3, "FSETID": 4,
    "KILL": 5, "SETGID": 6, "SETUID": 7, "SETPCAP": 8, "LINUX_IMMUTABLE": 9,
    "NET_BIND_SERVICE": 10, "NET_BROADCAST": 11, "NET_ADMIN": 12, "NET_RAW": 13,
    "IPC_LOCK": 14, "IPC_OWNER": 15, "SYS_MODULE": 16, "SYS_RAWIO": 17,
    "SYS_CHROOT": 18, "SYS_PTRACE": 19, "SYS_PACCT": 20, "SYS_ADMIN": 21,
    "SYS_BOOT": 22, "SYS_NICE": 23, "SYS_RESOURCE": 24, "SYS_TIME": 25,
    "SYS_TTY_CONFIG": 26, "MKNOD": 27, "LEASE": 28, "AUDIT_WRITE": 29,
    "AUDIT_CONTROL": 30, "SETFCAP": 31, "MAC_OVERRIDE": 32, "MAC_ADMIN": 33,
    "SYSLOG": 34, "WAKE_ALARM": 35, "BLOCK_SUSPEND": 36, "AUDIT_READ": 37,
    "PERFMON": 38, "BPF": 39, "CHECKPOINT_RESTORE": 40,
}

# What Docker 1.2 left a container with (daemon/execdriver/native/template).
DOCKER_DEFAULT: tuple[str, ...] = (
    "CHOWN", "DAC_OVERRIDE", "FSETID", "FOWNER", "MKNOD", "NET_RAW", "SETGID",
    "SETUID", "SETFCAP", "SETPCAP", "NET_BIND_SERVICE", "SYS_CHROOT", "KILL",
    "AUDIT_WRITE",
)


class CapabilityError(ValueError):
    pass


def number(name: str) -> int:
    key = name.upper()
    if key.startswith("CAP_"):
        key = key[4:]
    try:
        return CAPABILITIES[key]
    except KeyError:
        raise CapabilityError(f"unknown capability {name!r}") from None


def numbers(names: list[str] | tuple[str, ...]) -> list[int]:
    return sorted({number(n) for n in names})


def mask(caps: list[int]) -> int:
    out = 0
    for c in caps:
        out |= 1 << c
    return out


def names_of(bits: int) -> list[str]:
    by_number = {v: k for k, v in CAPABILITIES.items()}
    return [by_number.get(i, str(i)) for i in range(64) if bits >> i & 1]


def last_cap() -> int:
    with open("/proc/sys/kernel/cap_last_cap") as f:
        return int(f.read())


def held_by_self() -> int:
    """The permitted set of the calling process (what `privileged` can hand on)."""
    _eff, permitted, _inh = syscalls.capget()
    return permitted


def drop_bounding_set(keep: int) -> None:
    """Remove every capability not in `keep` from the bounding set (needs CAP_SETPCAP)."""
    for cap in range(last_cap() + 1):
        if keep >> cap & 1:
            continue
        if syscalls.prctl(syscalls.PR_CAPBSET_READ, cap) == 1:
            syscalls.prctl(syscalls.PR_CAPBSET_DROP, cap)


def set_process_caps(keep: int) -> None:
    """Effective = permitted = keep (limited to what we hold), inheritable empty: as
    Docker since 20.10.14 (CVE-2022-24769: a non-root user must not regain the
    set through a file's inheritable capabilities)."""
    keep &= held_by_self()
    syscalls.capset(keep, keep, 0)
