"""ADD and COPY into a container's mounted filesystem, as Docker 1.2 did it.

Paths inside the image are resolved as the container would see them: symlinks are
followed but never out of the rootfs (`..` at its top stays at its top). Copies
belong to root (0:0) unless they come out of a local tar archive that ADD unpacks.
"""

from __future__ import annotations

import os
import shutil
import stat

from ..archive import ArchiveError, decompressed, pack_dir, unpack
from ..libcontainer.paths import PathEscape, resolve_in_root
from .context import ContextError, Source
from .iterio import reader



def in_rootfs(rootfs: str, path: str) -> str:
    """Host path of container path `path`, symlinks followed within `rootfs` (as chroot)."""
    try:
        return resolve_in_root(rootfs, path, clamp_above_root=True, reroot_absolute=True)
    except PathEscape:  # only a loop can get here
        raise ContextError(f"{path}: too many levels of symbolic links in the image") from None


def _mkdirs(rootfs: str, path: str) -> str:
    """mkdir -p inside the rootfs (new directories 0755 root:root); the host path."""
    parts = [p for p in path.split("/") if p]
    for i in range(1, len(parts) + 1):
        real = in_rootfs(rootfs, "/" + "/".join(parts[:i]))
        if not os.path.lexists(real):
            os.mkdir(real, 0o755)
            os.chown(real, 0, 0)
        elif not os.path.isdir(real):
            raise ContextError(f"cannot copy to {path}: /{'/'.join(parts[:i])} is not a directory")
    return in_rootfs(rootfs, path)


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


def _chown_tree(top: str, names: list[str]) -> None:
    for rel in names:
        os.chown(os.path.join(top, rel), 0, 0, follow_symlinks=False)


def copy_source(rootfs: str, src: Source, dest: str, dest_is_dir: bool, extract: bool) -> None:
    """Copy one source to container path `dest` (absolute)."""
    if src.is_dir:
        target = _mkdirs(rootfs, dest)
        with reader(pack_dir(src.path)) as stream:
            unpack(stream, target)
        names = []
        for dirpath, dirnames, filenames in os.walk(src.path):
            rel = os.path.relpath(dirpath, src.path)
            names += [os.path.normpath(os.path.join(rel, n)) for n in dirnames + filenames]
        _chown_tree(target, names)
        return
    if extract and is_archive(src.path):
        target = _mkdirs(rootfs, dest)
        with open(src.path, "rb") as f:
            try:
                unpack(f, target)
            except ArchiveError as exc:
                raise ContextError(f"ADD {src.name}: cannot unpack the archive: {exc}") from None
        return
    host_dest = in_rootfs(rootfs, dest)
    if dest_is_dir or dest.endswith("/") or os.path.isdir(host_dest):
        _mkdirs(rootfs, dest)
        dest = dest.rstrip("/") + "/" + os.path.basename(src.name.rstrip("/"))
    else:
        _mkdirs(rootfs, os.path.dirname(dest.rstrip("/")) or "/")
    host_dest = in_rootfs(rootfs, dest)
    if os.path.isdir(host_dest) and not os.path.islink(host_dest):
        raise ContextError(f"cannot copy {src.name} over the directory {dest}")
    if os.path.lexists(host_dest):
        os.unlink(host_dest)
    shutil.copyfile(src.path, host_dest, follow_symlinks=True)
    st = os.stat(src.path)
    os.chown(host_dest, 0, 0)
    os.chmod(host_dest, stat.S_IMODE(st.st_mode))
    os.utime(host_dest, ns=(st.st_atime_ns, st.st_mtime_ns))
