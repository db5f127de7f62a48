"""`start`: mount the container's filesystem, prepare its volumes and network, build
the exec driver's Command, and hand the run to the monitor (monitor.py), which
records the exit and applies the restart policy."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from ..errors import BadRequest, NotModified
from ..execdriver.driver import Command, Device, Mount, Network, ProcessConfig
from ..jobs import Job
from ..tracing import span
from . import autoremove, hostopts, init, limits, monitor, netfiles, security, volumes
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
        hostopts.check(daemon, container.record.config, args.host_config)
        hostopts.fill_defaults(args.host_config)
        if args.host_config.links:   # old clients send links with start
            register_links(daemon, container, resolve_links(daemon, args.host_config, container.id))
            args.host_config.links = container.record.host_config.links
        container.record.host_config = args.host_config
        await asyncio.to_thread(volumes.replan, daemon, container)   # 1.2's clients send Binds here
    try:
        await start(daemon, container)
    except NotModified:
        raise
    except Exception:
        if container.record.host_config.auto_remove and not container.running:
            autoremove.schedule(daemon, container)   # dockerd removes it then too
        raise


async def start(daemon: Daemon, container: Container) -> None:
    async with container.lock:
        if container.running:
            raise NotModified("Container already started")
        container.stop_requested = False
        container.record.has_been_manually_stopped = False
        if container.restart_task is not None and container.restart_task is not asyncio.current_task():
            container.restart_task.cancel()  # a user start supersedes a pending restart
            container.restart_task = None
        try:
            await _start_locked(daemon, container)
        except Exception as exc:
            # As dockerd: a start that fails (any cause) is an exit, with code 128 and a
            # `die` event, so `docker run` and `wait` see it end.
            state = container.record.state
            if not state.running:
                monitor.mark_stopped(container.record, 128, error=str(exc))
                daemon.save(container)
                daemon.container_event(container, "die", exitCode="128")
            raise


async def _start_locked(daemon: Daemon, container: Container) -> None:
    record = container.record
    driver = daemon.graph.driver
    with span("start: mount rootfs"):
        rootfs = await asyncio.to_thread(driver.get, container.id)
    try:
        with span("start: volumes"):
            mounts = await asyncio.to_thread(volumes.prepare, daemon, container, rootfs)
        network = _network(daemon, record.host_config.network_mode)
        isolation = hostopts.isolation(daemon, container)   # the containers it joins run
        with span("start: network prepare"):
            prepared = await daemon.network.prepare(daemon, container)  # address, ports, links
        with span("start: netfiles and command"):
            extra = hostopts.extra_hosts(record.host_config, record.network_settings.gateway)
            netfiles.write(container, daemon.config.dns, daemon.config.dns_search, prepared.ip,
                           prepared.hosts + extra, embedded_dns=prepared.embedded_dns)
            if record.host_config.ipc_mode == "shareable":
                await asyncio.to_thread(hostopts.mount_shm, container)
            command = _command(daemon, container, rootfs, mounts, network)
        command.isolation = isolation
        command.process.env = merge_env(command.process.env, prepared.env)
    except BaseException:
        await daemon.network.release(container)
        await asyncio.to_thread(volumes.unmount_all, daemon, container)
        await asyncio.to_thread(hostopts.unmount_shm, container)
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
    argv = init.apply(host, [record.path] + record.args, mounts)
    return Command(
        id=container.id,
        rootfs=rootfs,
        hostname=config.hostname,
        process=ProcessConfig(
            args=argv,
            env=[f"{k}={v}" for k, v in env.items()],
            cwd=config.working_dir or "/",
            user=config.user,
            tty=config.tty,
            stdin=config.open_stdin,
        ),
        mounts=mounts,
        devices=[Device(d.path_on_host, d.path_in_container or d.path_on_host, d.cgroup_permissions or "rwm")
                 for d in host.devices or []],
        device_rules=limits.device_rules(host),
        capabilities=security.capabilities(host.cap_add or [], host.cap_drop or []),
        privileged=host.privileged,
        readonly_rootfs=host.readonly_rootfs,
        resources=limits.resources(config, host),
        network=network,
        cgroup_parent=daemon.config.cgroup_parent,
        confinement=security.confinement(host),
    )


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
