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


@dataclass
class RestartPolicy:
    name: str = ""          # "", "no", "always", "on-failure"
    maximum_retry_count: int = 0


@dataclass
class DeviceMapping:
    path_on_host: str = ""
    path_in_container: str = ""
    cgroup_permissions: str = "rwm"


@dataclass
class PortBinding:
    host_ip: str = api("HostIp", default="")   # Docker spells it so
    host_port: str = ""


@dataclass
class LogConfig:
    type: str = "json-file"    # the only log driver pyctr has (Docker 1.2's)
    config: dict[str, str] = field(default_factory=dict)


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
