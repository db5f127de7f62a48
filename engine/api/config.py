"""What a container is asked to be: Config (portable, also an image's config) and
HostConfig (host-specific), as Docker 1.2's `runconfig` package.

Field names map to the API's by `engine.api.codec`. Both are stored as-is in the
graph DB, so they are also the on-disk format.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .codec import api


@dataclass
class HealthConfig:
    """A HEALTHCHECK: Test is ["NONE"], ["CMD", args...] or ["CMD-SHELL", command];
    durations in nanoseconds; unset (None) or 0 means Docker's default."""
    test: list[str] | None = api(omit_none=True, default=None)
    interval: int | None = api(omit_none=True, default=None)     # unset: left out, as Docker's omitempty
    timeout: int | None = api(omit_none=True, default=None)
    start_period: int | None = api(since="1.29", omit_none=True, default=None)
    retries: int | None = api(omit_none=True, default=None)


@dataclass
class ContainerConfig:
    hostname: str = ""
    domainname: str = ""
    user: str = ""
    memory: int = 0
    memory_swap: int = 0
    cpu_shares: int = 0
    cpuset: str = ""
    attach_stdin: bool = False
    attach_stdout: bool = False
    attach_stderr: bool = False
    port_specs: list[str] | None = None
    exposed_ports: dict[str, Any] | None = None
    tty: bool = False
    open_stdin: bool = False
    stdin_once: bool = False
    env: list[str] | None = None
    cmd: list[str] | None = None
    image: str = ""
    volumes: dict[str, Any] | None = None
    working_dir: str = ""
    entrypoint: list[str] | None = None
    network_disabled: bool = False
    on_build: list[str] | None = None
    labels: dict[str, str] | None = api(since="1.18", default=None)
    stop_signal: str = api(since="1.21", default="")
    healthcheck: HealthConfig | None = api(since="1.24", omit_none=True, default=None)
    shell: list[str] | None = api(since="1.25", omit_none=True, default=None)   # the builder's SHELL
    mac_address: str = api(since="1.15", default="")
    stop_timeout: int | None = api(since="1.25", default=None)   # seconds stop waits; None = 10


@dataclass
class RestartPolicy:
    name: str = ""          # "", "no", "always", "unless-stopped", "on-failure"
    maximum_retry_count: int = 0


@dataclass
class DeviceMapping:
    path_on_host: str = ""
    path_in_container: str = ""
    cgroup_permissions: str = "rwm"


@dataclass
class Ulimit:
    name: str = ""     # "nofile", "nproc", ... (setrlimit's RLIMIT_ names, lower case)
    soft: int = 0
    hard: int = 0


@dataclass
class WeightDevice:
    path: str = ""
    weight: int = 0


@dataclass
class ThrottleDevice:
    path: str = ""
    rate: int = 0      # bytes or operations per second


@dataclass
class PortBinding:
    host_ip: str = api("HostIp", default="")   # Docker spells it so
    host_port: str = ""


@dataclass
class LogConfig:
    type: str = "json-file"    # the only log driver pyctr has (Docker 1.2's)
    config: dict[str, str] = field(default_factory=dict)


@dataclass
class MountBindOptions:
    propagation: str = ""
    non_recursive: bool = False


@dataclass
class MountDriverConfig:
    name: str = ""
    options: dict[str, str] | None = api(omit_none=True, default=None)


@dataclass
class MountVolumeOptions:
    no_copy: bool = False
    labels: dict[str, str] | None = api(omit_none=True, default=None)
    driver_config: MountDriverConfig | None = api(omit_none=True, default=None)


@dataclass
class MountTmpfsOptions:
    size_bytes: int = 0
    mode: int = 0


@dataclass
class MountSpec:
    """One entry of `HostConfig.Mounts` (API 1.25, `--mount`); daemon/mountpoints.py."""
    type: str = ""            # bind, volume, tmpfs
    source: str = ""
    target: str = ""
    read_only: bool = False
    consistency: str = ""     # macOS only: accepted and meaningless on Linux, as in Docker
    # Left out when not given, as dockerd shows them.
    bind_options: MountBindOptions | None = api(omit_none=True, default=None)
    volume_options: MountVolumeOptions | None = api(omit_none=True, default=None)
    tmpfs_options: MountTmpfsOptions | None = api(omit_none=True, default=None)


@dataclass
class HostConfig:
    binds: list[str] | None = None
    container_id_file: str = api("ContainerIDFile", default="")
    lxc_conf: Any = None
    privileged: bool = False
    port_bindings: dict[str, list[PortBinding] | None] | None = None
    links: list[str] | None = None
    publish_all_ports: bool = False
    dns: list[str] | None = None
    dns_search: list[str] | None = None
    volumes_from: list[str] | None = None
    devices: list[DeviceMapping] | None = None
    network_mode: str = ""
    cap_add: list[str] | None = None
    cap_drop: list[str] | None = None
    restart_policy: RestartPolicy = field(default_factory=RestartPolicy)
    # The fields above are Docker 1.2's HostConfig, in its order.
    log_config: LogConfig = api(since="1.18", default_factory=LogConfig)
    # Resource limits moved here from Config in later API versions; today's
    # clients send them here even when they speak v1.14.
    memory: int = api(since="1.19", default=0)
    memory_swap: int = api(since="1.19", default=0)
    cpu_shares: int = api(since="1.19", default=0)
    cpuset_cpus: str = api(since="1.19", default="")
    readonly_rootfs: bool = api(since="1.17", default=False)
    pids_limit: int = api(since="1.23", default=0)   # pids cgroup; 0 or -1 = unlimited
    security_opt: list[str] | None = api(since="1.15", default=None)   # see daemon/security.py
    auto_remove: bool = api(since="1.25", default=False)   # the daemon removes it once it exits
    # The mount model beyond 1.2's Binds and VolumesFrom (daemon/mountpoints.py).
    volume_driver: str = api(since="1.21", default="")
    mounts: list[MountSpec] | None = api(since="1.25", default=None)
    tmpfs: dict[str, str] | None = api(since="1.22", default=None)
    # Namespaces, identity and kernel settings (engine/daemon/hostopts.py checks them).
    extra_hosts: list[str] | None = api(since="1.15", default=None)      # "name:ip" lines for /etc/hosts
    dns_options: list[str] | None = api(since="1.21", default=None)
    group_add: list[str] | None = api(since="1.20", default=None)
    pid_mode: str = api(since="1.17", default="")          # "", "host", "container:<name|id>"
    ipc_mode: str = api(since="1.15", default="")          # private, shareable, host, container:<x>
    uts_mode: str = api("UTSMode", since="1.21", default="")   # "" or "host"
    userns_mode: str = api(since="1.23", default="")
    shm_size: int = api(since="1.22", default=0)            # bytes of /dev/shm; 0 = 64 MiB
    sysctls: dict[str, str] | None = api(since="1.24", default=None)
    ulimits: list[Ulimit] | None = api(since="1.18", default=None)
    oom_score_adj: int = api(since="1.22", default=0)
    # More cgroup resources (engine/daemon/limits.py checks them).
    oom_kill_disable: bool = api(since="1.19", default=False)
    memory_reservation: int = api(since="1.21", default=0)
    memory_swappiness: int | None = api(since="1.20", default=None)   # None/-1: the kernel's
    kernel_memory: int = api(since="1.21", default=0)       # always 0: refused (api/applied.py)
    nano_cpus: int = api(since="1.25", default=0)           # CPUs x 1e9 (--cpus)
    cpu_period: int = api(since="1.19", default=0)          # CFS period, microseconds
    cpu_quota: int = api(since="1.19", default=0)           # CFS quota per period, microseconds
    cpuset_mems: str = api(since="1.19", default="")
    blkio_weight: int = api(since="1.19", default=0)
    blkio_weight_device: list[WeightDevice] | None = api(since="1.22", default=None)
    blkio_device_read_bps: list[ThrottleDevice] | None = api(since="1.22", default=None)
    blkio_device_write_bps: list[ThrottleDevice] | None = api(since="1.22", default=None)
    blkio_device_read_iops: list[ThrottleDevice] | None = api("BlkioDeviceReadIOps", since="1.22",
                                                              default=None)
    blkio_device_write_iops: list[ThrottleDevice] | None = api("BlkioDeviceWriteIOps", since="1.22",
                                                               default=None)
    device_cgroup_rules: list[str] | None = api(since="1.28", default=None)
    console_size: list[int] | None = api(since="1.40", default=None)   # [height, width] of the TTY at start
    init: bool | None = api(since="1.25", default=None)   # tini as pid 1 (daemon/init.py)
