"""A container's volumes, through the volume driver: bind mounts from the host
(`-v /host:/ctr[:ro]`), anonymous volumes (`-v /ctr`, and `VOLUME` in the image,
seeded with what the image has there), and `--volumes-from`. Decided once, at the
first start, and kept in the record (destination -> host path) so a restarted
container finds its data again; the driver counts which containers hold each volume,
so `rm -v` deletes only what no other container uses. Blocking: run in a thread."""

from __future__ import annotations

import os

from ..errors import BadRequest, NotFound
from ..execdriver.driver import Mount
from ..volumedriver import VolumeError
from .create import parse_bind


def prepare(daemon, container, rootfs: str) -> list[Mount]:
    driver = daemon.volumes
    record = container.record
    volumes, writable = dict(record.volumes), dict(record.volumes_rw)

    for spec in record.host_config.volumes_from or []:
        source_name, _, mode = spec.partition(":")
        if mode not in ("", "ro", "rw"):
            raise BadRequest(f"Invalid mode for --volumes-from: {spec}")
        try:
            source = daemon.lookup(source_name)
        except NotFound:
            raise NotFound(f"Container {source_name} (from --volumes-from) not found") from None
        for dest, path in source.record.volumes.items():
            volumes.setdefault(dest, path)
            writable.setdefault(dest, source.record.volumes_rw.get(dest, True) and mode != "ro")

    for spec in record.host_config.binds or []:
        host, dest, rw = parse_bind(spec)
        volumes[dest], writable[dest] = driver.bind(host).path, rw

    for dest in record.config.volumes or {}:
        dest = os.path.normpath(dest)
        if dest in volumes:
            continue
        volumes[dest] = driver.create(seed_from=_image_content(rootfs, dest)).path
        writable[dest] = True

    for path in set(record.volumes.values()) - set(volumes.values()):   # a start that changed binds
        driver.unmount(driver.at(path), container.id)
    record.volumes, record.volumes_rw = volumes, writable
    return [Mount(driver.mount(driver.at(source), container.id), dest, writable[dest])
            for dest, source in sorted(volumes.items())]


def _image_content(rootfs: str, dest: str) -> str | None:
    """What the image has at `dest`, which a new volume starts with (as in Docker 1.2)."""
    real_root = os.path.realpath(rootfs)
    source = os.path.realpath(os.path.join(rootfs, dest.lstrip("/")))
    if not source.startswith(real_root + "/") or not os.path.isdir(source):
        return None
    return source


def restore(daemon, container) -> None:
    """At daemon start: the container holds the volumes its record names again."""
    for path in container.record.volumes.values():
        daemon.volumes.mount(daemon.volumes.at(path), container.id)


def release(daemon, container, remove_anonymous: bool) -> None:
    """`rm`: the container holds its volumes no more; with `-v`, its anonymous volumes
    that no other container holds are deleted (host binds never are)."""
    driver = daemon.volumes
    for path in set(container.record.volumes.values()):
        volume = driver.at(path)
        driver.unmount(volume, container.id)
        if remove_anonymous and not volume.host_bind and not driver.users(volume):
            try:
                driver.remove(volume.name)
            except (VolumeError, OSError):
                pass   # already gone, or taken again meanwhile: as before, rm does not fail on it
