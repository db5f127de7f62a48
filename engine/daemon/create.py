"""`create`: validate the request, merge the image's config, make the container's
layers and record, all or nothing."""

from __future__ import annotations

import asyncio
import os
import shutil
from typing import TYPE_CHECKING

from ..crashpoint import crash_point
from ..errors import BadRequest, Conflict
from ..graph.graph import current_journal, new_id, now_rfc3339
from ..jobs import Job
from ..tracing import span
from ..api.config import ContainerConfig, HostConfig
from . import health, hostopts, init, limits, logdrivers, names, network, security, volumes
from .signals import parse_signal
from .args import ContainerCreate
from .container import Container
from .container_record import ContainerRecord, NetworkSettings
from . import networks as user_networks
from ..api.records import ContainerCreated

if TYPE_CHECKING:
    from .daemon import Daemon

NETWORK_MODES = ("", "default", "bridge", "none", "host")
RESTART_POLICIES = ("", "no", "always", "unless-stopped", "on-failure")
# What the init layer provides so that mount points exist without showing up in
# `diff` of the container (Docker 1.2's "-init" layer).
INIT_DIRS = ("dev", "dev/pts", "dev/shm", "proc", "sys", "etc")
INIT_FILES = ("etc/hosts", "etc/hostname", "etc/resolv.conf", ".dockerenv")


def init_layer_id(container_id: str) -> str:
    return container_id + "-init"


async def container_create(daemon: Daemon, job: Job[ContainerCreate]) -> ContainerCreated:
    args = job.args
    config, host_config = args.config, args.host_config
    image = daemon.graph.resolve(config.image)
    warnings = _validate(config, host_config)
    if config.network_disabled:   # Docker's answer: a container with no network but loopback
        if (host_config.network_mode or "default") not in ("default", "bridge", "none"):
            raise BadRequest(f"Config.NetworkDisabled conflicts with HostConfig.NetworkMode "
                             f"{host_config.network_mode}")
        host_config.network_mode = "none"
    asked_networks = user_networks.check_create(daemon, host_config.network_mode or "", args.networking)
    hostopts.check(daemon, config, host_config)
    hostopts.fill_defaults(host_config)
    links = network.resolve_links(daemon, host_config)   # each --link names an existing container
    limits.mirror(config, host_config)
    if args.name:
        name = names.validate(args.name)
        owner = daemon.graph.db.name_taken(name)
        if owner:
            raise Conflict(
                f"Conflict. The name \"{name}\" is already in use by container {owner[:12]}. "
                "You have to delete (or rename) that container to be able to reuse that name.")
    else:
        name = names.generate(daemon.graph.db.name_taken)

    container_id = new_id()
    merge_image_config(config, image.config)
    config.hostname = config.hostname or container_id[:12]
    command = (config.entrypoint or []) + (config.cmd or [])
    if not command:
        raise BadRequest("No command specified")
    planned = volumes.plan(daemon, config, host_config)   # 400 on a bad one, nothing made yet

    root = daemon.config.path("containers", container_id)
    record = ContainerRecord(
        id=container_id, created=now_rfc3339(), path=command[0], args=command[1:],
        config=config, image=image.id, name=name, host_config=host_config,
        driver=daemon.graph.driver.name, exec_driver=daemon.execdriver.name,
        resolv_conf_path=os.path.join(root, "resolv.conf"),
        hostname_path=os.path.join(root, "hostname"),
        hosts_path=os.path.join(root, "hosts"),
        log_path=logdrivers.log_path(root, container_id, logdrivers.parse(host_config.log_config)),
        network_settings=NetworkSettings(networks=asked_networks),
    )
    # Directory, then layers, then the row: the row is the commit point, and what a
    # crash leaves before it (a directory, layers without a row) is swept at start-up.
    journal = current_journal.get()
    if journal is not None:
        journal.note("container", container_id)
    os.makedirs(root)
    made = None
    try:
        record.mount_points, made = await asyncio.to_thread(volumes.register, daemon, container_id, planned)
        record.volumes, record.volumes_rw = volumes.legacy_volumes(record.mount_points)
        crash_point("create-dir")
        with span("create: layers"):
            await asyncio.to_thread(_make_layers, daemon.graph.driver, container_id, image.id)
        crash_point("create-layers")
        container = Container(record, root)
        with daemon.graph.db.transaction():   # the row and its link edges, all or none
            daemon.save(container, strict=True)
            if links:   # edges in the graph DB; the record shows them as inspect did ("/db:/web/db")
                network.register_links(daemon, container, links)
                daemon.save(container, strict=True)
    except BaseException:
        await asyncio.to_thread(remove_layers, daemon.graph.driver, container_id)
        if made is not None:
            await asyncio.to_thread(volumes.undo, daemon, container_id, made)
        shutil.rmtree(root, ignore_errors=True)
        raise
    daemon.containers[container_id] = container
    daemon.container_event(container, "create")
    return ContainerCreated(container_id, warnings)


def merge_image_config(user: ContainerConfig, image: ContainerConfig | None) -> None:
    """Fill what the user left out from the image's config (Docker 1.2's runconfig.Merge)."""
    if image is None:
        return
    user.user = user.user or image.user
    user.healthcheck = health.merge(user.healthcheck, image.healthcheck)
    user.stop_signal = user.stop_signal or image.stop_signal
    user.working_dir = user.working_dir or image.working_dir
    if image.exposed_ports:
        user.exposed_ports = {**image.exposed_ports, **(user.exposed_ports or {})}
    if image.volumes:
        user.volumes = {**image.volumes, **(user.volumes or {})}
    user_keys = {e.split("=", 1)[0] for e in user.env or []}
    user.env = (user.env or []) + [e for e in image.env or [] if e.split("=", 1)[0] not in user_keys]
    if not user.entrypoint:
        if not user.cmd:
            user.cmd = image.cmd
        if user.entrypoint is None:
            user.entrypoint = image.entrypoint


def _validate(config: ContainerConfig, host: HostConfig) -> list[str]:
    """400 on anything that would fail later; the warnings create answers with."""
    logdrivers.parse(host.log_config)   # a driver or option pyctr does not honour is a 400
    mode = host.network_mode
    if mode not in NETWORK_MODES and not mode.startswith("container:") and not names.VALID_NAME.match(mode):
        raise BadRequest(f"Invalid network mode: {mode} (use bridge, none, host, container:<name|id> "
                         f"or the name of a network)")
    network.validate(config, host)   # ports, links, dns
    policy = host.restart_policy
    if policy.name not in RESTART_POLICIES:
        raise BadRequest(f"Invalid restart policy {policy.name!r} (use no, always, unless-stopped or on-failure)")
    if policy.maximum_retry_count and policy.name != "on-failure":
        raise BadRequest("Maximum retry count can only be used with the on-failure restart policy")
    if policy.maximum_retry_count < 0:
        raise BadRequest("Maximum retry count cannot be negative")
    security.check(host)
    init.check(host)
    health.check(config)
    if config.stop_signal:
        parse_signal(config.stop_signal)
    if config.stop_timeout is not None and config.stop_timeout < -1:
        raise BadRequest(f"invalid StopTimeout {config.stop_timeout}: use -1 (wait for ever) or more")
    if host.auto_remove and policy.name not in ("", "no"):
        raise BadRequest("can't create 'AutoRemove' container with restart policy")
    return limits.check(config, host)


def _make_layers(driver, container_id: str, image_id: str) -> None:
    init_id = init_layer_id(container_id)
    driver.create(init_id, image_id)
    root = driver.get(init_id)
    try:
        _populate_init_layer(root)
    finally:
        driver.put(init_id)
    driver.create(container_id, init_id)


def _populate_init_layer(root: str) -> None:
    for rel in INIT_DIRS:
        path = _inside(root, rel)
        if path is not None and not os.path.lexists(path):
            os.makedirs(path, 0o755)
    for rel in INIT_FILES:
        path = _inside(root, rel)
        if path is not None and not os.path.lexists(path):
            os.makedirs(os.path.dirname(path), 0o755, exist_ok=True)
            open(path, "w").close()


def _inside(root: str, rel: str) -> str | None:
    """`root/rel` if it resolves inside root (an image's symlinks may point anywhere)."""
    real_root = os.path.realpath(root)
    path = os.path.realpath(os.path.join(root, rel))
    return path if path == real_root or path.startswith(real_root + "/") else None


def remove_layers(driver, container_id: str) -> None:
    for layer in (container_id, init_layer_id(container_id)):
        if driver.exists(layer):
            driver.remove(layer)
