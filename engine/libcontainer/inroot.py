"""The confined-filesystem helper: every read or write the daemon makes inside a
container's filesystem (cp, archive, export, ADD/COPY) runs here, chrooted into it.

Why a chroot and not path checks in the daemon: a process in the container can swap
a directory for a symlink to `/` between the daemon's check and its open, so any
resolve-then-open in the daemon can be raced out of the root. Inside a chroot the
kernel resolves every path (each `..`, each absolute or relative symlink, every
component the tar code walks) against the container's root, so whatever the
container does, no path leads out of it. The tar code in archive/ runs here
unchanged.

Shape: the daemon starts this once, as `python -I -S init.py inroot <control fd>`
(single-threaded, so forking is safe; the threaded daemon never forks). Each request
is one datagram on the control socket: a JSON object and three descriptors (the root
directory, a data pipe end, a report pipe's write end). The helper forks a child per
request; the child fchdir()s into the root, chroot()s there, closes everything else,
does the work and writes JSON lines on the report pipe:
  head: {"ok": <result>} or {"error": <text>, "kind": "notfound"|"badrequest"|"error"}
  for streaming operations, after the tar went to the data pipe, a final line the same way.
The helper exits when the daemon closes its end of the control socket.
Stdlib and archive/ only: engine/ is sys.path[0] here.
"""

from __future__ import annotations

import errno
import json
import os
import signal
import socket
import stat
import sys

import archive   # noqa: F401  (imported before any chroot: nothing can be imported after)
from archive import ArchiveError, unpack
from archive.unpack import Whiteouts, _Unpacker
from archive.pack import pack_dir, pack_path
from libcontainer import capabilities, syscalls
from libcontainer.paths import PathEscape, resolve_in_root

MAX_REQUEST = 1 << 16
PR_SET_NO_NEW_PRIVS = 38
# What file work inside the root needs (owners, modes, device nodes, file capabilities);
# without SYS_CHROOT or SYS_ADMIN a child could not leave its chroot even if it tried.
CHILD_CAPS = capabilities.mask(capabilities.numbers(
    ["CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "MKNOD", "SETFCAP"]))


class Refused(Exception):
    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


# --- paths inside the (chrooted) root --------------------------------------------------

def resolve(path: str, follow_last: bool) -> str:
    """Docker's archive path rule: the parent's symlinks are followed, the last
    component only when asked (a path ending in `/` or `/.`)."""
    parts = [p for p in path.split("/") if p not in ("", ".")]
    if not parts:
        return "/"
    try:
        if follow_last:
            return resolve_in_root("/", "/".join(parts), clamp_above_root=True, reroot_absolute=True)
        parent = resolve_in_root("/", "/".join(parts[:-1]), clamp_above_root=True,
                                 reroot_absolute=True)
    except PathEscape:
        raise Refused("badrequest", f"{path}: too many levels of symbolic links") from None
    except OSError:   # a link there went away while it was read: the path is not there now
        raise Refused("notfound", f"Could not find the file {path}") from None
    if parts[-1] == "..":
        return os.path.dirname(parent) or "/"
    return os.path.join(parent, parts[-1])


def _lstat(path: str, shown: str) -> os.stat_result:
    try:
        return os.lstat(path)
    except (FileNotFoundError, NotADirectoryError):
        raise Refused("notfound", f"Could not find the file {shown}") from None


def stat_result(path: str, shown: str) -> dict:
    st = _lstat(path, shown)
    link = ""
    if stat.S_ISLNK(st.st_mode):
        # What Docker reports: the link's fully resolved path in the container.
        try:
            link = resolve_in_root("/", path, clamp_above_root=True, reroot_absolute=True)
        except (PathEscape, OSError):   # a loop, or the link changed meanwhile
            link = ""
    return {"mode": st.st_mode, "size": st.st_size, "mtime_ns": st.st_mtime_ns,
            "link_target": link}


# --- operations ------------------------------------------------------------------------

def op_stat(req: dict, data: int, report) -> None:
    resolved = resolve(req["path"], req.get("follow_last", False))
    report({"ok": stat_result(resolved, req["path"])})


def op_pack(req: dict, data: int, report) -> None:
    """Tar one path: with `name` as its top entry, or (no name) under the base name
    of the fully resolved path (API 1.2's /copy). `/` is tarred as its content."""
    resolved = resolve(req["path"], req.get("follow_last", False))
    info = stat_result(resolved, req["path"])
    if resolved == "/":
        chunks = pack_dir("/")
    else:
        chunks = pack_path(resolved, req.get("name") or os.path.basename(resolved))
    _send(report, info, chunks, data)


def op_export(req: dict, data: int, report) -> None:
    _send(report, None, pack_dir("/"), data)


def _send(report, head, chunks, data: int) -> None:
    """The first chunk (all of a small tar) before the head: an error there still gets
    its own status instead of breaking a stream already answered 200."""
    try:
        first = next(chunks, b"")
    except FileNotFoundError:   # the path went away before it was read
        raise Refused("notfound", "the path went away while it was read") from None
    report({"ok": head})
    _stream([first], data)
    _stream(chunks, data)
    report({"ok": None})


def op_unpack(req: dict, data: int, report) -> None:
    """Untar the data pipe into an existing directory (followed to its end)."""
    resolved = resolve(req["path"], True)
    st = _lstat(resolved, req["path"])
    if not stat.S_ISDIR(st.st_mode):
        raise Refused("badrequest", f"extraction point {req['path']} is not a directory")
    with os.fdopen(data, "rb", closefd=False) as stream:
        try:
            unpack(stream, resolved)
        except ArchiveError as exc:
            raise Refused("badrequest", f"Error processing tar file: {exc}") from None
    report({"ok": None})


def _in_root(path: str) -> str:
    try:
        return resolve_in_root("/", path, clamp_above_root=True, reroot_absolute=True)
    except PathEscape:
        raise Refused("badrequest", f"{path}: too many levels of symbolic links in the image") from None
    except OSError:   # a link there went away while it was read
        raise Refused("notfound", f"{path}: it changed while being resolved") from None


def _mkdirs(path: str, uid: int = 0, gid: int = 0) -> str:
    """mkdir -p (new directories 0755, owned by uid:gid); the resolved path."""
    parts = [p for p in path.split("/") if p]
    for i in range(1, len(parts) + 1):
        real = _in_root("/" + "/".join(parts[:i]))
        if not os.path.lexists(real):
            os.mkdir(real, 0o755)
            os.chown(real, uid, gid)
        elif not os.path.isdir(real):
            raise Refused("badrequest",
                          f"cannot copy to {path}: /{'/'.join(parts[:i])} is not a directory")
    return _in_root(path)


def op_copy_in(req: dict, data: int, report) -> None:
    """The builder's ADD/COPY of one source to `dest`, as builder/copier.py describes:
    kind "dir" (a tar of the source directory, owned by root once copied), "archive"
    (a local tar that ADD unpacks, owners kept) or "file" (the file's bytes)."""
    kind, dest, name = req["kind"], req["dest"], req["name"]
    uid, gid = req.get("uid", 0), req.get("gid", 0)   # COPY --chown; root otherwise
    with os.fdopen(data, "rb", closefd=False) as stream:
        if kind in ("dir", "archive"):
            unpacker = _Unpacker(_mkdirs(dest, uid, gid), Whiteouts.NONE)
            try:
                unpacker.run(stream)
            except ArchiveError as exc:
                if kind == "dir":
                    raise
                raise Refused("badrequest", f"ADD {name}: cannot unpack the archive: {exc}") from None
            if kind == "dir":
                for real in unpacker.written:
                    os.chown(unpacker.abs(real), uid, gid, follow_symlinks=False)
            report({"ok": None})
            return
        target = _in_root(dest)
        if req["dest_is_dir"] or dest.endswith("/") or os.path.isdir(target):
            _mkdirs(dest, uid, gid)
            dest = dest.rstrip("/") + "/" + os.path.basename(name.rstrip("/"))
        else:
            _mkdirs(os.path.dirname(dest.rstrip("/")) or "/", uid, gid)
        target = _in_root(dest)
        if os.path.isdir(target) and not os.path.islink(target):
            raise Refused("badrequest", f"cannot copy {name} over the directory {dest}")
        if os.path.lexists(target):
            os.unlink(target)
        fd = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                     0o600)
        try:
            _stream(iter(lambda: stream.read(1 << 20), b""), fd)
            os.fchown(fd, uid, gid)
            os.fchmod(fd, req["mode"])   # after chown, which clears setuid/setgid
            os.utime(fd, ns=(req["atime_ns"], req["mtime_ns"]))
        finally:
            os.close(fd)
    report({"ok": None})


OPS = {"stat": op_stat, "pack": op_pack, "export": op_export, "unpack": op_unpack,
       "copy_in": op_copy_in}


def _stream(chunks, fd: int) -> None:
    for chunk in chunks:
        view = memoryview(chunk)
        while view:
            view = view[os.write(fd, view):]


# --- the child and the zygote ----------------------------------------------------------

def _child(req: dict, root_fd: int, data_fd: int, report_fd: int) -> None:
    def report(line: dict) -> None:
        os.write(report_fd, (json.dumps(line) + "\n").encode())

    try:
        keep = {root_fd, data_fd, report_fd}
        for fd in [int(n) for n in os.listdir("/proc/self/fd")]:   # before the chroot
            if fd > 2 and fd not in keep:
                try:
                    os.close(fd)
                except OSError:   # the listing's own descriptor
                    pass
        last_cap = capabilities.last_cap()   # /proc: before the chroot
        os.fchdir(root_fd)
        os.chroot(".")
        os.chdir("/")
        os.close(root_fd)
        _drop_privileges(last_cap)
        OPS[req["op"]](req, data_fd, report)
    except Refused as exc:
        report({"error": str(exc), "kind": exc.kind})
    except BrokenPipeError:   # the daemon stopped reading (client gone): nothing to say
        pass
    except ArchiveError as exc:
        report({"error": str(exc), "kind": "badrequest"})
    except (FileNotFoundError, NotADirectoryError) as exc:
        # Here always a path of the container that is not there (or went away meanwhile).
        report({"error": f"Could not find the file {exc.filename or ''}", "kind": "notfound"})
    except OSError as exc:
        # a name too long, or links looping: the path the client gave is at fault
        kind = "badrequest" if exc.errno in (errno.ENAMETOOLONG, errno.ELOOP) else "error"
        report({"error": f"{exc.strerror or exc}" + (f": {exc.filename}" if exc.filename else ""),
                "kind": kind})
    except Exception as exc:  # noqa: BLE001  (reported to the daemon, never lost)
        report({"error": f"{type(exc).__name__}: {exc}", "kind": "error"})


def _drop_privileges(last_cap: int) -> None:
    for cap in range(last_cap + 1):
        if not CHILD_CAPS >> cap & 1 and syscalls.prctl(syscalls.PR_CAPBSET_READ, cap) == 1:
            syscalls.prctl(syscalls.PR_CAPBSET_DROP, cap)
    syscalls.capset(CHILD_CAPS, CHILD_CAPS, 0)
    syscalls.prctl(PR_SET_NO_NEW_PRIVS, 1)


def main(argv: list[str]) -> None:
    control = socket.socket(fileno=int(argv[2]))
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)   # the kernel reaps the children
    while True:
        try:
            msg, fds, _, _ = socket.recv_fds(control, MAX_REQUEST, 3)
        except InterruptedError:
            continue
        if not msg:
            return   # the daemon closed its end
        if len(fds) != 3:
            for fd in fds:
                os.close(fd)
            continue
        pid = os.fork()
        if pid == 0:
            try:
                control.close()
                signal.signal(signal.SIGCHLD, signal.SIG_DFL)
                _child(json.loads(msg), *fds)
            finally:
                os._exit(0)
        for fd in fds:
            os.close(fd)


if __name__ == "__main__":
    main(sys.argv)
