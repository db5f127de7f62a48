"""`--mount` and `--tmpfs` of `run`/`create`, as the docker CLI reads them.

`--mount type=volume,src=data,dst=/d,volume-nocopy` is a CSV list of key=value
fields (a bare key is a true boolean); it becomes one `HostConfig.Mounts` entry.
`--tmpfs /run:size=16m,mode=1777` becomes a `HostConfig.Tmpfs` entry. What a field
means is checked by the daemon (daemon/volumes.py); here only the grammar."""

from __future__ import annotations

import csv
import posixpath

from pyctr.engine.api.config import (MountBindOptions, MountDriverConfig, MountSpec, MountTmpfsOptions,
                                     MountVolumeOptions)
from .sizes import SpecError, parse_memory   # one size grammar for -m and tmpfs-size

TRUE, FALSE = ("", "1", "true"), ("0", "false")


class MountFlagError(ValueError):
    pass


def _bool(key: str, value: str) -> bool:
    if value.lower() in TRUE:
        return True
    if value.lower() in FALSE:
        return False
    raise MountFlagError(f"invalid value for {key}: {value}")


def _size(value: str) -> int:
    try:
        return parse_memory(value)
    except SpecError:
        raise MountFlagError(f"invalid value for tmpfs-size: {value}") from None


def parse_mount(spec: str) -> MountSpec:
    fields = next(csv.reader([spec]), [])
    m = MountSpec(type="volume")
    for item in fields:
        key, has_value, value = item.partition("=")
        key = key.strip().lower()

        def volume_options() -> MountVolumeOptions:
            if m.volume_options is None:
                m.volume_options = MountVolumeOptions()
            return m.volume_options

        if key == "type":
            m.type = value
        elif key in ("source", "src"):
            m.source = value
        elif key in ("target", "dst", "destination"):
            m.target = value
        elif key in ("readonly", "ro"):
            m.read_only = _bool(key, value)
        elif key == "consistency":
            m.consistency = value
        elif key == "bind-propagation":
            m.bind_options = m.bind_options or MountBindOptions()
            m.bind_options.propagation = value
        elif key == "bind-nonrecursive":
            m.bind_options = m.bind_options or MountBindOptions()
            m.bind_options.non_recursive = _bool(key, value)
        elif key == "volume-nocopy":
            volume_options().no_copy = _bool(key, value)
        elif key == "volume-label":
            name, _, label = value.partition("=")
            options = volume_options()
            options.labels = {**(options.labels or {}), name: label}
        elif key == "volume-driver":
            options = volume_options()
            options.driver_config = options.driver_config or MountDriverConfig()
            options.driver_config.name = value
        elif key == "volume-opt":
            name, _, opt = value.partition("=")
            options = volume_options()
            options.driver_config = options.driver_config or MountDriverConfig()
            options.driver_config.options = {**(options.driver_config.options or {}), name: opt}
        elif key == "tmpfs-size":
            m.tmpfs_options = m.tmpfs_options or MountTmpfsOptions()
            m.tmpfs_options.size_bytes = _size(value)
        elif key == "tmpfs-mode":
            m.tmpfs_options = m.tmpfs_options or MountTmpfsOptions()
            try:
                m.tmpfs_options.mode = int(value, 8)
            except ValueError:
                raise MountFlagError(f"invalid value for tmpfs-mode: {value}") from None
        else:
            raise MountFlagError(f"unexpected key '{key}' in '{item}'")
        if not has_value and key not in ("readonly", "ro", "volume-nocopy", "bind-nonrecursive"):
            raise MountFlagError(f"invalid field '{item}' must be a key=value pair")
    if not m.type:
        raise MountFlagError("type is required")
    if not m.target:
        raise MountFlagError("target is required")
    return m


def parse_tmpfs(spec: str) -> tuple[str, str]:
    path, _, options = spec.partition(":")
    if not path.startswith("/"):
        raise MountFlagError(f"invalid tmpfs path: {path} is not an absolute path")
    return posixpath.normpath(path), options
