"""ADD and COPY into a container's mounted filesystem, as Docker 1.2 did it.

Paths inside the image are resolved as the container would see them: symlinks are
followed but never out of the rootfs (`..` at its top stays at its top). The writes
happen in the confined-filesystem helper (libcontainer/inroot.py), chrooted into the
rootfs, so no symlink there, however it changes meanwhile, leads a write out of it.
Copies belong to root (0:0) unless they come out of a local tar archive that ADD unpacks.
"""

from __future__ import annotations

import os
import stat
from typing import Iterator

from ..archive import ArchiveError, decompressed, pack_dir
from ..libcontainer.inroot_client import InRoot, open_root
from ..errors import BadRequest, NotFound
from .context import ContextError, Source


def is_archive(path: str) -> bool:
    """Whether ADD would unpack this local file: a tar, possibly gzip/bzip2/xz-compressed."""
    try:
        with open(path, "rb") as f:
            stream = decompressed(f)
            try:
                head = stream.read(512)
            finally:
                stream.close()
    except (OSError, EOFError, ArchiveError, ValueError):
        return False
    except Exception:  # a decompressor's own error on a file that only looks compressed
        return False
    return len(head) == 512 and head[257:262] == b"ustar"


def _file_chunks(path: str) -> Iterator[bytes]:
    with open(path, "rb") as f:
        yield from iter(lambda: f.read(1 << 20), b"")


def copy_source(inroot: InRoot, rootfs: str, src: Source, dest: str, dest_is_dir: bool,
                extract: bool, owner: tuple[int, int] | None = None) -> None:
    """Copy one source to container path `dest` (absolute) of the mounted `rootfs`;
    `owner` (COPY --chown) owns the copies and the directories made for them."""
    request: dict = {"dest": dest, "dest_is_dir": dest_is_dir, "name": src.name}
    if owner is not None:
        request["uid"], request["gid"] = owner
    if src.is_dir:
        request["kind"], chunks = "dir", pack_dir(src.path)
    elif extract and is_archive(src.path):
        request["kind"], chunks = "archive", _file_chunks(src.path)
    else:
        st = os.stat(src.path)
        request.update(kind="file", mode=stat.S_IMODE(st.st_mode), atime_ns=st.st_atime_ns,
                       mtime_ns=st.st_mtime_ns)
        chunks = _file_chunks(src.path)
    root_fd = open_root(rootfs)
    try:
        inroot.copy_in(root_fd, request, chunks)
    except (BadRequest, NotFound) as exc:
        raise ContextError(str(exc)) from None
    finally:
        os.close(root_fd)



EMPTY_TAR = b"\0" * 1024   # a tar with no entries: WORKDIR's "copy" of nothing


def make_dir(inroot: InRoot, rootfs: str, path: str) -> None:
    """mkdir -p `path` in the mounted `rootfs` (WORKDIR), confined as the copies are."""
    root_fd = open_root(rootfs)
    try:
        inroot.copy_in(root_fd, {"dest": path, "dest_is_dir": True, "name": path, "kind": "dir"},
                       iter([EMPTY_TAR]))
    except (BadRequest, NotFound) as exc:
        raise ContextError(f"WORKDIR {path}: {exc}") from None
    finally:
        os.close(root_fd)
