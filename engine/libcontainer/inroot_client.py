"""The engine's side of the confined-filesystem helper (inroot.py): every read or write
the daemon or the builder makes inside a container's filesystem goes through it,
chrooted there, so a container that swaps directories for symlinks cannot lead the
daemon out of its root.

The helper is started once, on first use, and forks one child per request. Calls here
block (pipes to the child): the jobs run them in worker threads, as the tar code before.
A root is passed as an open directory descriptor: the daemon opens only paths it owns
(a layer's mount point, a volume's directory), never one inside a container.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import threading
from typing import BinaryIO, Iterable, Iterator

from ..errors import BadRequest, NotFound

HELPER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "init.py")
PIPE_CHUNK = 1 << 16


class InRootError(OSError):
    """The helper failed for a reason that is not the request's fault."""


def _raise_for(line: dict) -> None:
    kind, message = line.get("kind"), line.get("error", "")
    if kind == "notfound":
        raise NotFound(message)
    if kind == "badrequest":
        raise BadRequest(message)
    raise InRootError(message)


def open_root(path: str) -> int:
    """A directory descriptor of a root the daemon owns (never a path inside a container)."""
    return os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)


class _Request:
    """One request to the helper: the daemon's end of its data pipe and its report pipe."""

    def __init__(self, helper: "InRoot", root_fd: int, request: dict, helper_reads: bool) -> None:
        data_r, data_w = os.pipe2(os.O_CLOEXEC)
        report_r, report_w = os.pipe2(os.O_CLOEXEC)
        theirs = data_r if helper_reads else data_w
        self.data = data_w if helper_reads else data_r
        self.report = os.fdopen(report_r, "rb")
        try:
            helper.send(json.dumps(request).encode(), [root_fd, theirs, report_w])
        except BaseException:
            self.close()
            raise
        finally:
            os.close(theirs)
            os.close(report_w)

    def result(self):
        """The next report line's result; raises what the helper reported."""
        raw = self.report.readline()
        if not raw:
            raise InRootError("the confined-filesystem helper ended without an answer")
        line = json.loads(raw)
        if "error" in line:
            _raise_for(line)
        return line.get("ok")

    def close_data(self) -> None:
        if self.data >= 0:
            os.close(self.data)
            self.data = -1

    def close(self) -> None:
        self.close_data()
        self.report.close()

    def chunks(self) -> Iterator[bytes]:
        """The tar the helper writes, then its final word (raises if it failed half-way)."""
        try:
            while True:
                chunk = os.read(self.data, 1 << 20)
                if not chunk:
                    break
                yield chunk
            self.close_data()
            self.result()
        finally:
            self.close()

    def feed(self, chunks: Iterable[bytes]) -> None:
        """Write the data the helper reads; it may stop reading early (an error it reports)."""
        try:
            for chunk in chunks:
                view = memoryview(chunk)
                while view:
                    view = view[os.write(self.data, view):]
        except BrokenPipeError:
            pass
        finally:
            self.close_data()


def _file_chunks(body: BinaryIO) -> Iterator[bytes]:
    return iter(lambda: body.read(PIPE_CHUNK), b"")


class InRoot:
    """The helper process: one per daemon, started on first use, restarted if it died."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._proc: subprocess.Popen | None = None
        self._sock: socket.socket | None = None

    def _start(self) -> None:
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        try:
            # Popen execs at once (no Python runs in the forked child): safe from threads.
            self._proc = subprocess.Popen(
                [sys.executable, "-I", "-S", HELPER, "inroot", str(theirs.fileno())],
                pass_fds=[theirs.fileno()], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        self._sock = ours

    def send(self, message: bytes, fds: list[int]) -> None:
        with self._lock:
            for attempt in (1, 2):
                if self._proc is None or self._proc.poll() is not None:
                    self._stop()
                    self._start()
                try:
                    socket.send_fds(self._sock, [message], fds)
                    return
                except (BrokenPipeError, ConnectionResetError):
                    if attempt == 2:
                        raise InRootError("the confined-filesystem helper is not running") from None
                    self._stop()

    def _stop(self) -> None:
        if self._sock is not None:
            self._sock.close()   # the helper exits when it reads the end of its socket
            self._sock = None
        if self._proc is not None:
            try:
                self._proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
            self._proc = None

    def close(self) -> None:
        with self._lock:
            self._stop()

    # -- the operations (blocking) ---------------------------------------------------------

    def stat(self, root_fd: int, path: str, follow_last: bool) -> dict:
        """lstat of `path` (its last component followed only if asked), as a dict:
        mode, size, mtime_ns, link_target (the link's resolved path in the root)."""
        req = _Request(self, root_fd, {"op": "stat", "path": path, "follow_last": follow_last}, False)
        try:
            req.close_data()
            return req.result()
        finally:
            req.close()

    def pack(self, root_fd: int, path: str, follow_last: bool, name: str | None
             ) -> tuple[dict, Iterator[bytes]]:
        """The stat of `path` and an iterator of its tar (top entry `name`, or the base
        name of the resolved path when None). NotFound before any byte."""
        req = _Request(self, root_fd, {"op": "pack", "path": path, "follow_last": follow_last,
                                       "name": name}, False)
        try:
            info = req.result()
        except BaseException:
            req.close()
            raise
        return info, req.chunks()

    def export(self, root_fd: int) -> Iterator[bytes]:
        """The tar of the whole root."""
        req = _Request(self, root_fd, {"op": "export"}, False)
        try:
            req.result()
        except BaseException:
            req.close()
            raise
        return req.chunks()

    def unpack(self, root_fd: int, path: str, body: BinaryIO) -> None:
        """Untar `body` into directory `path` (followed to its end) of the root."""
        self._feed(root_fd, {"op": "unpack", "path": path}, _file_chunks(body))

    def copy_tree(self, src_root_fd: int, src_path: str, dst_root_fd: int) -> None:
        """Directory `src_path` of one root (followed to its end), its content, owners and
        modes and its own, onto the top of another root: each side in its own chroot."""
        _, chunks = self.pack(src_root_fd, src_path, True, ".")
        try:
            self._feed(dst_root_fd, {"op": "unpack", "path": "/"}, chunks)
        finally:
            close = getattr(chunks, "close", None)
            if close is not None:
                close()

    def copy_in(self, root_fd: int, request: dict, chunks: Iterable[bytes]) -> None:
        """The builder's ADD/COPY of one source (see libcontainer/inroot.py op_copy_in)."""
        self._feed(root_fd, {"op": "copy_in", **request}, chunks)

    def _feed(self, root_fd: int, request: dict, chunks: Iterable[bytes]) -> None:
        req = _Request(self, root_fd, request, True)
        try:
            req.feed(chunks)
            req.result()
        finally:
            req.close()
