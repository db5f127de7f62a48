"""pyctrd: parse flags, open the daemon, serve the API until SIGTERM/SIGINT."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sys

from aiohttp import web

from .daemon.config import DEFAULT_SOCKET, DaemonConfig
from .daemon.daemon import DaemonLocked
from .daemon.network import NetworkSetupError
from .daemon.handlers import install
from .daemon.lifecycle import close_daemon, open_daemon
from .jobs import Engine
from .server.listeners import ListenError, ListenOptions, open_listeners
from .server.tls import ServerTLS
from .server.app import build_app

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
    config = DaemonConfig(
        hosts=ns.hosts or [DEFAULT_SOCKET], data_root=os.path.abspath(ns.data_root),
        exec_root=os.path.abspath(ns.exec_root), storage_driver=ns.storage_driver,
        exec_driver=ns.exec_driver, cgroup_parent=ns.cgroup_parent,
        log_level="debug" if ns.debug else ns.log_level, pidfile=ns.pidfile,
        dns=ns.dns, dns_search=ns.dns_search, shutdown_timeout=ns.shutdown_timeout,
        insecure_registries=ns.insecure_registry, registry_mirrors=ns.registry_mirror,
        default_registry=ns.default_registry,
        bridge=ns.bridge, bip=ns.bip, fixed_cidr=ns.fixed_cidr, mtu=ns.mtu,
        ip_forward=ns.ip_forward, iptables=ns.iptables, icc=ns.icc, ip_masq=ns.ip_masq,
        userland_proxy=ns.userland_proxy)
    return config, listen


def _boolean(text: str) -> bool:
    """Go's strconv.ParseBool, as Docker's `--icc=false`."""
    value = text.strip().lower()
    if value in ("1", "t", "true", "yes"):
        return True
    if value in ("0", "f", "false", "no"):
        return False
    raise argparse.ArgumentTypeError(f"invalid boolean {text!r}")


async def serve(config: DaemonConfig, listen: ListenOptions) -> None:
    try:
        listeners = open_listeners(config.hosts, listen)
    except (ListenError, ValueError) as exc:
        raise SystemExit(f"pyctrd: {exc}") from None
    try:
        daemon = await open_daemon(config)
    except (DaemonLocked, NetworkSetupError) as exc:
        raise SystemExit(f"pyctrd: {exc}") from None
    engine = Engine()
    install(engine, daemon)
    access_log = logging.getLogger("pyctr.access") if config.log_level == "debug" else None
    runner = web.AppRunner(build_app(engine), handle_signals=False, access_log=access_log,
                           shutdown_timeout=2)
    await runner.setup()
    for listener in listeners:
        await web.SockSite(runner, listener.sock, ssl_context=listener.ssl_context).start()
    log.info("pyctrd serving the API on %s (data root %s, storage %s)",
             ", ".join(config.hosts), config.data_root, daemon.graph.driver.name)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("shutting down")
    await runner.cleanup()
    await close_daemon(daemon, config.shutdown_timeout)
    for host in config.hosts:
        if host.startswith("unix://"):
            try:
                os.unlink(host[len("unix://"):])
            except FileNotFoundError:
                pass


def main(argv: list[str] | None = None) -> None:
    config, listen = parse_args(argv)
    logging.basicConfig(level=config.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    asyncio.run(serve(config, listen))


if __name__ == "__main__":
    main()
