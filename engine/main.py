"""pyctrd: parse flags, open the daemon, serve the API until SIGTERM/SIGINT."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import socket
import sys

from aiohttp import web

from .daemon.config import DEFAULT_SOCKET, DaemonConfig
from .daemon.daemon import Daemon, DaemonLocked
from .daemon.handlers import install
from .jobs import Engine
from .server.app import build_app

log = logging.getLogger("pyctr.main")


def parse_args(argv: list[str] | None) -> DaemonConfig:
    p = argparse.ArgumentParser(prog="pyctrd", description="The pyctr engine daemon (Docker 1.2 API).")
    p.add_argument("-H", "--host", action="append", dest="hosts", metavar="HOST",
                   help=f"unix://PATH, tcp://HOST:PORT or fd://[N] to listen on (repeatable; "
                        f"default {DEFAULT_SOCKET})")
    p.add_argument("-g", "--data-root", "--graph", default="/var/lib/pyctr",
                   help="root of the images, containers and volumes (default %(default)s)")
    p.add_argument("--exec-root", default="/var/run/pyctr",
                   help="root of the execution state (default %(default)s)")
    p.add_argument("-s", "--storage-driver", default=None, help="overlay or vfs (default: overlay where supported)")
    p.add_argument("-e", "--exec-driver", default="native", help="exec driver (default %(default)s)")
    p.add_argument("-p", "--pidfile", default="", help="pid file (default <data-root>/pyctrd.pid)")
    p.add_argument("--cgroup-parent", default="", help="parent cgroup of containers (default: pyctrd's own)")
    p.add_argument("--dns", action="append", default=[], help="default DNS server for containers")
    p.add_argument("--dns-search", action="append", default=[], help="default DNS search domain")
    p.add_argument("--shutdown-timeout", type=float, default=10,
                   help="seconds to wait for each container to stop on shutdown (default %(default)s)")
    p.add_argument("-l", "--log-level", default="info", choices=["debug", "info", "warning", "error"])
    p.add_argument("-D", "--debug", action="store_true", help="same as --log-level debug")
    p.add_argument("-v", "--version", action="store_true", help="print the version and exit")
    ns = p.parse_args(argv)
    if ns.version:
        from . import __version__
        print(f"pyctrd version {__version__}")
        sys.exit(0)
    for host in ns.hosts or []:
        if not host.startswith(("unix://", "tcp://", "fd://")):
            p.error(f"invalid -H {host!r}: use unix://PATH, tcp://HOST:PORT or fd://")
    return DaemonConfig(
        hosts=ns.hosts or [DEFAULT_SOCKET], data_root=os.path.abspath(ns.data_root),
        exec_root=os.path.abspath(ns.exec_root), storage_driver=ns.storage_driver,
        exec_driver=ns.exec_driver, cgroup_parent=ns.cgroup_parent,
        log_level="debug" if ns.debug else ns.log_level, pidfile=ns.pidfile,
        dns=ns.dns, dns_search=ns.dns_search, shutdown_timeout=ns.shutdown_timeout)


def _unix_socket(path: str) -> socket.socket:
    """Bind `path`, refusing one another live daemon still listens on."""
    if os.path.exists(path):
        probe = socket.socket(socket.AF_UNIX)
        try:
            probe.connect(path)
            raise SystemExit(f"pyctrd: {path} is in use by another running daemon")
        except (ConnectionRefusedError, FileNotFoundError):
            os.unlink(path)  # stale, from a daemon that died
        finally:
            probe.close()
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(path)
    os.chmod(path, 0o660)
    return sock


def _sockets(host: str) -> list[socket.socket]:
    scheme, _, rest = host.partition("://")
    if scheme == "unix":
        return [_unix_socket(rest or "/var/run/pyctr.sock")]
    if scheme == "tcp":
        address, _, port = rest.rpartition(":")
        address = address.strip("[]") or "127.0.0.1"
        if not port.isdigit():
            raise SystemExit(f"pyctrd: invalid tcp address {host!r} (tcp://HOST:PORT)")
        if not address.startswith("127.") and address not in ("localhost", "::1"):
            log.warning("listening on %s without TLS: anyone who can reach it is root on this host", host)
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        sock = socket.socket(family)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((address, int(port)))
        return [sock]
    # fd:// (all sockets systemd passed) or fd://N
    count = int(os.environ.get("LISTEN_FDS", "0"))
    fds = list(range(3, 3 + count))
    if rest:
        if not rest.isdigit() or int(rest) not in fds:
            raise SystemExit(f"pyctrd: fd {rest} was not passed by the service manager (LISTEN_FDS={count})")
        fds = [int(rest)]
    if not fds:
        raise SystemExit("pyctrd: fd:// given but no sockets were passed (LISTEN_FDS is unset)")
    return [socket.socket(fileno=fd) for fd in fds]


async def serve(config: DaemonConfig) -> None:
    listeners = [sock for host in config.hosts for sock in _sockets(host)]
    try:
        daemon = await Daemon.open(config)
    except DaemonLocked as exc:
        raise SystemExit(f"pyctrd: {exc}") from None
    engine = Engine()
    install(engine, daemon)
    access_log = logging.getLogger("pyctr.access") if config.log_level == "debug" else None
    runner = web.AppRunner(build_app(engine), handle_signals=False, access_log=access_log,
                           shutdown_timeout=2)
    await runner.setup()
    for sock in listeners:
        site = web.SockSite(runner, sock)
        await site.start()
    log.info("pyctrd serving the API on %s (data root %s, storage %s)",
             ", ".join(config.hosts), config.data_root, daemon.graph.driver.name)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("shutting down")
    await runner.cleanup()
    await daemon.shutdown(config.shutdown_timeout)
    for host in config.hosts:
        if host.startswith("unix://"):
            try:
                os.unlink(host[len("unix://"):])
            except FileNotFoundError:
                pass


def main(argv: list[str] | None = None) -> None:
    config = parse_args(argv)
    logging.basicConfig(level=config.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    asyncio.run(serve(config))


if __name__ == "__main__":
    main()
