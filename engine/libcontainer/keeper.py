"""The keeper: one small single-threaded process per exec root that outlives pyctrd.

It is what lets containers survive a daemon restart or crash (live restore):

- it forks the helper of every container start (so the container's init, orphaned
  when the helper exits, is reparented to the keeper, a child subreaper), and reaps
  the inits: their exit codes survive a dead daemon, kept here until a daemon has
  recorded them (`forget`);
- it holds a duplicate of the daemon's end of each container's stdio (the read ends
  of stdout/stderr, the write end of stdin, or the pty master): while no daemon
  reads, output stays in the pipe and a container that fills it blocks in write()
  (nothing is lost); a daemon that comes back gets the ends again (SCM_RIGHTS) and
  reads on from the first byte it had not read.

Protocol: SOCK_SEQPACKET on `<exec root>/keeper.sock`, one marshal'd dict per
message, fds alongside (SCM_RIGHTS). Requests get exactly one reply, in order;
`{"event": "exit", ...}` messages go to every connected daemon whenever an init is
reaped. The keeper exits once no daemon is connected and it holds no container.

Stdlib only, started as `python -I -S init.py keeper <exec root>`.
"""

from __future__ import annotations

import array
import marshal
import os
import select
import signal
import socket
import sys

MAX_FDS = 16
SOCKET_NAME = "keeper.sock"
CHILD_FDS = 5   # stdin, stdout, stderr, report, release of the helper


def start_time(pid: int) -> int | None:
    """Field 22 of /proc/<pid>/stat (also readable for a zombie)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return int(f.read().rsplit(")", 1)[1].split()[19])
    except (OSError, IndexError, ValueError):
        return None


def send(sock: socket.socket, message: dict, fds: list[int] = ()) -> None:
    data = marshal.dumps(message)
    ancillary = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))] if fds else []
    sock.sendmsg([data], ancillary)


def receive(sock: socket.socket) -> tuple[dict | None, list[int]]:
    """One message and the fds that came with it (close-on-exec); (None, []) at EOF."""
    data, ancillary, _, _ = sock.recvmsg(1 << 20, socket.CMSG_SPACE(MAX_FDS * 4), socket.MSG_CMSG_CLOEXEC)
    fds = array.array("i")
    for level, kind, payload in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds.frombytes(payload[:len(payload) - len(payload) % fds.itemsize])
    if not data:
        for fd in fds:
            os.close(fd)
        return None, []
    return marshal.loads(data), list(fds)


class Keeper:
    def __init__(self, listener: socket.socket, init_script: str) -> None:
        self.listener = listener
        self.init_script = init_script
        self.clients: dict[int, socket.socket] = {}
        self.held: dict[str, dict[str, int]] = {}   # container id -> name -> fd
        self.exits: dict[int, tuple[int | None, int]] = {}   # init pid -> (start time, exit code)
        self.helpers: set[int] = set()
        self.helper_code = _helper_code()
        self.wake_r, wake_w = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        signal.set_wakeup_fd(wake_w)
        signal.signal(signal.SIGCHLD, lambda *_: None)
        signal.signal(signal.SIGPIPE, signal.SIG_IGN)
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)   # only a daemon-less, container-less keeper ends
        self.poll = select.poll()
        self.poll.register(listener.fileno(), select.POLLIN)
        self.poll.register(self.wake_r, select.POLLIN)

    def serve(self) -> None:
        served = False   # until a daemon connected, wait for the one that started us
        while True:
            self._reap()
            timeout = None
            if not self.clients and not self.held and not self.exits:
                if served:
                    return
                timeout = 10_000
            events = self.poll.poll(timeout)
            if not events and timeout is not None:
                return
            for fd, _ in events:
                if fd == self.wake_r:
                    try:
                        while os.read(self.wake_r, 512):
                            pass
                    except BlockingIOError:
                        pass
                elif fd == self.listener.fileno():
                    conn, _ = self.listener.accept()
                    served = True
                    conn.set_inheritable(False)
                    self.clients[conn.fileno()] = conn
                    self.poll.register(conn.fileno(), select.POLLIN)
                else:
                    self._serve_one(self.clients[fd])

    def _serve_one(self, conn: socket.socket) -> None:
        try:
            message, fds = receive(conn)
        except OSError:
            message, fds = None, []
        if message is None:
            self.poll.unregister(conn.fileno())
            del self.clients[conn.fileno()]
            conn.close()
            return
        try:
            reply, out_fds = self._handle(message, fds)
        except Exception as e:  # noqa: BLE001 - the daemon gets the reason
            reply, out_fds = {"error": f"keeper: {e}"}, []
        try:
            send(conn, reply, out_fds)
        except OSError:
            pass
        finally:
            for fd in out_fds:
                os.close(fd)

    def _handle(self, message: dict, fds: list[int]) -> tuple[dict, list[int]]:
        op, cid = message.get("op"), message.get("id", "")
        if op == "spawn":
            try:
                return {"pid": self._spawn(message["argv"], fds[:CHILD_FDS])}, []
            finally:
                held = dict(zip(message.get("names", []), fds[CHILD_FDS:]))
                for fd in fds[:CHILD_FDS]:
                    os.close(fd)
                for name, fd in self.held.pop(cid, {}).items():
                    os.close(fd)
                self.held[cid] = held
        for fd in fds:
            os.close(fd)
        if op == "fds":
            held = self.held.get(cid, {})
            return {"names": list(held)}, [os.dup(fd) for fd in held.values()]
        if op == "drop":
            fd = self.held.get(cid, {}).pop(message["name"], None)
            if fd is not None:
                os.close(fd)
            return {"ok": True}, []
        if op == "forget":
            for fd in self.held.pop(cid, {}).values():
                os.close(fd)
            pid = message.get("pid") or 0
            self.exits.pop(pid, None)
            return {"ok": True}, []
        if op == "exits":
            return {"exits": [[pid, st, code] for pid, (st, code) in self.exits.items()],
                    "held": list(self.held), "pid": os.getpid()}, []
        return {"error": f"keeper: unknown request {op!r}"}, []

    def _spawn(self, argv: list[str], child_fds: list[int]) -> int:
        if len(child_fds) != CHILD_FDS:
            raise ValueError(f"spawn needs {CHILD_FDS} fds, got {len(child_fds)}")
        in_process = self._helper_code_current()
        pid = os.fork()
        if pid == 0:
            try:
                os.setsid()
                # The helper's fds 0-4: stdio, report, release; everything else the keeper
                # holds is close-on-exec.
                moved = [os.dup(fd) for fd in child_fds]   # above 4, so dup2 cannot clobber
                for target, fd in enumerate(moved):
                    os.dup2(fd, target)
                    os.close(fd)
                signal.set_wakeup_fd(-1)
                for sig in (signal.SIGCHLD, signal.SIGPIPE, signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                    signal.signal(sig, signal.SIG_DFL)
                if in_process:
                    # The helper's code is loaded here already: run it in this fork, without
                    # the tens of ms a new interpreter and its imports take. Nothing of the
                    # keeper (its sockets, other containers' stdio) may reach the container.
                    os.closerange(CHILD_FDS, os.sysconf("SC_OPEN_MAX"))
                    from .helper import main as helper_main
                    helper_main([self.init_script, *argv])   # it exits
                os.execv(sys.executable, [sys.executable, "-I", "-S", self.init_script, *argv])
            finally:
                os._exit(127)
        self.helpers.add(pid)
        return pid

    def _helper_code_current(self) -> bool:
        """Whether the helper's code on disk is the code this keeper loaded (an upgrade of
        pyctr under a running keeper: then the new code runs, in a new interpreter)."""
        return bool(self.helper_code) and _helper_code() == self.helper_code

    def _reap(self) -> None:
        while True:
            try:
                info = os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
            except ChildProcessError:
                return
            if info is None or info.si_pid == 0:
                return
            pid = info.si_pid
            started = start_time(pid)   # still a zombie: tells this pid from a later one
            try:
                _, status = os.waitpid(pid, 0)
            except ChildProcessError:
                continue
            if pid in self.helpers:
                self.helpers.discard(pid)
                continue
            code = os.waitstatus_to_exitcode(status)
            code = 128 - code if code < 0 else code
            self.exits[pid] = (started, code)
            for conn in list(self.clients.values()):
                try:
                    send(conn, {"event": "exit", "pid": pid, "start": started, "code": code})
                except OSError:
                    pass


def _helper_code() -> dict[str, int]:
    """The helper's code (loaded here, for spawns in a fork): each source file of this
    package (the cgroups one too) -> its mtime."""
    from . import helper  # noqa: F401 - loads what a container start runs
    package = os.path.dirname(os.path.abspath(__file__))
    out = {}
    try:
        for folder in (package, os.path.join(package, "cgroups")):
            for entry in os.scandir(folder):
                if entry.name.endswith(".py"):
                    out[entry.path] = entry.stat().st_mtime_ns
    except OSError:
        return {}
    return out


def main(argv: list[str]) -> None:
    exec_root, init_script = argv[2], argv[3]
    path = os.path.join(exec_root, SOCKET_NAME)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET | socket.SOCK_CLOEXEC)
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    listener.bind(path)
    os.chmod(path, 0o600)
    listener.listen(16)
    # Detach: the daemon that started us waits for this first process to exit, which
    # says the socket listens; the keeper itself must not be the daemon's child.
    if os.fork() != 0:
        os._exit(0)
    os.setsid()
    from . import syscalls
    syscalls.prctl(syscalls.PR_SET_CHILD_SUBREAPER, 1)
    with open(os.path.join(exec_root, "keeper.pid"), "w") as f:
        f.write(f"{os.getpid()}\n")
    Keeper(listener, init_script).serve()
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    try:
        os.unlink(os.path.join(exec_root, "keeper.pid"))
    except FileNotFoundError:
        pass
