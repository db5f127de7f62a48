"""`start`: mount the container's filesystem, prepare its volumes and network, build
the exec driver's Command, and hand the run to the monitor (monitor.py), which
records the exit and applies the restart policy."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from ..errors import BadRequest, NotModified
from ..execdriver.driver import Command, Device, Mount, Network, ProcessConfig, Resources
from ..execdriver import CAPABILITIES, DOCKER_DEFAULT
from ..jobs import Job
from . import autoremove, monitor, netfiles, security, volumes
from .network import merge_env, register_links, resolve_links
from .args import ContainerStart
from .container import Container
from .create import _validate

if TYPE_CHECKING:
    from .daemon import Daemon

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


async def container_start(daemon: Daemon, job: Job[ContainerStart]) -> None:
    args = job.args
    container = daemon.lookup(args.name)
    if args.host_config is not None:
        _validate(container.record.config, args.host_config)
        if args.host_config.links:   # old clients send links with start
            register_links(daemon, container, resolve_links(daemon, args.host_config, container.id))
            args.host_config.links = container.record.host_config.links
        container.record.host_config = args.host_config
    try:
        await start(daemon, container)
    except NotModified:
        raise
    except Exception:
        container.exited()   # a `wait?condition=next-exit` ends with the failed start
        if container.record.host_config.auto_remove and not container.running:
            autoremove.schedule(daemon, container)   # dockerd removes it then too
        raise


async def start(daemon: Daemon, container: Container) -> None:
    async with container.lock:
        if container.running:
            raise NotModified("Container already started")
        container.stop_requested = False
        if container.restart_task is not None and container.restart_task is not asyncio.current_task():
            container.restart_task.cancel()  # a user start supersedes a pending restart
            container.restart_task = None
        await _start_locked(daemon, container)


async def _start_locked(daemon: Daemon, container: Container) -> None:
    record = container.record
    driver = daemon.graph.driver
    rootfs = await asyncio.to_thread(driver.get, container.id)
    try:
        mounts = await asyncio.to_thread(volumes.prepare, daemon, container, rootfs)
        network = _network(daemon, record.host_config.network_mode)
        prepared = await daemon.network.prepare(daemon, container)  # address, ports, links
        netfiles.write(container, daemon.config.dns, daemon.config.dns_search, prepared.ip, prepared.hosts)
        command = _command(daemon, container, rootfs, mounts, network)
        command.process.env = merge_env(command.process.env, prepared.env)
    except BaseException:
        await daemon.network.release(container)
        await asyncio.to_thread(driver.put, container.id)
        raise
    started: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    container.monitor = asyncio.create_task(monitor.watch(daemon, container, command, started, start))
    await started


def _command(daemon: Daemon, container: Container, rootfs: str, mounts, network: Network) -> Command:
    record = container.record
    config, host = record.config, record.host_config
    env = {"PATH": DEFAULT_PATH, "HOSTNAME": config.hostname}
    if config.tty:
        env["TERM"] = "xterm"
    for item in config.env or []:
        key, _, value = item.partition("=")
        env[key] = value
    mounts = [Mount(record.resolv_conf_path, "/etc/resolv.conf"),
              Mount(record.hostname_path, "/etc/hostname"),
              Mount(record.hosts_path, "/etc/hosts")] + mounts
    return Command(
        id=container.id,
        rootfs=rootfs,
        hostname=config.hostname,
        process=ProcessConfig(
            args=[record.path] + record.args,
            env=[f"{k}={v}" for k, v in env.items()],
            cwd=config.working_dir or "/",
            user=config.user,
            tty=config.tty,
            stdin=config.open_stdin,
        ),
        mounts=mounts,
        devices=[Device(d.path_on_host, d.path_in_container or d.path_on_host, d.cgroup_permissions or "rwm")
                 for d in host.devices or []],
        capabilities=capabilities(host.cap_add or [], host.cap_drop or []),
        privileged=host.privileged,
        readonly_rootfs=host.readonly_rootfs,
        resources=Resources(
            memory=host.memory or config.memory,
            memory_swap=host.memory_swap or config.memory_swap,
            cpu_shares=host.cpu_shares or config.cpu_shares,
            cpuset=host.cpuset_cpus or config.cpuset,
            pids_limit=max(host.pids_limit or 0, 0),
        ),
        network=network,
        cgroup_parent=daemon.config.cgroup_parent,
        confinement=security.confinement(host),
    )


def capabilities(add: list[str], drop: list[str]) -> list[str]:
    """Docker 1.2's default set, with --cap-add/--cap-drop ("ALL" allowed) applied."""
    def norm(names: list[str]) -> list[str]:
        return [n.upper().removeprefix("CAP_") for n in names]
    add, drop = norm(add), norm(drop)
    for name in add + drop:
        if name != "ALL" and name not in CAPABILITIES:
            raise BadRequest(f"Unknown capability: {name}")
    caps = list(CAPABILITIES) if "ALL" in add else list(DOCKER_DEFAULT)
    if "ALL" in drop:
        caps = [c for c in add if c != "ALL"]
    else:
        caps = [c for c in caps if c not in drop] + [c for c in add if c != "ALL" and c not in caps]
    return caps


def _network(daemon: Daemon, mode: str) -> Network:
    if mode == "host":
        return Network("host")
    if mode.startswith("container:"):
        other = daemon.lookup(mode.split(":", 1)[1])
        if not other.running:
            raise BadRequest(f"Cannot join the network of container {other.name.lstrip('/')}: it is not running")
        return Network("container", join_pid=other.record.state.pid)
    if mode != "none" and daemon.network.enabled:
        return Network("bridge")   # the veth goes in from on_created
    return Network("none")
