"""Where the API is served: unix sockets (mode 0660, group from `-G`), tcp (with
TLS, or plainly on loopback), and sockets passed by a service manager (fd://).

Whoever can talk to the daemon is root on the host, so a tcp listener that is
not loopback refuses to start without TLS unless explicitly allowed.

Ready means ready: a unix socket is bound under a staging name next to its path
and renamed into place by `publish` only once the API is served on it, so a
client that waits for the socket file can call the daemon at once. `notify_ready`
tells a service manager the same (sd_notify READY=1) for fd:// sockets."""

from __future__ import annotations

import contextlib
import grp
import logging
import os
import socket
import ssl
from dataclasses import dataclass

from .tls import ServerTLS

log = logging.getLogger("pyctr.server")
DEFAULT_GROUP = "pyctr"


class ListenError(Exception):
    """A listener could not be opened; the message says why."""


@dataclass(frozen=True)
class ListenOptions:
    tls: ServerTLS | None = None        # for tcp listeners
    group: str | None = None            # None: "pyctr" when it exists, else root only
    allow_insecure_tcp: bool = False


@dataclass
class Listener:
    address: str
    sock: socket.socket
    ssl_context: ssl.SSLContext | None = None
    staging_path: str = ""   # a unix socket bound here, renamed to final_path when serving
    final_path: str = ""

    def publish(self) -> None:
        """The API answers on this socket now: give it its real name."""
        if self.staging_path:
            os.rename(self.staging_path, self.final_path)
            self.staging_path = ""

    def discard(self) -> None:
        """Close, and remove a socket file that was never published."""
        self.sock.close()
        if self.staging_path:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(self.staging_path)
            self.staging_path = ""


def open_listeners(hosts: list[str], options: ListenOptions) -> list[Listener]:
    context = options.tls.context() if options.tls else None
    out: list[Listener] = []
    try:
        for host in hosts:
            out += _open(host, options, context)
    except BaseException:
        for listener in out:
            listener.discard()
        raise
    return out


def notify_ready(status: str = "") -> None:
    """sd_notify(READY=1) when a service manager asked for it (NOTIFY_SOCKET)."""
    target = os.environ.get("NOTIFY_SOCKET", "")
    if not target:
        return
    if target.startswith("@"):
        target = "\0" + target[1:]   # an abstract socket
    message = f"READY=1\nMAINPID={os.getpid()}" + (f"\nSTATUS={status}" if status else "")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
        try:
            sock.sendto(message.encode(), target)
        except OSError as exc:
            log.warning("could not tell the service manager that pyctrd is ready: %s", exc)


def _open(host: str, options: ListenOptions, context: ssl.SSLContext | None) -> list[Listener]:
    scheme, _, rest = host.partition("://")
    if scheme == "unix":
        path = rest or "/var/run/pyctr.sock"
        sock, staging = _unix_socket(path, options.group)
        return [Listener(host, sock, staging_path=staging, final_path=path)]
    if scheme == "tcp":
        return [Listener(host, _tcp_socket(host, rest, context is not None, options), context)]
    if scheme == "fd":
        return [Listener(f"fd://{sock.fileno()}", sock) for sock in _passed_sockets(rest)]
    raise ListenError(f"invalid -H {host!r}: use unix://PATH, tcp://HOST:PORT or fd://")


def _socket_gid(group: str | None) -> int:
    try:
        return grp.getgrnam(group or DEFAULT_GROUP).gr_gid
    except KeyError:
        if group:
            raise ListenError(f"group {group!r} (-G) does not exist") from None
        return 0  # no "pyctr" group: root only


def _staging_path(path: str) -> str:
    """Where to bind before the socket is published ("" if the name would be too long
    for sun_path: then `path` itself is bound, as before)."""
    staging = f"{path}.{os.getpid()}.tmp"
    return staging if len(os.fsencode(staging)) < 108 else ""


def _unix_socket(path: str, group: str | None) -> tuple[socket.socket, str]:
    """Bind a staging name for `path` (see the module's docstring), refusing a path
    another live daemon still listens on. Returns the socket and the staging name."""
    gid = _socket_gid(group)
    if os.path.exists(path):
        probe = socket.socket(socket.AF_UNIX)
        try:
            probe.connect(path)
            raise ListenError(f"{path} is in use by another running daemon")
        except (ConnectionRefusedError, FileNotFoundError):
            os.unlink(path)  # stale, from a daemon that died
        finally:
            probe.close()
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    staging = _staging_path(path)
    bound = staging or path
    with contextlib.suppress(FileNotFoundError):
        os.unlink(staging)   # a dead daemon's with our pid: pids are reused
    sock = socket.socket(socket.AF_UNIX)
    try:
        sock.bind(bound)
        os.chown(bound, 0, gid)
        os.chmod(bound, 0o660)
    except BaseException:
        sock.close()
        raise
    return sock, staging


def _is_loopback(address: str) -> bool:
    return address.startswith("127.") or address in ("localhost", "::1")


def _tcp_socket(host: str, rest: str, tls: bool, options: ListenOptions) -> socket.socket:
    address, _, port = rest.rpartition(":")
    address = address.strip("[]") or "127.0.0.1"
    if not port.isdigit() or not 0 < int(port) < 65536:
        raise ListenError(f"invalid tcp address {host!r} (tcp://HOST:PORT)")
    if not tls:
        if not _is_loopback(address) and not options.allow_insecure_tcp:
            raise ListenError(
                f"refusing to serve {host} without TLS: anyone who can reach it is root on this host. "
                "Use --tlsverify with certificates, or --allow-insecure-tcp if you really mean it")
        log.warning("listening on %s without TLS: anyone who can reach it is root on this host", host)
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sock = socket.socket(family)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((address, int(port)))
    except OSError as exc:
        sock.close()
        raise ListenError(f"cannot listen on {host}: {exc.strerror}") from None
    return sock


def _passed_sockets(rest: str) -> list[socket.socket]:
    """fd:// (every socket systemd passed) or fd://N."""
    if os.environ.get("LISTEN_PID") not in (None, str(os.getpid())):
        raise ListenError("fd:// given but the passed sockets are for another process (LISTEN_PID)")
    count = int(os.environ.get("LISTEN_FDS", "0") or 0)
    fds = list(range(3, 3 + count))
    if rest:
        if not rest.isdigit() or int(rest) not in fds:
            raise ListenError(f"fd {rest} was not passed by the service manager (LISTEN_FDS={count})")
        fds = [int(rest)]
    if not fds:
        raise ListenError("fd:// given but no sockets were passed (LISTEN_FDS is unset)")
    return [socket.socket(fileno=fd) for fd in fds]
