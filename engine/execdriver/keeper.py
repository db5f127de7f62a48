"""The daemon's side of the keeper (libcontainer/keeper.py): start it if it is not
running, and talk to it on the event loop (requests one at a time, exit events as
they come)."""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import subprocess
import sys
from dataclasses import dataclass

from ..libcontainer.keeper import SOCKET_NAME, receive, send
from .driver import ExecError

log = logging.getLogger(__name__)


@dataclass
class Exit:
    pid: int
    start_time: int | None
    code: int


class KeeperClient:
    def __init__(self, exec_root: str, init_script: str) -> None:
        self.exec_root = exec_root
        self.init_script = init_script
        self.path = os.path.join(exec_root, SOCKET_NAME)
        self.sock: socket.socket | None = None
        self.pid = 0
        self._lock = asyncio.Lock()
        self._reply: asyncio.Future | None = None
        self._exits: dict[int, Exit] = {}
        self._exited: dict[int, asyncio.Event] = {}

    # --- connection ---------------------------------------------------------------
    async def open(self) -> list[str]:
        """Connect (starting a keeper first when none listens); the ids it holds."""
        for attempt in range(3):   # a keeper that was just leaving (idle) answers nothing
            try:
                return await self._open()
            except ExecError:
                self.close()
                if attempt == 2:
                    raise
        return []

    async def _open(self) -> list[str]:
        try:
            self.sock = self._connect()
        except (FileNotFoundError, ConnectionRefusedError):
            keeper_log = open(os.path.join(self.exec_root, "keeper.log"), "ab")
            try:
                proc = await asyncio.create_subprocess_exec(
                    sys.executable, "-I", "-S", self.init_script, "keeper", self.exec_root, self.init_script,
                    stdin=subprocess.DEVNULL, stdout=keeper_log, stderr=keeper_log, start_new_session=True)
            finally:
                keeper_log.close()
            if await proc.wait() != 0:   # the first process exits once the socket listens
                raise ExecError(f"the keeper did not start (exit {proc.returncode}), see "
                                f"{self.exec_root}/keeper.log")
            self.sock = self._connect()
        self.sock.setblocking(False)
        asyncio.get_running_loop().add_reader(self.sock.fileno(), self._readable)
        reply, _ = await self.request({"op": "exits"})
        self.pid = reply["pid"]
        for pid, started, code in reply["exits"]:
            self._record(Exit(pid, started, code))
        return reply["held"]

    def _connect(self) -> socket.socket:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET | socket.SOCK_CLOEXEC)
        try:
            sock.connect(self.path)
        except OSError:
            sock.close()
            raise
        return sock

    def close(self) -> None:
        if self.sock is not None:
            try:
                asyncio.get_running_loop().remove_reader(self.sock.fileno())
            except (RuntimeError, ValueError):
                pass
            self.sock.close()
            self.sock = None

    def _readable(self) -> None:
        try:
            message, fds = receive(self.sock)
        except BlockingIOError:
            return
        except OSError as exc:
            message, fds = None, []
            log.error("keeper connection: %s", exc)
        if message is None:
            log.error("the keeper went away: containers started from now on cannot be waited for")
            asyncio.get_running_loop().remove_reader(self.sock.fileno())
            if self.pid > 0:   # reparented to us (the daemon is a subreaper): no zombie left
                try:
                    os.waitpid(self.pid, os.WNOHANG)
                except (ChildProcessError, OSError):
                    pass
            if self._reply is not None and not self._reply.done():
                self._reply.set_exception(ExecError("the keeper went away"))
            return
        if message.get("event") == "exit":
            self._record(Exit(message["pid"], message["start"], message["code"]))
            return
        if self._reply is not None and not self._reply.done():
            self._reply.set_result((message, fds))
        else:
            for fd in fds:
                os.close(fd)

    def _record(self, exit: Exit) -> None:
        self._exits[exit.pid] = exit
        self._exited.setdefault(exit.pid, asyncio.Event()).set()

    async def request(self, message: dict, fds: list[int] = ()) -> tuple[dict, list[int]]:
        if self.sock is None:
            raise ExecError("not connected to the keeper")
        async with self._lock:
            self._reply = asyncio.get_running_loop().create_future()
            while True:
                try:
                    send(self.sock, message, list(fds))
                    break
                except BlockingIOError:
                    await asyncio.sleep(0.001)
            reply, out = await self._reply
            self._reply = None
        if "error" in reply:
            for fd in out:
                os.close(fd)
            raise ExecError(reply["error"])
        return reply, out

    # --- what the driver asks -----------------------------------------------------
    async def spawn(self, container_id: str, argv: list[str], child_fds: list[int],
                    held: dict[str, int]) -> int:
        reply, _ = await self.request({"op": "spawn", "id": container_id, "argv": argv,
                                       "names": list(held)}, child_fds + list(held.values()))
        return reply["pid"]

    async def fds(self, container_id: str) -> dict[str, int]:
        reply, fds = await self.request({"op": "fds", "id": container_id})
        return dict(zip(reply["names"], fds))

    async def drop(self, container_id: str, name: str) -> None:
        await self.request({"op": "drop", "id": container_id, "name": name})

    async def forget(self, container_id: str, pid: int = 0) -> None:
        await self.request({"op": "forget", "id": container_id, "pid": pid})
        self._exits.pop(pid, None)
        self._exited.pop(pid, None)

    def exit_of(self, pid: int, start_time: int | None) -> Exit | None:
        """The recorded exit of init `pid` (None while it runs, or if it is not ours)."""
        exit = self._exits.get(pid)
        if exit is None or (start_time and exit.start_time and exit.start_time != start_time):
            return None
        return exit

    async def wait(self, pid: int, start_time: int | None) -> Exit:
        while True:
            exit = self.exit_of(pid, start_time)
            if exit is not None:
                return exit
            event = self._exited.setdefault(pid, asyncio.Event())
            await event.wait()
            event.clear()
