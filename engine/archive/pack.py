"""Directories (or a list of changes within one) to tar streams.

Streams are iterators of bytes chunks of about CHUNK bytes: small entries are batched so
that a consumer (an HTTP response, a file) sees few large writes.
"""

from __future__ import annotations

import io
import os
import stat
from typing import BinaryIO, Iterable, Iterator

from .changes import Change
from .tarformat import (BLK, CHR, DIR, END_OF_ARCHIVE, FIFO, LINK, REG, SYMLINK, TarEntry,
                        encode_header)
from .unpack import OPAQUE_MARKER, OVERLAY_OPAQUE_XATTR, WHITEOUT_PREFIX

CHUNK = 1 << 20


def _is_overlay_whiteout(st: os.stat_result) -> bool:
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == 0


def _xattrs(path: str) -> dict[str, bytes]:
    try:
        names = os.listxattr(path, follow_symlinks=False)
    except OSError:
        return {}
    out = {}
    for name in names:
        if name.startswith("trusted.overlay."):  # overlayfs bookkeeping, never layer content
            continue
        try:
            out[name] = os.getxattr(path, name, follow_symlinks=False)
        except OSError:
            pass
    return out


class _Writer:
    """Turns (archive name, path, lstat) triples into tar bytes, tracking hardlinks."""

    def __init__(self) -> None:
        self.buf = bytearray()
        self.inodes: dict[tuple[int, int], str] = {}

    def _flush(self) -> Iterator[bytes]:
        if len(self.buf) >= CHUNK:
            yield bytes(self.buf)
            self.buf.clear()

    def add(self, name: str, path: str, st: os.stat_result) -> Iterator[bytes]:
        mode = st.st_mode
        e = TarEntry(name=name, type=REG, mode=stat.S_IMODE(mode), uid=st.st_uid, gid=st.st_gid,
                     mtime_ns=st.st_mtime_ns, xattrs=_xattrs(path))
        if stat.S_ISDIR(mode):
            e.type, e.name = DIR, name + "/"
        elif stat.S_ISLNK(mode):
            try:
                e.type, e.linkname = SYMLINK, os.readlink(path)
            except (FileNotFoundError, OSError):   # replaced since the lstat (a live filesystem)
                return
        elif stat.S_ISREG(mode):
            key = (st.st_dev, st.st_ino)
            first = self.inodes.get(key) if st.st_nlink > 1 else None
            if first is not None:
                e.type, e.linkname = LINK, first
            else:
                if st.st_nlink > 1:
                    self.inodes[key] = name
                e.size = st.st_size
        elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
            e.type = CHR if stat.S_ISCHR(mode) else BLK
            e.devmajor, e.devminor = os.major(st.st_rdev), os.minor(st.st_rdev)
        elif stat.S_ISFIFO(mode):
            e.type = FIFO
        else:  # sockets are not archived (as tar and Docker do)
            return
        self.buf += encode_header(e)
        if e.type == REG and e.size:
            yield from self._data(path, e.size, name)
        yield from self._flush()

    def _data(self, path: str, size: int, name: str) -> Iterator[bytes]:
        try:
            f = open(path, "rb", buffering=0)
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            f = io.BytesIO()   # gone since the lstat (a live filesystem): zeros, as a shrunk file
        with f:
            left = size
            while left:
                # A file that shrinks while we read is padded with zeros, one that grows is
                # cut: the header already promised `size` bytes.
                data = f.read(min(left, CHUNK)) or bytes(min(left, CHUNK))
                self.buf += data
                left -= len(data)
                yield from self._flush()
        self.buf += bytes(-size % 512)

    def whiteout(self, name: str, st: os.stat_result | None = None) -> Iterator[bytes]:
        e = TarEntry(name=name, type=REG, mode=0o600,
                     uid=st.st_uid if st else 0, gid=st.st_gid if st else 0,
                     mtime_ns=st.st_mtime_ns if st else 0)
        self.buf += encode_header(e)
        yield from self._flush()

    def close(self) -> Iterator[bytes]:
        self.buf += END_OF_ARCHIVE
        yield bytes(self.buf)
        self.buf.clear()


def _join(prefix: str, name: str) -> str:
    return f"{prefix}/{name}" if prefix else name


def _walk(w: _Writer, root: str, rel: str, overlay: bool) -> Iterator[bytes]:
    """Entries below directory `root/rel` in lexical order, each directory before its content."""
    base = os.path.join(root, rel) if rel else root
    for name in _names(base):
        child = _join(rel, name)
        path = f"{base}/{name}"
        try:
            st = os.lstat(path)
        except (FileNotFoundError, NotADirectoryError):   # removed meanwhile (a live filesystem)
            continue
        if overlay and _is_overlay_whiteout(st):
            yield from w.whiteout(_join(rel, WHITEOUT_PREFIX + name), st)
            continue
        yield from w.add(child, path, st)
        if stat.S_ISDIR(st.st_mode):
            if overlay and _opaque(path):
                yield from w.whiteout(_join(child, OPAQUE_MARKER), st)
            yield from _walk(w, root, child, overlay)


def _names(path: str) -> list[str]:
    """A directory's entries, sorted; none if it went away or was replaced meanwhile
    (a running container's filesystem changes while it is tarred)."""
    try:
        return sorted(os.listdir(path))
    except (FileNotFoundError, NotADirectoryError):
        return []


def _opaque(path: str) -> bool:
    try:
        return os.getxattr(path, OVERLAY_OPAQUE_XATTR, follow_symlinks=False) == b"y"
    except OSError:
        return False


def pack_dir(root: str, include: Iterable[str] | None = None, *,
             overlay_whiteouts: bool = False) -> Iterator[bytes]:
    """Tar the content of `root` (names relative to it, root itself not included).

    include: only these relative paths (recursively), e.g. `[basename]` for `docker cp`.
    overlay_whiteouts: `root` is an overlay upper dir; write its 0/0 char devices as
    `.wh.NAME` and opaque directories as `DIR/.wh..wh..opq`."""
    w = _Writer()
    if include is None:
        yield from _walk(w, root, "", overlay_whiteouts)
    else:
        for rel in include:
            rel = rel.strip("/")
            path = os.path.join(root, rel)
            st = os.lstat(path)
            yield from w.add(rel, path, st)
            if stat.S_ISDIR(st.st_mode):
                yield from _walk(w, root, rel, overlay_whiteouts)
    yield from w.close()


def pack_path(path: str, name: str, *, overlay_whiteouts: bool = False) -> Iterator[bytes]:
    """Tar the file, link or directory `path` as the entry `name` (a directory with its
    content below `name/`): `docker cp` of one path, under the name the client asked for."""
    w = _Writer()
    st = os.lstat(path)
    name = name.strip("/")
    yield from w.add(name, path, st)
    if stat.S_ISDIR(st.st_mode):
        yield from _walk_as(w, path, name, overlay_whiteouts)
    yield from w.close()


def _walk_as(w: _Writer, path: str, name: str, overlay: bool) -> Iterator[bytes]:
    """_walk of directory `path`, its entries named below `name`."""
    for child in _names(path):
        child_path, child_name = f"{path.rstrip('/')}/{child}", f"{name}/{child}"
        try:
            st = os.lstat(child_path)
        except (FileNotFoundError, NotADirectoryError):
            continue
        if overlay and _is_overlay_whiteout(st):
            yield from w.whiteout(f"{name}/{WHITEOUT_PREFIX}{child}", st)
            continue
        yield from w.add(child_name, child_path, st)
        if stat.S_ISDIR(st.st_mode):
            if overlay and _opaque(child_path):
                yield from w.whiteout(f"{child_name}/{OPAQUE_MARKER}", st)
            yield from _walk_as(w, child_path, child_name, overlay)


def pack_changes(root: str, changes: Iterable[Change]) -> Iterator[bytes]:
    """Tar the given changes of the layer whose full filesystem is at `root`:
    A and C entries as themselves (not recursively), D as `.wh.NAME` whiteouts."""
    w = _Writer()
    for change in sorted(changes, key=lambda c: c.path):
        rel = change.path.strip("/")
        if change.kind == "D":
            parent, _, base = rel.rpartition("/")
            yield from w.whiteout(_join(parent, WHITEOUT_PREFIX + base))
        else:
            path = os.path.join(root, rel)
            yield from w.add(rel, path, os.lstat(path))
    yield from w.close()


def write_to(chunks: Iterable[bytes], out: BinaryIO) -> int:
    """Write a tar stream to a file object; return the bytes written."""
    total = 0
    for chunk in chunks:
        out.write(chunk)
        total += len(chunk)
    return total
