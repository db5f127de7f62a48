"""overlay: each layer is an overlayfs upper dir over its parents (Docker's overlay2 layout).

    <home>/l/<SHORT>              -> ../<id>/diff   short names keep mount options small
    <home>/<id>/diff/             the layer's own content (whiteouts as 0/0 char devices)
    <home>/<id>/link              SHORT
    <home>/<id>/lower             "l/P1:l/P2:..." the lower chain, nearest parent first
    <home>/<id>/parent            the parent id
    <home>/<id>/work/, merged/    overlayfs workdir and mount point

A layer without a parent has only `diff` and `link`, and `get` returns `diff` unmounted.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures.thread import BrokenThreadPool
from typing import BinaryIO, Iterator

from ..archive import (Whiteouts, changes_dirs, changes_size, overlay_changes, pack_changes,
                       pack_dir, unpack)
from . import _sys
from .driver import Change, DriverError, GraphDriver, LayerExists, LayerNotFound

_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")  # no ',' ':' or '/', which mount options parse
_SHORT_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_SHORT_LEN = 12  # 60 random bits; collisions are retried
MS_RDONLY = 1


def _read(path: str) -> str | None:
    try:
        with open(path) as f:
            return f.read().strip()
    except FileNotFoundError:
        return None


def _module_default_on(param: str) -> bool:
    return _read(f"/sys/module/overlay/parameters/{param}") == "Y"


def _feature_options() -> str:
    # Turn off features a kernel may default on that would put metadata instead of content
    # into upper dirs (so our diffs, which read upper dirs, would be wrong) or that would
    # tie an upper dir to one set of lowers.
    opts = ""
    for param in ("index", "redirect_dir", "metacopy"):
        if _module_default_on(param):
            opts += f",{param}=off"
    return opts


class _MountThread:
    """Runs this driver's mounts from one thread whose cwd is `home`.

    mount(2) copies at most one page of options, so lowerdirs are given as short relative
    names (l/SHORT). chdir is process-wide, so the thread first unshares its filesystem
    context (CLONE_FS): only its own cwd moves, the daemon's other threads are untouched."""

    def __init__(self, home: str) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="overlay-mount",
                                        initializer=self._enter, initargs=(home,))

    @staticmethod
    def _enter(home: str) -> None:
        _sys.unshare_fs()
        os.chdir(home)

    def mount(self, target: str, data: str, flags: int = 0) -> None:
        try:
            self._pool.submit(_sys.mount, "overlay", target, "overlay", flags, data).result()
        except BrokenThreadPool as e:
            raise DriverError(f"overlay mount thread could not start: {e}") from e

    def close(self) -> None:
        self._pool.shutdown(wait=True)


class OverlayDriver(GraphDriver):
    name = "overlay"

    def __init__(self, home: str) -> None:
        super().__init__(home)
        self.home = os.path.realpath(home)
        os.makedirs(os.path.join(self.home, "l"), mode=0o700, exist_ok=True)
        self._lock = threading.Lock()  # guards _refs and every mount/unmount
        self._refs: dict[str, int] = {}
        self._mounter: _MountThread | None = None
        self._extra_opts = _feature_options()

    @classmethod
    def supported(cls, home: str | None = None) -> bool:
        """overlay is in the kernel and, given `home`, a trial mount on its filesystem works
        (overlay on overlay, for one, does not)."""
        try:
            with open("/proc/filesystems") as f:
                if not any(line.split()[-1:] == ["overlay"] for line in f):
                    return False
        except OSError:
            return False
        if home is None:
            return True
        probe_in = os.path.realpath(home)
        while not os.path.isdir(probe_in):
            probe_in = os.path.dirname(probe_in)
        try:
            if _sys.fs_magic(probe_in) == _sys.OVERLAYFS_MAGIC:
                return False
            return _trial_mount(probe_in)
        except OSError:
            return False

    # -- paths and records -----------------------------------------------------------------

    def _dir(self, layer_id: str) -> str:
        if not _ID.match(layer_id) or layer_id == "l":
            raise DriverError(f"invalid layer id {layer_id!r}")
        return os.path.join(self.home, layer_id)

    def _existing(self, layer_id: str) -> str:
        path = self._dir(layer_id)
        if not os.path.isdir(path + "/diff"):
            raise LayerNotFound(f"layer {layer_id} not found")
        return path

    def _lower(self, layer_id: str) -> str | None:
        return _read(os.path.join(self.home, layer_id, "lower"))

    def _recorded_parent(self, layer_id: str) -> str | None:
        return _read(os.path.join(self.home, layer_id, "parent"))

    def _mount_data(self, layer_id: str, lower: str) -> str:
        data = f"lowerdir={lower},upperdir={layer_id}/diff,workdir={layer_id}/work{self._extra_opts}"
        if len(data) >= _sys.PAGE_SIZE:
            raise DriverError(f"layer {layer_id}: too many lower layers for one overlay mount")
        return data

    def exists(self, layer_id: str) -> bool:
        return os.path.isdir(self._dir(layer_id) + "/diff")

    # -- create / remove -------------------------------------------------------------------

    def create(self, layer_id: str, parent: str | None) -> None:
        path = self._dir(layer_id)
        if os.path.lexists(path):
            raise LayerExists(f"layer {layer_id} already exists")
        lower = None
        if parent is not None:
            parent_dir = self._existing(parent)
            parent_link = _read(parent_dir + "/link")
            parent_lower = self._lower(parent)
            lower = f"l/{parent_link}" + (f":{parent_lower}" if parent_lower else "")
            self._mount_data(layer_id, lower)  # fail now, not at the first get
        os.mkdir(path, 0o700)
        short = ""
        try:
            os.mkdir(path + "/diff", 0o755)
            short = self._new_link(layer_id)
            _write(path + "/link", short)
            if parent is not None:
                _write(path + "/lower", lower)
                _write(path + "/parent", parent)
                os.mkdir(path + "/work", 0o700)
                os.mkdir(path + "/merged", 0o700)
        except BaseException:
            if short:   # made, but perhaps not yet named in `link` (a full disk)
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(os.path.join(self.home, "l", short))
            self._delete_files(layer_id)
            raise

    def _new_link(self, layer_id: str) -> str:
        while True:
            short = "".join(secrets.choice(_SHORT_ALPHABET) for _ in range(_SHORT_LEN))
            try:
                os.symlink(f"../{layer_id}/diff", os.path.join(self.home, "l", short))
                return short
            except FileExistsError:
                continue

    def _delete_files(self, layer_id: str) -> None:
        path = os.path.join(self.home, layer_id)
        short = _read(path + "/link")
        if short:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(os.path.join(self.home, "l", short))
        shutil.rmtree(path, ignore_errors=True)

    def layer_ids(self) -> list[str]:
        return [name for name in os.listdir(self.home) if name != "l" and _ID.match(name)]

    def leftover(self, layer_id: str) -> bool:
        return os.path.lexists(self._dir(layer_id))

    def discard(self, layer_id: str) -> None:
        path = self._dir(layer_id)
        if not os.path.lexists(path):
            return
        with self._lock:
            self._refs.pop(layer_id, None)
            for point in _sys.mountpoints_under(path):
                _sys.umount(point, _sys.MNT_DETACH)
        # A half-made layer may have its short link but no `link` file yet: sweep() finds it.
        self._delete_files(layer_id)
        if os.path.lexists(path):
            raise DriverError(f"removing layer {layer_id}: {path} is still there")

    def sweep(self, known: set[str]) -> list[str]:
        removed = []
        links = os.path.join(self.home, "l")
        for short in os.listdir(links):
            target = os.readlink(os.path.join(links, short)) if os.path.islink(
                os.path.join(links, short)) else ""
            owner = target.split("/")[1] if target.startswith("../") and target.count("/") >= 2 else ""
            if owner in known and _read(os.path.join(self.home, owner, "link")) == short:
                continue
            os.unlink(os.path.join(links, short))
            removed.append(f"l/{short}")
        for name in os.listdir(self.home):
            if name.startswith(".overlay-probe-"):   # a trial mount interrupted
                shutil.rmtree(os.path.join(self.home, name), ignore_errors=True)
                removed.append(name)
        return removed

    def remove(self, layer_id: str) -> None:
        path = self._existing(layer_id)
        with self._lock:
            self._refs.pop(layer_id, None)
            for point in _sys.mountpoints_under(path):
                _sys.umount(point, _sys.MNT_DETACH)
        self._delete_files(layer_id)
        if os.path.lexists(path):
            raise DriverError(f"removing layer {layer_id}: {path} is still there")

    # -- get / put -------------------------------------------------------------------------

    def get(self, layer_id: str) -> str:
        path = self._existing(layer_id)
        with self._lock:
            lower = self._lower(layer_id)
            target = path + ("/merged" if lower else "/diff")
            count = self._refs.get(layer_id, 0)
            if count == 0 and lower and not os.path.ismount(target):
                # Left mounted by an earlier daemon: reuse; else mount now.
                self._mount(target, self._mount_data(layer_id, lower))
            self._refs[layer_id] = count + 1
            return target

    def _mount(self, target: str, data: str, flags: int = 0) -> None:
        if self._mounter is None:
            self._mounter = _MountThread(self.home)
        try:
            self._mounter.mount(target, data, flags)
        except OSError as e:
            raise DriverError(f"mounting {target}: {e.strerror} (options {data})") from e

    def put(self, layer_id: str) -> None:
        with self._lock:
            count = self._refs.get(layer_id, 0)
            if count > 1:
                self._refs[layer_id] = count - 1
                return
            self._refs.pop(layer_id, None)
            merged = os.path.join(self.home, layer_id, "merged")
            if os.path.ismount(merged):
                # Detach: a process still inside (a dying container) must not make this fail.
                _sys.umount(merged, _sys.MNT_DETACH)

    def cleanup(self) -> None:
        with self._lock:
            for point in _sys.mountpoints_under(self.home):
                if point != self.home:
                    _sys.umount(point, _sys.MNT_DETACH)
            self._refs.clear()
            if self._mounter is not None:
                self._mounter.close()
                self._mounter = None

    def status(self) -> list[tuple[str, str]]:
        layers = sum(1 for n in os.listdir(self.home) if n != "l" and os.path.isdir(f"{self.home}/{n}/diff"))
        return [("Backing Filesystem", _sys.fs_name(self.home)), ("Supports d_type", "true"),
                ("Layers", str(layers))]

    # -- diffs -----------------------------------------------------------------------------

    def _native(self, layer_id: str, parent: str | None) -> bool:
        """Whether the upper dir alone is the diff against `parent` (it is the recorded one)."""
        return self._recorded_parent(layer_id) == parent

    @contextlib.contextmanager
    def _parent_view(self, layer_id: str) -> Iterator[str | None]:
        """The recorded parent's full filesystem, read-only (None for a base layer)."""
        lower = self._lower(layer_id)
        if lower is None:
            yield None
            return
        if ":" not in lower:  # a single lower dir is itself the parent's filesystem
            yield os.path.realpath(os.path.join(self.home, lower))
            return
        point = tempfile.mkdtemp(prefix="parentview-", dir=os.path.join(self.home, layer_id))
        try:
            with self._lock:
                self._mount(point, f"lowerdir={lower}", MS_RDONLY)  # no upper: read-only
            try:
                yield point
            finally:
                _sys.umount(point, _sys.MNT_DETACH)
        finally:
            os.rmdir(point)

    def changes(self, layer_id: str, parent: str | None) -> list[Change]:
        path = self._existing(layer_id)
        if self._native(layer_id, parent):
            with self._parent_view(layer_id) as lower:
                return overlay_changes(path + "/diff", lower)
        with self._mounted(layer_id, parent) as (mine, theirs):
            return changes_dirs(mine, theirs)

    @contextlib.contextmanager
    def _mounted(self, layer_id: str, parent: str | None) -> Iterator[tuple[str, str | None]]:
        """Both layers' full filesystems, for comparing against a parent other than the
        recorded one (slow: walks both trees)."""
        mine = self.get(layer_id)
        try:
            theirs = self.get(parent) if parent is not None else None
            try:
                yield mine, theirs
            finally:
                if parent is not None:
                    self.put(parent)
        finally:
            self.put(layer_id)

    def diff(self, layer_id: str, parent: str | None) -> Iterator[bytes]:
        path = self._existing(layer_id)
        if self._native(layer_id, parent):
            return pack_dir(path + "/diff", overlay_whiteouts=True)
        return self._naive_diff(layer_id, parent)

    def _naive_diff(self, layer_id: str, parent: str | None) -> Iterator[bytes]:
        with self._mounted(layer_id, parent) as (mine, theirs):
            yield from pack_changes(mine, changes_dirs(mine, theirs))

    def apply_diff(self, layer_id: str, parent: str | None, stream: BinaryIO) -> int:
        # ArchiveError (bad or hostile tar) propagates as is: it is the client's input at fault.
        path = self._existing(layer_id)
        return unpack(stream, path + "/diff", whiteouts=Whiteouts.OVERLAY)

    def diff_size(self, layer_id: str, parent: str | None) -> int:
        path = self._existing(layer_id)
        if not self._native(layer_id, parent):
            with self._mounted(layer_id, parent) as (mine, theirs):
                return changes_size(mine, changes_dirs(mine, theirs))
        return _upper_size(path + "/diff")


def _upper_size(upper: str) -> int:
    """Bytes of the files in an upper dir (each inode once; whiteouts and dirs are 0)."""
    seen: set[tuple[int, int]] = set()
    size = 0
    for dirpath, dirnames, filenames in os.walk(upper):
        for name in filenames:
            st = os.lstat(os.path.join(dirpath, name))
            if st.st_nlink > 1:
                if (st.st_dev, st.st_ino) in seen:
                    continue
                seen.add((st.st_dev, st.st_ino))
            size += st.st_size
    return size


def _write(path: str, text: str) -> None:
    with open(path, "w") as f:
        f.write(text)


def _trial_mount(parent_dir: str) -> bool:
    probe = tempfile.mkdtemp(prefix=".overlay-probe-", dir=parent_dir)
    try:
        for d in ("lower1", "lower2", "upper", "work", "merged"):
            os.mkdir(os.path.join(probe, d))
        data = f"lowerdir={probe}/lower1:{probe}/lower2,upperdir={probe}/upper,workdir={probe}/work"
        try:
            _sys.mount("overlay", probe + "/merged", "overlay", 0, data)
        except OSError:
            return False
        _sys.umount(probe + "/merged", _sys.MNT_DETACH)
        return True
    finally:
        shutil.rmtree(probe, ignore_errors=True)
