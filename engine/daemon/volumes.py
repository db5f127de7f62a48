"""A container's mount model, as dockerd 20.10 has it: what gets mounted where.

At create, `plan` reads the request into mount points (pure: a bad one is a 400
before anything is made), in Docker's order of precedence:
  1. `VolumesFrom`: the other container's binds and volumes (`:ro` makes them read-only);
  2. `Binds`: `/host:/ctr[:opts]` (a host file or directory) or `name:/ctr[:opts]`
     (a named volume), opts `ro`/`rw`, `z`/`Z`, `nocopy`, a propagation;
  3. `Mounts` (`--mount type=bind|volume|tmpfs`) and `Tmpfs` (`--tmpfs /x:size=16m`);
  4. `Config.Volumes` (`-v /ctr`, an image's VOLUME): anonymous volumes (random names)
     where nothing else is mounted.
`register` then makes what the plan needs (volumes through their driver, the host
directory of a `-v` bind that is missing) and holds the volumes for the container;
`undo` takes that back when create fails further on. At start, `prepare` mounts the
volumes (a typed one's filesystem goes up with its first user) and seeds an empty
volume with what the image has at its destination (copy-up: content, owners, modes,
through the chrooted helper, so a symlink in the image cannot lead out), and
`unmount_all` takes them down at exit. `release` at `rm` lets go of them and with
`-v` removes the anonymous ones nothing else holds. Blocking: run in a thread.
"""

from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass, field, replace

from ..api.config import ContainerConfig, HostConfig, MountSpec
from ..errors import BadRequest, NotFound, ServerError
from ..execdriver.driver import Mount
from ..libcontainer.inroot_client import open_root
from ..libcontainer.mounts import MOUNT_FLAGS
from ..volumedriver import Volume, VolumeBadRequest, VolumeDriver, VolumeError, VolumeExists, VolumeNotFound
from ..volumedriver.local import check_name
from .container_record import MountPoint

RW_MODES = ("ro", "rw")
LABEL_MODES = ("z", "Z")          # SELinux relabelling: nothing to do on a host without SELinux, as in Docker
PROPAGATIONS = ("private", "rprivate", "shared", "rshared", "slave", "rslave")
COPY_MODES = ("nocopy",)
TMPFS_DATA_KEYS = {"size": re.compile(r"[0-9]+[kmgtpeKMGTPE%]?"), "mode": re.compile(r"[0-7]{1,4}"),
                   "uid": re.compile(r"[0-9]+"), "gid": re.compile(r"[0-9]+"),
                   "nr_inodes": re.compile(r"[0-9]+[kmgKMG]?"), "nr_blocks": re.compile(r"[0-9]+[kmgKMG]?"),
                   "mpol": re.compile(r"(default|prefer|bind|interleave|local)(:[0-9,-]+)?")}


def driver_of(daemon, name: str) -> VolumeDriver:
    """The volume driver called `name` ("" is local), or a 400 naming it."""
    if name in ("", "local"):
        return daemon.volumes
    raise BadRequest(f'error looking up volume plugin {name}: plugin "{name}" not found')


@dataclass
class Planned:
    """A mount point to be, with what making its volume needs."""
    point: MountPoint
    volume_options: dict[str, str] = field(default_factory=dict)
    volume_labels: dict[str, str] = field(default_factory=dict)


# --- parsing (create; no side effects) ----------------------------------------------------

def _check_target(target: str, kind: str) -> str:
    if not target:
        raise BadRequest(f'invalid mount config for type "{kind}": field Target must not be empty')
    if not os.path.isabs(target):
        raise BadRequest(f'invalid mount config for type "{kind}": invalid mount path: '
                         f"'{target}' mount path must be absolute")
    target = os.path.normpath(target)
    if target == "/":
        raise BadRequest("invalid specification: destination can't be '/'")
    return target


def _check_volume_name(daemon, name: str, driver: str) -> None:
    driver_of(daemon, driver)
    try:
        check_name(name)
    except VolumeBadRequest as exc:
        raise BadRequest(f"create {name}: {exc}") from None


def parse_mode(mode: str, spec: str) -> dict[str, str]:
    """`ro,Z,rshared` -> {"rw": "ro", "label": "Z", "propagation": "rshared"}; dockerd's rules."""
    out: dict[str, str] = {}
    for word in mode.split(",") if mode else []:
        for key, allowed in (("rw", RW_MODES), ("label", LABEL_MODES), ("propagation", PROPAGATIONS),
                             ("copy", COPY_MODES)):
            if word in allowed:
                if key in out:
                    raise BadRequest(f"invalid mode: {mode}")
                out[key] = word
                break
        else:
            raise BadRequest(f"invalid mode: {mode}")
    return out


def _parse_bind(daemon, spec: str, volume_driver: str) -> Planned:
    parts = spec.split(":")
    if len(parts) == 1:
        return _anonymous(_check_target(parts[0], "volume"), volume_driver, mode="")
    if len(parts) == 2 and parse_mode_ok(parts[1]) and not parts[1].startswith("/"):
        raise BadRequest(f"invalid volume specification: '{spec}'")
    if len(parts) not in (2, 3) or not parts[0]:
        raise BadRequest(f"invalid volume specification: '{spec}'")
    source, target, mode = parts[0], parts[1], parts[2] if len(parts) == 3 else ""
    words = parse_mode(mode, spec)
    kind = "bind" if source.startswith("/") else "volume"
    target = _check_target(target, kind)
    rw = words.get("rw") != "ro"
    if kind == "bind":
        if "copy" in words:
            raise BadRequest(f"invalid mode: {mode} (nocopy is for volumes)")
        return Planned(MountPoint("bind", target, source=os.path.normpath(source), mode=mode, rw=rw,
                                  propagation=words.get("propagation", "rprivate")))
    if "propagation" in words:
        raise BadRequest(f"invalid mode: {mode} (a propagation is for bind mounts)")
    _check_volume_name(daemon, source, volume_driver)
    # dockerd shows a named volume's Mode as "z" when none was asked
    return Planned(MountPoint("volume", target, name=source, driver=volume_driver or "local",
                              mode=mode or "z", rw=rw, copy_data="copy" not in words))


def parse_mode_ok(text: str) -> bool:
    try:
        parse_mode(text, text)
    except BadRequest:
        return False
    return True


def _anonymous(target: str, driver: str, mode: str) -> Planned:
    return Planned(MountPoint("volume", target, name=secrets.token_hex(32), driver=driver or "local",
                              mode=mode, anonymous=True))


def _parse_mount(daemon, m: MountSpec, volume_driver: str) -> Planned:
    kind = m.type
    if kind not in ("bind", "volume", "tmpfs"):
        raise BadRequest(f'invalid mount config: mount type unknown: "{kind}" (use bind, volume or tmpfs)'
                         if kind else "invalid mount config: mount type must not be empty")
    target = _check_target(m.target, kind)

    def refuse(field_name: str) -> None:
        raise BadRequest(f'invalid mount config for type "{kind}": field {field_name} must not be specified')

    if kind == "bind":
        if m.volume_options is not None:
            refuse("VolumeOptions")
        if m.tmpfs_options is not None:
            refuse("TmpfsOptions")
        if not m.source:
            raise BadRequest('invalid mount config for type "bind": field Source must not be empty')
        if not os.path.isabs(m.source):
            raise BadRequest(f'invalid mount config for type "bind": invalid mount path: '
                             f"'{m.source}' mount path must be absolute")
        if not os.path.exists(m.source):
            raise BadRequest(f'invalid mount config for type "bind": bind source path does not exist: {m.source}')
        propagation = (m.bind_options.propagation if m.bind_options else "") or "rprivate"
        if propagation not in PROPAGATIONS:
            raise BadRequest(f'invalid mount config for type "bind": invalid propagation mode: {propagation}')
        if m.bind_options is not None and m.bind_options.non_recursive:
            raise BadRequest("BindOptions.NonRecursive is not supported by pyctr: binds are recursive")
        return Planned(MountPoint("bind", target, source=os.path.normpath(m.source), rw=not m.read_only,
                                  propagation=propagation))
    if m.bind_options is not None:
        refuse("BindOptions")
    if kind == "volume":
        if m.tmpfs_options is not None:
            refuse("TmpfsOptions")
        options = m.volume_options
        config = options.driver_config if options else None
        driver = (config.name if config else "") or volume_driver or "local"
        driver_of(daemon, driver)
        if m.source:
            _check_volume_name(daemon, m.source, driver)
            planned = Planned(MountPoint("volume", target, name=m.source, driver=driver))
        else:
            planned = _anonymous(target, driver, "")
        planned.point.rw = not m.read_only
        planned.point.mode = "z"   # as dockerd shows a --mount volume
        planned.point.copy_data = not (options and options.no_copy)
        planned.volume_options = dict((config.options if config else None) or {})
        planned.volume_labels = dict((options.labels if options else None) or {})
        if planned.volume_options:
            try:
                driver_of(daemon, driver).check_options(planned.volume_options)
            except VolumeBadRequest as exc:
                raise BadRequest(f"create {planned.point.name}: {exc}") from None
        return planned
    # tmpfs
    if m.source:
        raise BadRequest('invalid mount config for type "tmpfs": field Source must not be specified')
    if m.volume_options is not None:
        refuse("VolumeOptions")
    words = []
    if m.tmpfs_options is not None:
        if m.tmpfs_options.size_bytes < 0:
            raise BadRequest(f'invalid mount config for type "tmpfs": invalid tmpfs size {m.tmpfs_options.size_bytes}')
        if m.tmpfs_options.size_bytes:
            words.append(f"size={m.tmpfs_options.size_bytes}")
        if m.tmpfs_options.mode:
            words.append(f"mode={m.tmpfs_options.mode & 0o7777:o}")
    return Planned(MountPoint("tmpfs", target, rw=not m.read_only, tmpfs_options=",".join(words)))


def check_tmpfs_options(target: str, options: str) -> str:
    """`--tmpfs /x:size=16m,mode=1777`: mount(8) flags and tmpfs's own keys, each a value
    the kernel takes (a size that is no size is a 400 now, not a failed start)."""
    for word in options.split(",") if options else []:
        if word in MOUNT_FLAGS:
            continue
        key, has_value, value = word.partition("=")
        pattern = TMPFS_DATA_KEYS.get(key)
        if pattern is None or not has_value:
            raise BadRequest(f"invalid tmpfs option {word!r} for {target}")
        if not pattern.fullmatch(value):
            raise BadRequest(f"invalid tmpfs {key} {value!r} for {target}")
    return options


def plan(daemon, config: ContainerConfig, host: HostConfig) -> list[Planned]:
    """The mount points of a new container, validated; nothing is made yet."""
    volume_driver = host.volume_driver
    if volume_driver:
        driver_of(daemon, volume_driver)
    points: dict[str, Planned] = {}

    for spec in host.volumes_from or []:
        source_name, _, mode = spec.partition(":")
        words = parse_mode(mode, spec)
        if set(words) - {"rw", "label"}:
            raise BadRequest(f"invalid mode for --volumes-from: {spec}")
        try:
            source = daemon.lookup(source_name)
        except NotFound:
            raise NotFound(f"No such container: {source_name}") from None
        for m in source.record.mount_points:
            if m.type in ("bind", "volume"):
                rw = m.rw and words.get("rw") != "ro"
                points[m.destination] = Planned(replace(m, rw=rw, copy_data=False,
                                                        mode=mode or m.mode, listed=True))

    explicit: set[str] = set()

    def add(planned: Planned) -> None:
        dest = planned.point.destination
        if dest in explicit:
            raise BadRequest(f"Duplicate mount point: {dest}")
        explicit.add(dest)
        points[dest] = planned

    for spec in host.binds or []:
        add(_parse_bind(daemon, spec, volume_driver))
    for m in host.mounts or []:
        add(_parse_mount(daemon, m, volume_driver))
    for target, options in (host.tmpfs or {}).items():
        dest = _check_target(target, "tmpfs")
        add(Planned(MountPoint("tmpfs", dest, tmpfs_options=check_tmpfs_options(dest, options or ""),
                               listed=False)))
    for target in config.volumes or {}:
        if not os.path.isabs(target):
            raise BadRequest(f"Invalid volume: {target}: the container path must be absolute")
        dest = _check_target(target, "volume")
        if dest not in points:
            points[dest] = _anonymous(dest, volume_driver, "")
    return [points[d] for d in sorted(points)]


# --- making and holding (create) ------------------------------------------------------

@dataclass
class Made:
    """What `register` made, for `undo`."""
    volumes: list[Volume] = field(default_factory=list)
    held: list[Volume] = field(default_factory=list)
    directories: list[str] = field(default_factory=list)


def ensure_volume(driver: VolumeDriver, name: str, options: dict[str, str] | None = None,
                  labels: dict[str, str] | None = None) -> tuple[Volume, bool]:
    """The volume `name`, made if missing: (volume, made now). Two callers at once both
    end with the one volume (the driver's create is atomic; the loser finds the winner's)."""
    try:
        return driver.get(name), False
    except VolumeNotFound:
        pass
    try:
        return driver.create(name, options, labels), True
    except VolumeExists:
        return driver.get(name), False
    except VolumeBadRequest as exc:
        raise BadRequest(f"create {name}: {exc}") from None


def _ensure_held(daemon, driver: VolumeDriver, item: Planned, container_id: str, made: Made) -> Volume:
    """The volume of `item`, made if missing, held for the container; a prune or rm that
    took it between the two gets it made again."""
    for _ in range(3):
        volume, fresh = ensure_volume(driver, item.point.name, item.volume_options, item.volume_labels)
        if fresh:
            made.volumes.append(volume)
            daemon.events.publish("create", volume.name, type="volume", driver=volume.driver)
        try:
            driver.hold(volume, container_id)
            return volume
        except VolumeNotFound:
            continue
    raise ServerError(f"volume {item.point.name} was removed each time it was made")


def register(daemon, container_id: str, planned: list[Planned]) -> tuple[list[MountPoint], Made]:
    made = Made()
    points = []
    try:
        for item in planned:
            point = replace(item.point)
            if point.type == "volume":
                driver = driver_of(daemon, point.driver)
                volume = _ensure_held(daemon, driver, item, container_id, made)
                made.held.append(volume)
                point.source = volume.mountpoint
            elif point.type == "bind" and not os.path.exists(point.source):
                # A `-v` bind of a missing host path makes it a directory (a `--mount` bind was
                # refused by plan), top-most missing one first so undo removes what it made.
                missing = point.source
                while not os.path.exists(os.path.dirname(missing)):
                    missing = os.path.dirname(missing)
                os.makedirs(point.source)
                made.directories.append(missing)
            points.append(point)
    except BaseException:
        undo(daemon, container_id, made)
        raise
    return points, made


def undo(daemon, container_id: str, made: Made) -> None:
    """Take back what `register` made (a create that failed after it)."""
    for volume in made.held:
        daemon.volumes.release(volume, container_id)
    for volume in made.volumes:
        if not daemon.volumes.users(volume):
            try:
                daemon.volumes.remove(volume.name)
                daemon.events.publish("destroy", volume.name, type="volume", driver=volume.driver)
            except VolumeError:
                pass
    for path in made.directories:
        try:
            _remove_empty_tree(path)
        except OSError:
            pass


def _remove_empty_tree(top: str) -> None:
    for root, _, _ in sorted(os.walk(top), key=lambda w: -len(w[0])):
        os.rmdir(root)


def replan(daemon, container) -> None:
    """A start that brought a HostConfig (Docker 1.2's clients): the mount points anew,
    keeping the anonymous volume the container already has at a destination."""
    record = container.record
    old = {m.destination: m for m in record.mount_points}
    planned = plan(daemon, record.config, record.host_config)
    for item in planned:
        before = old.get(item.point.destination)
        if item.point.anonymous and before is not None and before.anonymous:
            item.point.name, item.point.driver = before.name, before.driver
    points, _ = register(daemon, container.id, planned)
    kept = {(m.driver, m.name) for m in points if m.type == "volume"}
    for m in record.mount_points:
        if m.type == "volume" and (m.driver, m.name) not in kept:
            try:
                driver = driver_of(daemon, m.driver)
                driver.release(driver.get(m.name), container.id)
            except (VolumeError, BadRequest):
                pass
    record.mount_points = points
    record.volumes, record.volumes_rw = legacy_volumes(points)


def legacy_volumes(points: list[MountPoint]) -> tuple[dict[str, str], dict[str, bool]]:
    """Docker 1.2's `Volumes`/`VolumesRW` (destination -> host path) for old clients and
    for `cp` into a volume."""
    shown = [m for m in points if m.type in ("bind", "volume")]
    return {m.destination: m.source for m in shown}, {m.destination: m.rw for m in shown}


# --- start and exit -------------------------------------------------------------------

def prepare(daemon, container, rootfs: str) -> list[Mount]:
    """Mount the container's volumes and seed the empty ones; the mounts for the exec driver."""
    mounts: list[Mount] = []
    try:
        for point in container.record.mount_points:
            if point.type == "tmpfs":
                mounts.append(Mount("", point.destination, point.rw, kind="tmpfs", data=point.tmpfs_options))
                continue
            if point.type == "bind":
                if not os.path.exists(point.source):
                    raise BadRequest(f"bind source path does not exist: {point.source}")
                mounts.append(Mount(point.source, point.destination, point.rw, propagation=point.propagation))
                continue
            driver = driver_of(daemon, point.driver)
            try:
                volume = driver.get(point.name)
            except VolumeNotFound:
                raise NotFound(f"volume {point.name} (at {point.destination}) is gone") from None
            try:
                path = driver.mount(volume, container.id)
            except VolumeError as exc:
                raise ServerError(str(exc)) from None
            mounts.append(Mount(path, point.destination, point.rw))
            if point.copy_data:
                _copy_up(daemon, rootfs, point.destination, path)
    except BaseException:
        unmount_all(daemon, container)
        raise
    return mounts


def _copy_up(daemon, rootfs: str, destination: str, volume_path: str) -> None:
    """An empty volume starts with what the image has at its destination, as dockerd
    does: content, owners and modes, and those of the directory itself. Both sides are
    read and written by the chrooted helper (libcontainer/inroot.py)."""
    if os.listdir(volume_path):
        return
    root_fd = open_root(rootfs)
    try:
        try:
            info = daemon.inroot.stat(root_fd, destination, True)
        except NotFound:
            return   # nothing there in the image: the volume stays empty
        if not (info["mode"] & 0o170000) == 0o040000:
            return   # a file there: the mount itself will say it cannot go on a file
        volume_fd = open_root(volume_path)
        try:
            daemon.inroot.copy_tree(root_fd, destination, volume_fd)
        finally:
            os.close(volume_fd)
    finally:
        os.close(root_fd)


def _each_volume(daemon, container, act: str, errors: tuple[type[BaseException], ...]) -> None:
    """The driver's `act` (unmount, hold, mount) for each volume of the container's record;
    a volume that is gone, or whose driver is, is passed over."""
    for point in container.record.mount_points:
        if point.type == "volume":
            try:
                driver = driver_of(daemon, point.driver)
                getattr(driver, act)(driver.get(point.name), container.id)
            except (VolumeError, BadRequest, *errors):
                continue


def unmount_all(daemon, container) -> None:
    """The container has its volumes mounted no more (it still holds them)."""
    _each_volume(daemon, container, "unmount", (OSError,))


def restore(daemon, container) -> None:
    """At daemon start: the container holds the volumes its record names again."""
    record = container.record
    if not record.mount_points and record.volumes:
        # A record from before mount points (Docker 1.2's Volumes): its data stays where it
        # is, mounted as host paths; nothing of it is a volume the driver would delete.
        record.mount_points = [MountPoint("bind", dest, source=source, rw=record.volumes_rw.get(dest, True),
                                          propagation="rprivate")
                               for dest, source in sorted(record.volumes.items())]
    _each_volume(daemon, container, "hold", ())


def adopt(daemon, container) -> None:
    """A container still running from an earlier daemon (live restore) has its volumes mounted."""
    _each_volume(daemon, container, "mount", ())


def release(daemon, container, remove_anonymous: bool) -> None:
    """`rm`: the container holds its volumes no more; with `-v`, its anonymous volumes
    that no other container holds are removed (named ones and host paths never are)."""
    for point in container.record.mount_points:
        if point.type != "volume":
            continue
        try:
            driver = driver_of(daemon, point.driver)
            volume = driver.get(point.name)
        except (VolumeError, BadRequest):
            continue
        driver.unmount(volume, container.id)
        driver.release(volume, container.id)
        if remove_anonymous and point.anonymous and not driver.users(volume):
            try:
                driver.remove(volume.name)
                daemon.events.publish("destroy", volume.name, type="volume", driver=volume.driver)
            except (VolumeError, OSError):
                pass   # taken again meanwhile: as dockerd, rm does not fail on it


__all__ = ["driver_of", "ensure_volume", "plan", "prepare", "register", "release",
           "restore", "unmount_all", "undo"]
