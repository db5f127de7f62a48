"""What a layer changed relative to its parent, as `docker diff` reports it.

Two ways in:
- `changes_dirs(new, old)`: walk two full trees side by side (vfs, or any two mounted views);
- `overlay_changes(upper, lower)`: read an overlay upper dir directly, looking names up in
  `lower`, a directory showing the parent's full filesystem.
Both return Change records sorted by path, with each changed entry's parent directories
reported as "C" (Docker does this so that a layer tar restores directory metadata), except
the root and directories that are themselves added.
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass
from typing import Iterable

from .unpack import OVERLAY_OPAQUE_XATTR


@dataclass(frozen=True)
class Change:
    """One entry of `docker diff`: kind is "A" (added), "C" (changed) or "D" (deleted)."""

    kind: str
    path: str  # absolute inside the container, e.g. "/etc/motd"


_CAPABILITY_XATTR = "security.capability"


def _same_time(a: int, b: int) -> bool:
    # Tar keeps whole seconds: equal seconds with either side lacking nanoseconds is "same".
    sa, na = divmod(a, 1_000_000_000)
    sb, nb = divmod(b, 1_000_000_000)
    return sa == sb and (na == nb or na == 0 or nb == 0)


def _capability(path: str) -> bytes | None:
    try:
        return os.getxattr(path, _CAPABILITY_XATTR, follow_symlinks=False)
    except OSError:
        return None


def _differs(new_path: str, new: os.stat_result, old_path: str, old: os.stat_result) -> bool:
    """Docker's ChangesDirs test: type and mode, owner, device, size (not for dirs), mtime,
    the link target and the file capability."""
    if (new.st_mode != old.st_mode or new.st_uid != old.st_uid or new.st_gid != old.st_gid
            or new.st_rdev != old.st_rdev):
        return True
    if not stat.S_ISDIR(new.st_mode) and new.st_size != old.st_size:
        return True
    if not _same_time(new.st_mtime_ns, old.st_mtime_ns):
        return True
    if stat.S_ISLNK(new.st_mode) and os.readlink(new_path) != os.readlink(old_path):
        return True
    return _capability(new_path) != _capability(old_path)


def _lstat(path: str) -> os.stat_result | None:
    try:
        return os.lstat(path)
    except FileNotFoundError:
        return None
    except NotADirectoryError:
        return None


class _Collector:
    def __init__(self) -> None:
        self.items: dict[str, str] = {}

    def add(self, kind: str, path: str) -> None:
        self.items[path] = kind

    def sorted(self) -> list[Change]:
        return [Change(self.items[p], p) for p in sorted(self.items)]


def _all_added(out: _Collector, root: str, rel: str) -> None:
    for entry in os.scandir(root + rel):
        child = f"{rel}/{entry.name}"
        out.add("A", child)
        if entry.is_dir(follow_symlinks=False):
            _all_added(out, root, child)


def changes_dirs(new: str, old: str | None) -> list[Change]:
    """Compare the tree at `new` with the tree at `old` (None: an empty tree)."""
    out = _Collector()
    new = new.rstrip("/") or "/"
    if old is None:
        _all_added(out, new, "")
    else:
        _compare(out, new, old.rstrip("/") or "/", "")
    return out.sorted()


def _compare(out: _Collector, new_root: str, old_root: str, rel: str) -> bool:
    """Record the changes inside directory `rel`; True when there were any."""
    new_dir, old_dir = new_root + rel, old_root + rel
    old_names = set(os.listdir(old_dir))
    changed = False
    for entry in os.scandir(new_dir):
        name = entry.name
        path = f"{rel}/{name}"
        nst = entry.stat(follow_symlinks=False)
        ost = _lstat(old_dir + "/" + name) if name in old_names else None
        old_names.discard(name)
        if ost is None:
            out.add("A", path)
            if stat.S_ISDIR(nst.st_mode):
                _all_added(out, new_root, path)
            changed = True
            continue
        if _differs(entry.path, nst, old_dir + "/" + name, ost):
            out.add("C", path)
            changed = True
        if stat.S_ISDIR(nst.st_mode):
            if stat.S_ISDIR(ost.st_mode):
                if _compare(out, new_root, old_root, path):
                    out.add("C", path)
                    changed = True
            else:
                _all_added(out, new_root, path)
    for name in old_names:
        out.add("D", f"{rel}/{name}")
        changed = True
    return changed


def _is_whiteout(st: os.stat_result) -> bool:
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == 0


def _is_opaque(path: str) -> bool:
    try:
        return os.getxattr(path, OVERLAY_OPAQUE_XATTR, follow_symlinks=False) == b"y"
    except OSError:
        return False


def overlay_changes(upper: str, lower: str | None) -> list[Change]:
    """Changes recorded in overlay upper dir `upper` over the parent filesystem at `lower`
    (None: no parent). A 0/0 char device is a deletion; an opaque directory hides all the
    lower content beneath it, which is reported deleted unless the upper dir has it again."""
    out = _Collector()
    _overlay_dir(out, upper.rstrip("/"), lower.rstrip("/") if lower else None, "", opaque=False)
    return out.sorted()


def _overlay_dir(out: _Collector, upper: str, lower: str | None, rel: str, opaque: bool) -> bool:
    upper_names = set()
    changed = False
    for entry in os.scandir(upper + rel):
        name = entry.name
        path = f"{rel}/{name}"
        st = entry.stat(follow_symlinks=False)
        if _is_whiteout(st):
            out.add("D", path)
            changed = True
            continue
        upper_names.add(name)
        lst = _lstat(lower + path) if lower is not None else None
        if lst is None:
            out.add("A", path)
            if stat.S_ISDIR(st.st_mode):
                _all_added(out, upper, path)
            changed = True
            continue
        if not stat.S_ISDIR(st.st_mode) or not stat.S_ISDIR(lst.st_mode):
            out.add("C", path)  # present in upper means copied up or replaced
            if stat.S_ISDIR(st.st_mode):
                _all_added(out, upper, path)
            changed = True
            continue
        # A directory in both: copied up because something below changed, or its metadata.
        sub_opaque = opaque or _is_opaque(entry.path)
        below = _overlay_dir(out, upper, lower, path, sub_opaque)
        if below or _differs(entry.path, st, lower + path, lst):
            out.add("C", path)
            changed = True
    if opaque and lower is not None and rel:
        # Everything the parent had here and the upper dir does not have again is gone.
        try:
            lower_names = os.listdir(lower + rel)
        except (FileNotFoundError, NotADirectoryError):
            lower_names = []
        for name in lower_names:
            if name not in upper_names:
                out.add("D", f"{rel}/{name}")
                changed = True
    return changed


def changes_size(root: str, changes: Iterable[Change]) -> int:
    """Bytes the added and changed non-directories take in `root`, each inode once
    (Docker's ChangesSize)."""
    seen: set[tuple[int, int]] = set()
    size = 0
    for change in changes:
        if change.kind == "D":
            continue
        st = _lstat(os.path.join(root, change.path.lstrip("/")))
        if st is None or stat.S_ISDIR(st.st_mode):
            continue
        if st.st_nlink > 1:
            key = (st.st_dev, st.st_ino)
            if key in seen:
                continue
            seen.add(key)
        size += st.st_size
    return size
