"""A real pyctrd for tests: its own data root, exec root, socket (and later bridge),
started as a subprocess and checked on stop to have left nothing behind."""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import random
import re
import resource
import shutil
import signal
import subprocess
import sys
import tarfile
import time
from dataclasses import dataclass, field

from pyctr.engine.client.api import Client

# The real docker CLI first on PATH: 28.x from /usr/local/bin here, Debian's 20.10 elsewhere.
DOCKER = shutil.which("docker") or "docker"


def mounts_under(path: str) -> list[str]:
    path = os.path.realpath(path)
    with open("/proc/self/mountinfo") as f:
        points = [line.split()[4] for line in f]
    return [p for p in points if p == path or p.startswith(path + "/")]


def _routed_networks() -> list[ipaddress.IPv4Network]:
    out = subprocess.run(["ip", "-4", "-j", "route", "show", "table", "all"], capture_output=True,
                         text=True).stdout
    nets = []
    for route in json.loads(out or "[]"):
        dst = route.get("dst", "")
        if route.get("table") == "local" or dst in ("", "default"):
            continue
        try:
            nets.append(ipaddress.IPv4Network(dst, strict=False))
        except ValueError:
            pass
    return nets


def pick_network() -> tuple[str, str]:
    """A bridge name and a /24 no route on this host uses, for one test daemon."""
    taken = _routed_networks()
    for _ in range(1000):
        net = ipaddress.IPv4Network(f"10.{random.randint(200, 254)}.{random.randint(0, 255)}.0/24")
        if not any(net.overlaps(t) for t in taken):
            return "pyt" + os.urandom(4).hex(), f"{net.network_address + 1}/24"
    raise RuntimeError("no free /24 for a test bridge")


def pick_address_pool() -> str:
    """A /19 no route on this host uses, as a daemon's --default-address-pool of /24s: every
    test daemon its own, so parallel daemons never hand out the same subnet."""
    taken = _routed_networks()
    for _ in range(1000):
        net = ipaddress.IPv4Network(f"10.{random.randint(100, 199)}.{random.randint(0, 7) * 32}.0/19")
        if not any(net.overlaps(t) for t in taken):
            return f"base={net},size=24"
    raise RuntimeError("no free /19 for a test daemon's address pool")


def iptables_lines_about(bridge: str) -> list[str]:
    """Every iptables rule or chain that names `bridge` (nat and filter)."""
    found = []
    for table in ("nat", "filter"):
        out = subprocess.run(["iptables-save", "-t", table], capture_output=True, text=True).stdout
        found += [f"{table}: {line}" for line in out.splitlines()
                  if bridge in line.split() or f"-{bridge}" in line]
    return found


def link_exists(name: str) -> bool:
    return os.path.exists(f"/sys/class/net/{name}")


def make_busybox_tar(rootfs: str, tar_path: str) -> str:
    with tarfile.open(tar_path, "w") as tar:
        tar.add(rootfs, arcname=".")
    return tar_path


@dataclass
class DaemonProcess:
    workdir: str
    extra_args: list[str] = field(default_factory=list)
    proc: subprocess.Popen | None = None
    bridge: str = ""      # its own bridge and subnet, kept in the workdir across restarts
    bip: str = ""
    nofile: int | None = None   # RLIMIT_NOFILE (soft and hard) to start it with
    address_pool: str = ""   # where its user-defined networks take their subnets from

    def __post_init__(self) -> None:
        if not any(a.startswith("--default-address-pool") for a in self.extra_args):
            saved = os.path.join(self.workdir, "address-pool")
            if os.path.exists(saved):
                with open(saved) as f:
                    self.address_pool = f.read().strip()
            else:
                self.address_pool = pick_address_pool()
                os.makedirs(self.workdir, exist_ok=True)
                with open(saved, "w") as f:
                    f.write(self.address_pool)
        if "-b" in self.extra_args or any(a.startswith("--bridge") for a in self.extra_args):
            return   # the test chose its network itself
        saved = os.path.join(self.workdir, "network.json")
        if os.path.exists(saved):
            with open(saved) as f:
                self.bridge, self.bip = json.load(f)
        else:
            self.bridge, self.bip = pick_network()
            os.makedirs(self.workdir, exist_ok=True)
            with open(saved, "w") as f:
                json.dump([self.bridge, self.bip], f)

    @property
    def root(self) -> str:
        return os.path.join(self.workdir, "root")

    @property
    def socket(self) -> str:
        return os.path.join(self.workdir, "pyctr.sock")

    @property
    def host(self) -> str:
        return f"unix://{self.socket}"

    @property
    def log_path(self) -> str:
        return os.path.join(self.workdir, "pyctrd.log")

    def start(self, timeout: float = 60) -> "DaemonProcess":
        os.makedirs(self.workdir, exist_ok=True)
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "pyctr.engine.main", "-H", self.host, "-g", self.root,
             "--exec-root", os.path.join(self.workdir, "exec"), "--log-level", "debug",
             *(["--bridge", self.bridge, "--bip", self.bip] if self.bridge else []),
             *(["--default-address-pool", self.address_pool] if self.address_pool else []),
             # a test daemon never reaches Docker Hub (nor the host's resolver for it)
             *([] if any(a.startswith("--default-registry") for a in self.extra_args)
               else ["--default-registry", "none"]),
             # Docker 1.2's shutdown (containers stopped), so that a stopped daemon leaves
             # nothing; the live-restore tests ask for --live-restore themselves.
             *([] if any(a.startswith("--live-restore") for a in self.extra_args)
               else ["--live-restore=false"]),
             *self.extra_args],
            stdout=log, stderr=subprocess.STDOUT,
            preexec_fn=self._limit_descriptors if self.nofile is not None else None)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"pyctrd exited with {self.proc.returncode}:\n{self.log()}")
            try:
                self.client().ping()
                # /_ping answers before the daemon has opened (swept, restored containers);
                # a job waits for that, so the tests see a daemon that is all there.
                self.client().json("GET", "/version")
                return self
            except Exception:
                time.sleep(0.05)
        self.kill()   # not answering: do not leave it running (and holding its bridge)
        if self.bridge:
            remove_network(self.bridge)
        raise RuntimeError(f"pyctrd did not answer within {timeout}s:\n{self.log()}")

    def _limit_descriptors(self) -> None:
        if self.nofile is not None:
            resource.setrlimit(resource.RLIMIT_NOFILE, (self.nofile, self.nofile))

    def log(self) -> str:
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()[-20000:]
        except FileNotFoundError:
            return ""

    def client(self, version: str | None = None) -> Client:
        """A client of this daemon; `version`: speaking that API version."""
        client = Client(self.host)
        if version is not None:
            client.version = version
        return client

    def env(self) -> dict[str, str]:
        return {**os.environ, "DOCKER_HOST": self.host, "PYCTR_HOST": self.host,
                "DOCKER_CONFIG": os.path.join(self.workdir, "docker-config")}

    def docker(self, *args: str, input: bytes | None = None, timeout: float = 60,
               check: bool = True) -> subprocess.CompletedProcess:
        """The real docker CLI against this daemon."""
        result = subprocess.run([DOCKER, *args], input=input, capture_output=True,
                                env=self.env(), timeout=timeout)
        if check and result.returncode != 0:
            raise AssertionError(f"docker {' '.join(args)} -> {result.returncode}\n"
                                 f"stdout: {result.stdout.decode()}\nstderr: {result.stderr.decode()}")
        return result

    def pyctr(self, *args: str, input: bytes | None = None, timeout: float = 60,
              check: bool = True) -> subprocess.CompletedProcess:
        """pyctr's own CLI against this daemon."""
        result = subprocess.run([sys.executable, "-m", "pyctr.shell.cli", *args], input=input,
                                capture_output=True, env=self.env(), timeout=timeout)
        if check and result.returncode != 0:
            raise AssertionError(f"pyctr {' '.join(args)} -> {result.returncode}\n"
                                 f"stdout: {result.stdout.decode()}\nstderr: {result.stderr.decode()}")
        return result

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"pyctrd did not stop on {sig!r} within {timeout}s:\n{self.log()}")

    def kill(self) -> None:
        """SIGKILL, as a crash: containers and mounts stay behind for the next start to clean."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def leftovers(self) -> list[str]:
        """What a stopped daemon left: mounts under its root, container processes."""
        found = [f"mount {p}" for p in mounts_under(self.workdir)]
        exec_state = os.path.join(self.workdir, "exec", "execdriver", "native")
        if os.path.isdir(exec_state) and os.listdir(exec_state):
            found.append(f"exec state {os.listdir(exec_state)}")
        if self.bridge:
            if link_exists(self.bridge):
                found.append(f"bridge {self.bridge}")
            found += iptables_lines_about(self.bridge)
            found += [f"file {p}" for p in bridge_lock_files(self.bridge) if os.path.exists(p)]
        found += self.user_network_leftovers()
        return found

    @property
    def isolation_chain(self) -> str:
        """The daemon's chain that isolates its networks (daemon/networks.py names it)."""
        import hashlib
        return "PYCTR-ISO-" + hashlib.sha1(os.path.abspath(self.root).encode()).hexdigest()[:10]

    def user_network_bridges(self) -> list[str]:
        """Links with an address in this daemon's address pool: its user networks' bridges."""
        if not self.address_pool:
            return []
        pool = ipaddress.IPv4Network(self.address_pool.split(",")[0].removeprefix("base="))
        out = subprocess.run(["ip", "-4", "-j", "addr"], capture_output=True, text=True).stdout
        return [link["ifname"] for link in json.loads(out or "[]")
                for addr in link.get("addr_info", [])
                if ipaddress.IPv4Address(addr["local"]) in pool]

    def user_network_leftovers(self) -> list[str]:
        found = [f"bridge {name}" for name in self.user_network_bridges()]
        for name in self.user_network_bridges():
            found += iptables_lines_about(name)
        saved = subprocess.run(["iptables-save", "-t", "filter"], capture_output=True, text=True).stdout
        if f":{self.isolation_chain} " in saved:
            found.append(f"chain {self.isolation_chain}")
        return found

    def keeper_alive(self) -> bool:
        """Whether the keeper of this daemon's exec root (live restore's) still runs."""
        try:
            with open(os.path.join(self.workdir, "exec", "keeper.pid")) as f:
                pid = int(f.read().split()[0])
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                return os.path.join(self.workdir, "exec").encode() in f.read()
        except (OSError, ValueError, IndexError):
            return False

    def cleanup_by_force(self) -> None:
        """After a failed test: make sure nothing stays mounted or running."""
        self.kill()
        # A fresh daemon cleans its own leftovers on start, and its clean stop (without live
        # restore) ends the keeper a killed one left.
        if mounts_under(self.workdir) or self.keeper_alive():
            # Without live restore, whatever the test asked: the start ends what a crash left
            # running and the clean stop ends the keeper (with it, both would outlive the test).
            asked = self.extra_args
            self.extra_args = [a for a in asked if not a.startswith("--live-restore")] + ["--live-restore=false"]
            try:
                self.start()
            finally:
                try:
                    self.stop()
                finally:
                    self.extra_args = asked
        for point in sorted(mounts_under(self.workdir), key=len, reverse=True):
            subprocess.run(["umount", "-l", point], check=False)
        if self.bridge:
            remove_network(self.bridge)
        for name in self.user_network_bridges():
            remove_network(name)
        remove_chain(self.isolation_chain)


def remove_chain(chain: str) -> None:
    """A filter chain and the jumps to it."""
    out = subprocess.run(["iptables-save", "-t", "filter"], capture_output=True, text=True).stdout
    if f":{chain} " not in out:
        return
    for line in out.splitlines():
        words = line.split()
        if line.startswith("-A ") and "-j" in words and words[words.index("-j") + 1] == chain:
            subprocess.run(["iptables", "-D", *words[1:]], check=False, capture_output=True)
    subprocess.run(["iptables", "-F", chain], check=False, capture_output=True)
    subprocess.run(["iptables", "-X", chain], check=False, capture_output=True)


def bridge_lock_files(bridge: str) -> list[str]:
    """What pyctrd keeps in /run about the bridge it holds (see networkdriver/bridge.py BridgeLock)."""
    return [f"/run/pyctr/network/{bridge}.{kind}" for kind in ("lock", "created", "owner")]


def remove_network(bridge: str) -> None:
    """The bridge and every rule and chain of a test daemon's, whatever state it died in."""
    for path in bridge_lock_files(bridge):
        if os.path.exists(path):
            os.unlink(path)
    if link_exists(bridge):
        subprocess.run(["ip", "link", "del", bridge], check=False, capture_output=True)
    for table in ("nat", "filter"):
        out = subprocess.run(["iptables-save", "-t", table], capture_output=True, text=True).stdout
        chains = {c for c in (f"PYCTR-{bridge}", f"PYCTR-POST-{bridge}", f"PYCTR-FWD-{bridge}")
                  if f":{c} " in out}
        for line in out.splitlines():
            words = line.split()
            if line.startswith("-A ") and "-j" in words and words[words.index("-j") + 1] in chains:
                subprocess.run(["iptables", "-t", table, "-D", *words[1:]], check=False, capture_output=True)
        for chain in chains:
            subprocess.run(["iptables", "-t", table, "-F", chain], check=False, capture_output=True)
            subprocess.run(["iptables", "-t", table, "-X", chain], check=False, capture_output=True)


def start_with_busybox(workdir: str, busybox_tar: str, extra_args: list[str] | None = None) -> DaemonProcess:
    """A started daemon with busybox:latest imported."""
    daemon = DaemonProcess(workdir, ["--shutdown-timeout", "2", *(extra_args or [])]).start()
    with open(busybox_tar, "rb") as f:
        daemon.client().import_image("-", repo="busybox", tag="latest", body=f).read()
    return daemon


# --- small helpers the integration tests share ---------------------------------
@contextlib.contextmanager
def daemon_with_busybox(workdir: str, busybox_tar: str, extra_args: list[str] | None = None):
    """A started daemon with busybox:latest imported; on the way out, stopped and checked
    to have left nothing (then cleaned by force, so a failure does not leak)."""
    d = start_with_busybox(workdir, busybox_tar, extra_args)
    try:
        yield d
    finally:
        try:
            d.stop()
        finally:
            left = d.leftovers()
            d.cleanup_by_force()
        assert not left, f"pyctrd left behind: {left}\n{d.log()}"


def wait_for(predicate, timeout: float = 60, interval: float = 0.05):
    """Poll until `predicate()` is truthy and return its value (not a timing assertion:
    the timeout only bounds a hang)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError("condition not met in time")


AGE = re.compile(r"(Less than a second|About a minute|About an hour|"
                 r"\d+ (seconds?|minutes?|hours?|days?|weeks?|months?|years?))( ago)?")


def without_ages(listing: str) -> list[str]:
    """A CLI's listing with its ages and durations ("5 seconds ago", "Up 1 second") and
    column padding taken out: two runs a second apart agree on it."""
    return [re.sub(r"\s+", " ", AGE.sub("AGE", line)).strip() for line in listing.splitlines()]


def container_names(listing: list[dict]) -> set[str]:
    """The names in a /containers/json listing (not the link names, "/web/db")."""
    return {n.lstrip("/") for c in listing for n in c["Names"] if "/" not in n.lstrip("/")}


def cgroup_dirs(container_id: str) -> list[str]:
    """Every cgroup directory named after the container, in any hierarchy."""
    found = []
    for dirpath, dirnames, _ in os.walk("/sys/fs/cgroup"):
        if container_id in dirnames:
            found.append(os.path.join(dirpath, container_id))
        if dirpath.count("/") > 6:
            dirnames[:] = []
    return found


def container_count(daemon: DaemonProcess) -> int:
    return len(daemon.client().json("GET", "/containers/json", {"all": 1}))


def layer_tar(files: dict[str, bytes]) -> bytes:
    """An uncompressed layer tarball with these regular files."""
    import io
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()
