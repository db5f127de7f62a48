"""Volumes: bind mounts from the host (`-v /host:/ctr[:ro]`), anonymous volumes
(`-v /ctr`, and `VOLUME` in the image) kept under <data_root>/volumes, and
`--volumes-from`. Decided once, at the first start, and kept in the record so a
restarted container finds its data again. Blocking: run in a thread."""

from __future__ import annotations

import os
import secrets
import shutil

from ..errors import BadRequest, NotFound
from ..execdriver.driver import Mount
from .create import parse_bind


def prepare(daemon, container, rootfs: str) -> list[Mount]:
    record = container.record
    volumes, writable = dict(record.volumes), dict(record.volumes_rw)
    volume_root = daemon.config.path("volumes")

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
        os.makedirs(host, exist_ok=True)  # Docker 1.2 created a missing host directory
        volumes[dest], writable[dest] = host, rw

    for dest in record.config.volumes or {}:
        dest = os.path.normpath(dest)
        if dest in volumes:
            continue
        path = os.path.join(volume_root, secrets.token_hex(32))
        os.makedirs(path)
        _copy_image_content(rootfs, dest, path)
        volumes[dest], writable[dest] = path, True

    record.volumes, record.volumes_rw = volumes, writable
    return [Mount(source, dest, writable[dest]) for dest, source in sorted(volumes.items())]


def _copy_image_content(rootfs: str, dest: str, volume: str) -> None:
    """A new volume starts with what the image has at that path, as in Docker 1.2."""
    real_root = os.path.realpath(rootfs)
    source = os.path.realpath(os.path.join(rootfs, dest.lstrip("/")))
    if not source.startswith(real_root + "/") or not os.path.isdir(source):
        return
    shutil.copytree(source, volume, symlinks=True, dirs_exist_ok=True)
    shutil.copystat(source, volume)


def remove_anonymous(daemon, container) -> None:
    """`rm -v`: delete this container's volumes under the data root that no other container uses."""
    volume_root = os.path.realpath(daemon.config.path("volumes")) + "/"
    used = {p for c in daemon.containers.values() if c is not container
            for p in c.record.volumes.values()}
    for path in container.record.volumes.values():
        if path.startswith(volume_root) and path not in used:
            shutil.rmtree(path, ignore_errors=True)
