"""Safe unpacking of a (possibly compressed, possibly hostile) layer tar into a directory.

Safety rules, checked per entry before anything is written:
- names must be relative and free of `..` (else ArchiveError naming the entry);
- parent directories are resolved inside the root one component at a time with lstat;
  a symlink met on the way is followed only when its target is relative and stays inside
  the root, so an absolute or escaping link (`evil -> /`, then `evil/etc/x`) raises;
- the final component is never followed: whatever is there is removed and re-created;
- hardlink targets are archive names, resolved the same way, so they stay inside the root.
Symlink entries themselves may point anywhere (absolute links are normal in images): they
are only ever created, never written through.
"""

from __future__ import annotations

import enum
import errno
import os
import shutil
import stat
from typing import BinaryIO

from .compression import decompressed
from .errors import ArchiveError
from .tarformat import BLK, CHR, DIR, FIFO, LINK, REG, SYMLINK, TarEntry, TarReader

WHITEOUT_PREFIX = ".wh."
OPAQUE_MARKER = ".wh..wh..opq"
OVERLAY_OPAQUE_XATTR = "trusted.overlay.opaque"

_MAX_SYMLINK_HOPS = 40
_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC


class Whiteouts(enum.Enum):
    """How `.wh.` entries are applied."""

    NONE = "none"  # ordinary files (a plain untar, e.g. into a running container)
    DELETE = "delete"  # the target dir is a full copy of the lower layers (vfs): delete
    OVERLAY = "overlay"  # record for overlayfs: 0/0 char device, opaque xattr


def unpack(stream: BinaryIO, dest: str, *, whiteouts: Whiteouts = Whiteouts.NONE,
           unterminated_ok: bool = False) -> int:
    """Unpack a tar (uncompressed, gzip, bzip2 or xz) into the existing directory `dest`.

    Returns the sum of regular file sizes. Raises ArchiveError on corrupt or hostile input;
    what was written before the error stays (the caller removes the layer).
    `unterminated_ok`: a stream may end after a complete entry (build contexts)."""
    return _Unpacker(dest, whiteouts).run(stream, unterminated_ok)


def _ignorable_xattr_error(e: OSError) -> bool:
    # Not every filesystem takes every namespace (e.g. user.* on symlinks); like Docker, skip.
    return e.errno in (errno.ENOTSUP, errno.EPERM)


class _Unpacker:
    def __init__(self, dest: str, whiteouts: Whiteouts) -> None:
        self.root = os.path.realpath(dest)
        if not os.path.isdir(self.root):
            raise ArchiveError(f"unpack destination {dest!r} is not a directory")
        self.whiteouts = whiteouts
        # archive dir name -> its real path relative to root ("" is the root); cleared
        # whenever a directory or symlink is removed, since any entry might go through it.
        self.dirs: dict[str, str] = {"": ""}
        self.written: set[str] = set()  # real relative paths this archive created (for opaque dirs)
        self.dir_times: list[tuple[str, int]] = []
        self.size = 0
        self.name = ""

    def fail(self, why: str) -> ArchiveError:
        return ArchiveError(f"{self.name!r}: {why}")

    # -- paths -----------------------------------------------------------------------------

    def clean(self, name: str, what: str = "path") -> str:
        if name.startswith("/"):
            raise self.fail(f"{what} is absolute")
        parts = []
        for part in name.split("/"):
            if part == "..":
                raise self.fail(f"{what} contains '..'")
            if part and part != ".":
                parts.append(part)
        return "/".join(parts)

    def abs(self, rel: str) -> str:
        return self.root + "/" + rel if rel else self.root

    def resolve_dir(self, rel: str, hops: int = 0) -> str:
        """Real path (relative to root) of directory `rel`, creating missing ones."""
        real = self.dirs.get(rel)
        if real is not None:
            return real
        parent, _, base = rel.rpartition("/")
        real_parent = self.resolve_dir(parent, hops)
        real = f"{real_parent}/{base}" if real_parent else base
        path = self.abs(real)
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            os.mkdir(path, 0o755)
        else:
            if stat.S_ISLNK(st.st_mode):
                real = self.follow(real_parent, os.readlink(path), rel, hops)
            elif not stat.S_ISDIR(st.st_mode):
                raise self.fail(f"parent {rel!r} is not a directory")
        self.dirs[rel] = real
        return real

    def follow(self, real_parent: str, target: str, rel: str, hops: int) -> str:
        if hops >= _MAX_SYMLINK_HOPS:
            raise self.fail(f"too many levels of symlinks at {rel!r}")
        if target.startswith("/"):
            raise self.fail(f"parent {rel!r} is a symlink to {target!r}, outside the layer")
        parts = real_parent.split("/") if real_parent else []
        for part in target.split("/"):
            if part == "..":
                if not parts:
                    raise self.fail(f"parent {rel!r} is a symlink to {target!r}, outside the layer")
                parts.pop()
            elif part and part != ".":
                parts.append(part)
        return self.resolve_dir("/".join(parts), hops + 1)

    def remove(self, path: str, st: os.stat_result) -> None:
        if stat.S_ISDIR(st.st_mode):
            shutil.rmtree(path)
            self.dirs = {"": ""}
        else:
            os.unlink(path)
            if stat.S_ISLNK(st.st_mode):
                self.dirs = {"": ""}

    # -- the loop --------------------------------------------------------------------------

    def run(self, stream: BinaryIO, unterminated_ok: bool = False) -> int:
        source = decompressed(stream)
        try:
            reader = TarReader(source, unterminated_ok)
            for entry in reader:
                self.name = entry.name
                try:
                    self.entry(entry, reader)
                except ArchiveError:
                    raise
                except OSError as e:
                    raise self.fail(f"{e.strerror or e} ({e.filename or ''})") from e
            reader.drain()
        finally:
            source.close()  # stops the decompression thread, if any
        # Directory times last: creating their content changed them.
        for path, mtime_ns in reversed(self.dir_times):
            try:
                os.utime(path, ns=(mtime_ns, mtime_ns), follow_symlinks=False)
            except FileNotFoundError:  # replaced by a later entry
                pass
        return self.size

    def entry(self, e: TarEntry, reader: TarReader) -> None:
        rel = self.clean(e.name)
        parent, _, base = rel.rpartition("/")
        if self.whiteouts is not Whiteouts.NONE and base.startswith(WHITEOUT_PREFIX):
            self.whiteout(parent, base)
            return
        if not rel:
            if e.type != DIR:
                raise self.fail("the archive root is not a directory")
            self.metadata(self.root, e, is_dir=True)
            return
        real_parent = self.resolve_dir(parent)
        real = f"{real_parent}/{base}" if real_parent else base
        path = self.abs(real)
        self.written.add(real)
        if e.type == REG:
            self.regular(path, e, reader)
        elif e.type == DIR:
            self.directory(path, rel, real, e)
        elif e.type == SYMLINK:
            self.create(path, lambda: os.symlink(e.linkname, path))
            self.metadata(path, e, is_link=True)
        elif e.type == LINK:
            target = self.hardlink_target(e)
            self.create(path, lambda: os.link(target, path, follow_symlinks=False))
        elif e.type in (CHR, BLK, FIFO):
            kind = {CHR: stat.S_IFCHR, BLK: stat.S_IFBLK, FIFO: stat.S_IFIFO}[e.type]
            dev = os.makedev(e.devmajor, e.devminor)
            self.create(path, lambda: os.mknod(path, kind | 0o600, dev))
            self.metadata(path, e)

    def create(self, path: str, make) -> None:
        """Run `make`; if something is in the way, remove it (never follow it) and retry."""
        try:
            make()
        except FileExistsError:
            self.remove(path, os.lstat(path))
            make()

    def regular(self, path: str, e: TarEntry, reader: TarReader) -> None:
        try:
            fd = os.open(path, _CREATE, 0o600)
        except FileExistsError:
            self.remove(path, os.lstat(path))
            fd = os.open(path, _CREATE, 0o600)
        try:
            if e.size:
                reader.copy_data_to_fd(fd)
            os.fchown(fd, e.uid, e.gid)
            os.fchmod(fd, e.mode)  # after chown, which clears setuid/setgid
            self.xattrs(fd, e)
            os.utime(fd, ns=(e.mtime_ns, e.mtime_ns))
        finally:
            os.close(fd)
        self.size += e.size

    def directory(self, path: str, rel: str, real: str, e: TarEntry) -> None:
        try:
            os.mkdir(path, 0o700)
        except FileExistsError:
            st = os.lstat(path)
            if not stat.S_ISDIR(st.st_mode):  # an existing dir is kept (merged), anything else replaced
                self.remove(path, st)
                os.mkdir(path, 0o700)
        self.dirs[rel] = real
        self.metadata(path, e, is_dir=True)

    def metadata(self, path: str, e: TarEntry, *, is_dir: bool = False, is_link: bool = False) -> None:
        os.chown(path, e.uid, e.gid, follow_symlinks=False)
        if not is_link:
            os.chmod(path, e.mode)
        self.xattrs(path, e)
        if is_dir:
            self.dir_times.append((path, e.mtime_ns))
        else:
            os.utime(path, ns=(e.mtime_ns, e.mtime_ns), follow_symlinks=False)

    def xattrs(self, target: str | int, e: TarEntry) -> None:
        for key, value in e.xattrs.items():
            # overlayfs reads trusted.overlay.* as whiteout/redirect metadata; a tar never
            # gets to set them (whiteouts come only from `.wh.` names).
            if key.startswith("trusted.overlay."):
                continue
            try:
                if isinstance(target, int):
                    os.setxattr(target, key, value)
                else:
                    os.setxattr(target, key, value, follow_symlinks=False)
            except OSError as err:
                if not _ignorable_xattr_error(err):
                    raise

    def hardlink_target(self, e: TarEntry) -> str:
        rel = self.clean(e.linkname, "hardlink target")
        if not rel:
            raise self.fail("hardlink to the archive root")
        parent, _, base = rel.rpartition("/")
        real_parent = self.resolve_dir(parent)
        target = self.abs(f"{real_parent}/{base}" if real_parent else base)
        try:
            st = os.lstat(target)
        except FileNotFoundError:
            raise self.fail(f"hardlink target {e.linkname!r} does not exist") from None
        if stat.S_ISDIR(st.st_mode):
            raise self.fail(f"hardlink target {e.linkname!r} is a directory")
        return target

    # -- whiteouts -------------------------------------------------------------------------

    def whiteout(self, parent: str, base: str) -> None:
        real_parent = self.resolve_dir(parent)
        dir_path = self.abs(real_parent)
        if base == OPAQUE_MARKER:
            if self.whiteouts is Whiteouts.OVERLAY:
                os.setxattr(dir_path, OVERLAY_OPAQUE_XATTR, b"y", follow_symlinks=False)
            else:  # DELETE: drop what the lower layers had here, keep what this archive wrote
                for child in os.listdir(dir_path):
                    child_real = f"{real_parent}/{child}" if real_parent else child
                    if child_real not in self.written:
                        child_path = self.abs(child_real)
                        self.remove(child_path, os.lstat(child_path))
            return
        if base.startswith(WHITEOUT_PREFIX * 2):  # other aufs metadata (.wh..wh.plnk, ...)
            return
        name = base[len(WHITEOUT_PREFIX):]
        if name in ("", ".", ".."):
            raise self.fail("whiteout names no file")
        path = f"{dir_path}/{name}"
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            st = None
        if st is not None:
            self.remove(path, st)
        if self.whiteouts is Whiteouts.OVERLAY:
            os.mknod(path, stat.S_IFCHR | 0o600, 0)  # overlayfs' whiteout: char device 0/0
