"""pyctrd: parse flags, open the daemon, serve the API until SIGTERM/SIGINT.

Start-up is ordered for a quick first answer: the checks that can refuse a start
(preflight.py) run first, then the socket is published and answers `/_ping` (early.py)
while aiohttp and the app are imported in a thread; the app then takes every
connection over, and the daemon's modules are imported (in a thread again) and the
daemon opens (graph, bridge, sweep, restored containers); jobs that come meanwhile
wait for that (jobs.py). So this module imports neither aiohttp nor the daemon;
tests/server/test_startup_imports.py keeps it so."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import logging
import os
import signal
import sys
from typing import TYPE_CHECKING

from . import barepackage
from .daemon.config import DEFAULT_SOCKET, DaemonConfig
from .daemon.preflight import BadFlags, DaemonLocked, check_network_flags, lock_pidfile
from .jobs import Engine
from .server.early import EarlyServer
from .server.limits import (DEFAULT_BODY_TIMEOUT, DEFAULT_HEADER_TIMEOUT, DEFAULT_IDLE_TIMEOUT,
                            ConnectionLimits, loop_exception_handler)
from .server.listeners import Listener, ListenError, ListenOptions, notify_ready, open_listeners
from .server.tls import ServerTLS
from .tracing import span

if TYPE_CHECKING:
    from aiohttp import web

log = logging.getLogger("pyctr.main")


def parse_args(argv: list[str] | None) -> tuple[DaemonConfig, ListenOptions]:
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
    p.add_argument("--live-restore", type=_boolean, nargs="?", const=True, default=True, metavar="BOOL",
                   help="containers keep running while pyctrd is stopped or dead, and are adopted "
                        "when it comes back; false: a SIGTERM stops them and a restart kills what "
                        "a crash left, as Docker 1.2 (default true)")
    p.add_argument("--insecure-registry", action="append", default=[], metavar="HOST[:PORT]|CIDR",
                   help="registry that may be plain HTTP or have a bad certificate (loopback always may)")
    p.add_argument("--registry-mirror", action="append", default=[], metavar="URL",
                   help="registry mirror tried before Docker Hub for pulls")
    p.add_argument("--default-registry", choices=["docker.io", "none"], default="docker.io",
                   help="where unqualified image names (busybox) are pulled from; 'none': nowhere, "
                        "a missing one fails at once without any network traffic (default %(default)s)")
    net = p.add_argument_group("networking")
    net.add_argument("-b", "--bridge", default="",
                     help="bridge for containers, made if missing; 'none': no container networking "
                          "(default: the first of pyctr0..pyctr9 no other pyctrd uses)")
    net.add_argument("--bip", default="", metavar="CIDR",
                     help="the bridge's address and subnet, e.g. 10.31.42.1/16 (default: a free /16)")
    net.add_argument("--fixed-cidr", default="", metavar="CIDR",
                     help="give containers addresses from this part of the bridge's subnet")
    net.add_argument("--mtu", type=int, default=1500, help="MTU of the bridge and veths (default %(default)s)")
    net.add_argument("--default-address-pool", action="append", default=[], type=_address_pool,
                     metavar="base=CIDR,size=N",
                     help="where user-defined networks without --subnet take their subnet from "
                          "(repeatable; default: Docker's pools without 172.17.0.0/16)")
    for flag, what in (("--ip-forward", "enable net.ipv4.ip_forward"),
                       ("--iptables", "add pyctr's iptables rules"),
                       ("--icc", "let containers on the bridge talk to each other"),
                       ("--ip-masq", "masquerade the bridge's subnet"),
                       ("--userland-proxy", "proxy 127.0.0.1 to published ports (false: DNAT)")):
        net.add_argument(flag, type=_boolean, nargs="?", const=True, default=True, metavar="BOOL",
                         help=f"{what} (default true)")
    sec = p.add_argument_group("security")
    sec.add_argument("--tls", action="store_true", help="serve tcp:// listeners over TLS")
    sec.add_argument("--tlsverify", action="store_true",
                     help="TLS, and require client certificates signed by --tlscacert")
    sec.add_argument("--tlscacert", default=ServerTLS.ca, help="trust client certificates signed by this CA (default %(default)s)")
    sec.add_argument("--tlscert", default=ServerTLS.cert, help="the server's certificate (default %(default)s)")
    sec.add_argument("--tlskey", default=ServerTLS.key, help="the server's key (default %(default)s)")
    sec.add_argument("-G", "--group", default=None,
                     help="group owning the unix socket (default: 'pyctr' when it exists, else root only)")
    sec.add_argument("--allow-insecure-tcp", action="store_true",
                     help="allow a non-loopback tcp:// listener without TLS (whoever reaches it is root here)")
    conn = p.add_argument_group("connections")
    conn.add_argument("--header-timeout", type=float, default=DEFAULT_HEADER_TIMEOUT, metavar="SECONDS",
                      help="close a connection that sends no complete request head in this time "
                           "(dockerd's ReadHeaderTimeout; default %(default)s; 0: never)")
    conn.add_argument("--idle-timeout", type=float, default=DEFAULT_IDLE_TIMEOUT, metavar="SECONDS",
                      help="close a connection idle this long between requests (default %(default)s, "
                           "above the docker CLI's 90 s; 0: never)")
    conn.add_argument("--body-timeout", type=float, default=DEFAULT_BODY_TIMEOUT, metavar="SECONDS",
                      help="answer 408 when a request's body stops arriving for this long "
                           "(default %(default)s; 0: never)")
    conn.add_argument("--max-connections", type=int, default=0, metavar="N",
                      help="answer 503 to connections beyond N open ones (default 0: three quarters "
                           "of the descriptor limit)")
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
    tls = None
    if ns.tls or ns.tlsverify:
        tls = ServerTLS(verify=ns.tlsverify, ca=ns.tlscacert, cert=ns.tlscert, key=ns.tlskey)
    listen = ListenOptions(tls=tls, group=ns.group, allow_insecure_tcp=ns.allow_insecure_tcp)
    if min(ns.header_timeout, ns.idle_timeout, ns.body_timeout, ns.max_connections) < 0:
        p.error("--header-timeout, --idle-timeout, --body-timeout and --max-connections cannot be negative")
    config = DaemonConfig(
        hosts=ns.hosts or [DEFAULT_SOCKET], data_root=os.path.abspath(ns.data_root),
        exec_root=os.path.abspath(ns.exec_root), storage_driver=ns.storage_driver,
        exec_driver=ns.exec_driver, cgroup_parent=ns.cgroup_parent,
        log_level="debug" if ns.debug else ns.log_level, pidfile=ns.pidfile,
        dns=ns.dns, dns_search=ns.dns_search, shutdown_timeout=ns.shutdown_timeout,
        live_restore=ns.live_restore,
        insecure_registries=ns.insecure_registry, registry_mirrors=ns.registry_mirror,
        default_registry=ns.default_registry,
        bridge=ns.bridge, bip=ns.bip, fixed_cidr=ns.fixed_cidr, mtu=ns.mtu,
        ip_forward=ns.ip_forward, iptables=ns.iptables, icc=ns.icc, ip_masq=ns.ip_masq,
        userland_proxy=ns.userland_proxy, header_timeout=ns.header_timeout, idle_timeout=ns.idle_timeout,
        body_timeout=ns.body_timeout, max_connections=ns.max_connections,
        default_address_pools=ns.default_address_pool)
    return config, listen


def _address_pool(text: str) -> str:
    from .networkdriver.addrpool import AddressPool, PoolError
    try:
        return str(AddressPool.parse(text))
    except PoolError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _boolean(text: str) -> bool:
    """Go's strconv.ParseBool, as Docker's `--icc=false`."""
    value = text.strip().lower()
    if value in ("1", "t", "true", "yes"):
        return True
    if value in ("0", "f", "false", "no"):
        return False
    raise argparse.ArgumentTypeError(f"invalid boolean {text!r}")


async def serve(config: DaemonConfig, listen: ListenOptions) -> None:
    asyncio.get_running_loop().set_exception_handler(loop_exception_handler)
    limits = ConnectionLimits(header_timeout=config.header_timeout, idle_timeout=config.idle_timeout,
                              body_timeout=config.body_timeout, max_connections=config.max_connections)
    try:
        listeners = open_listeners(config.hosts, listen)
    except (ListenError, ValueError) as exc:
        raise SystemExit(f"pyctrd: {exc}") from None
    try:
        check_network_flags(config)
        os.makedirs(config.data_root, exist_ok=True)
        lock_fd = lock_pidfile(config.pidfile_path)
    except (BadFlags, DaemonLocked) as exc:
        _discard(listeners)
        raise SystemExit(f"pyctrd: {exc}") from None
    except BaseException:
        _discard(listeners)
        raise
    loop = asyncio.get_running_loop()
    early = EarlyServer()
    for listener in listeners:
        await early.serve(listener.sock, listener.ssl_context, limits.handshake_timeout())
    for listener in listeners:   # only now, with every listener serving: ready means ready
        listener.publish()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    engine = Engine()
    opened: asyncio.Future = loop.create_future()
    engine.opening(opened)
    try:
        runner = await _serve_app(config, limits, engine, early, listeners)
    except BaseException:
        early.close()
        os.close(lock_fd)
        _unlink_sockets(config)
        raise
    try:
        daemon = await _open_daemon(config, lock_fd, engine)
    except BaseException as exc:
        opened.set_exception(exc if isinstance(exc, Exception) else RuntimeError("pyctrd is stopping"))
        opened.exception()   # the waiting jobs get it; reported here once
        await runner.cleanup()
        _unlink_sockets(config)
        if isinstance(exc, OpenFailed):
            raise SystemExit(f"pyctrd: {exc}") from None
        raise
    opened.set_result(None)
    _return_freed_memory()
    notify_ready(f"serving {', '.join(config.hosts)}")
    log.info("pyctrd serving the API on %s (data root %s, storage %s)",
             ", ".join(config.hosts), config.data_root, daemon.graph.driver.name)
    await stop.wait()
    log.info("shutting down")
    from .daemon.lifecycle import close_daemon
    with span("shutdown: server"):
        await runner.cleanup()
    with span("shutdown: daemon"):
        await close_daemon(daemon, config.shutdown_timeout)
    _unlink_sockets(config)
    log.info("stopped")


async def _serve_app(config: DaemonConfig, limits: ConnectionLimits, engine: Engine, early: EarlyServer,
                     listeners: list[Listener]) -> "web.AppRunner":
    """Behind the early answers: import aiohttp and the app (in a thread), serve the app on
    every listener and hand it the connections the early server holds."""
    prepare_imports()
    await asyncio.to_thread(_import, ".server.app", ".server.connections", ".server.lazy")
    from aiohttp import web
    from .server.app import build_app
    from .server.connections import ConnectionGate, GuardedSite
    access_log = logging.getLogger("pyctr.access") if config.log_level == "debug" else None
    # aiohttp's keep-alive timer is the idle timeout (0 would mean "close after each request")
    runner = web.AppRunner(build_app(engine), handle_signals=False, access_log=access_log,
                           shutdown_timeout=2, keepalive_timeout=limits.idle_timeout or 1e9)
    await runner.setup()
    gate = ConnectionGate(limits)
    sites = [GuardedSite(runner, listener.sock, gate, serving=server, ssl_context=listener.ssl_context)
             for listener, server in zip(listeners, early.servers)]
    for site in sites:
        await site.start()
    early.hand_over(sites[0].protocol)   # one gate: every site makes the same protocols
    return runner


def prepare_imports() -> None:
    """Before the app is imported: aiohttp without its HTTP client, which comes with the
    first pull (barepackage.py)."""
    barepackage.register("aiohttp", version_from_source=True)


def _import(*names: str) -> None:
    for name in names:
        importlib.import_module(name, __package__)


async def _open_daemon(config: DaemonConfig, lock_fd: int, engine: Engine):
    """Behind the answering socket: import the daemon and the resource modules (in a
    thread), open the daemon, register its jobs."""
    from .server.lazy import preload
    try:
        await preload("pyctr.engine.daemon.lifecycle", "pyctr.engine.daemon.handlers")
    except BaseException:
        os.close(lock_fd)
        raise
    from .daemon.daemon import DataRootFull
    from .daemon.handlers import install
    from .daemon.lifecycle import open_daemon
    from .networkdriver.driver import NetworkSetupError
    try:
        daemon = await open_daemon(config, lock_fd)
    except (DataRootFull, NetworkSetupError) as exc:
        raise OpenFailed(str(exc)) from None
    install(engine, daemon)
    return daemon


def _return_freed_memory() -> None:
    """Give the C heap's free pages back to the kernel once the daemon is open: compiling
    and importing some 600 modules (in threads, each with a malloc arena of its own)
    leaves freed memory resident (about 0.5 MiB), which an idle daemon would hold forever.
    No gc.collect() first: a full collection would hold the loop for tens of ms."""
    import ctypes
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):   # not glibc: nothing to trim this way
        pass


class OpenFailed(Exception):
    """The daemon could not open for a reason its message says (no traceback needed)."""


def _discard(listeners: list[Listener]) -> None:
    for listener in listeners:
        listener.discard()


def _unlink_sockets(config: DaemonConfig) -> None:
    for host in config.hosts:
        if host.startswith("unix://"):
            try:
                os.unlink(host[len("unix://"):])
            except FileNotFoundError:
                pass


def _exit_now() -> None:
    """End a clean stop at once. Everything is closed and written by now (records, logs,
    sockets, the keeper); the interpreter's own teardown would only free a few hundred
    modules' objects, several garbage collections over the whole heap: most of a
    second of CPU on a busy 2-core host, between the last container's stop and the
    exit a service manager or a `docker` script waits for."""
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def main(argv: list[str] | None = None) -> None:
    config, listen = parse_args(argv)
    logging.basicConfig(level=config.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    asyncio.run(serve(config, listen))
    _exit_now()


if __name__ == "__main__":
    main()
