"""The engines a benchmark runs against, each on its own socket and data root:
pyctrd (through the tests' harness) and, when Debian's docker.io is installed,
dockerd with no network of its own (`--bridge=none`, `--iptables=false`).
Plus the helpers every benchmark module uses (timing, memory, images)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tarfile
import time
from dataclasses import dataclass

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))
from harness import DaemonProcess, mounts_under  # noqa: E402
from rootfs import make_busybox_rootfs  # noqa: E402

from pyctr.engine.client.api import Client  # noqa: E402

DOCKER_CLI = shutil.which("docker") or "docker"
PYCTR_CLI = [os.path.join(os.path.dirname(sys.executable), "pyctr")]


def median_time(fn, reps: int) -> float:
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _rss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except FileNotFoundError:
        pass
    return 0


def _in_container(pid: int) -> bool:
    """Whether a process runs inside a container (a 64-hex cgroup path component)."""
    try:
        with open(f"/proc/{pid}/cgroup") as f:
            return any(len(part) == 64 and all(c in "0123456789abcdef" for c in part)
                       for line in f for part in line.strip().split(":")[-1].split("/"))
    except FileNotFoundError:
        return False


def _processes() -> list[tuple[int, int, str]]:
    out = subprocess.run(["ps", "-e", "-o", "pid=,ppid=,args="], capture_output=True, text=True).stdout
    rows = []
    for line in out.splitlines():
        parts = line.split(None, 2)
        rows.append((int(parts[0]), int(parts[1]), parts[2] if len(parts) > 2 else ""))
    return rows


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for p, pp, _ in _processes():
        children.setdefault(pp, []).append(p)
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def rss_kib(pid: int, marker: str = "", also: tuple[int, ...] = ()) -> int:
    """Resident memory of an engine, in KiB: the process and its descendants, plus
    processes whose command line names `marker` (dockerd's containerd shims, which
    are not its descendants) and the processes `also` and theirs, each counted once,
    leaving out the containers' own processes."""
    pids = {pid, *_descendants(pid)}
    for other in also:
        pids |= {other, *_descendants(other)}
    if marker:
        pids |= {p for p, _, args in _processes() if marker in args and "shim" in args}
    return sum(_rss(p) for p in pids if not _in_container(p))


class Engine:
    name = ""
    host = ""
    pid = 0
    workdir = ""

    def memory_kib(self) -> int:
        """What the engine itself holds in memory (not its containers' processes)."""
        return rss_kib(self.pid, self.workdir if self.name == "docker" else "")

    def env(self) -> dict[str, str]:
        return {**os.environ, "DOCKER_HOST": self.host, "PYCTR_HOST": self.host,
                "DOCKER_CONFIG": os.path.join(self.workdir, "docker-config")}

    def cli(self, which: list[str], *args: str, stdin=None) -> subprocess.CompletedProcess:
        result = subprocess.run([*which, *args], stdin=stdin, capture_output=True, env=self.env())
        if result.returncode != 0:
            raise RuntimeError(f"{which[0]} {' '.join(args)}: {result.stderr.decode()}")
        return result

    def docker(self, *args: str, stdin=None) -> subprocess.CompletedProcess:
        return self.cli([DOCKER_CLI], *args, stdin=stdin)

    def client(self) -> Client:
        return Client(self.host)


class Pyctr(Engine):
    name = "pyctr"

    def __init__(self, workdir: str) -> None:
        self.workdir = workdir
        self.daemon = DaemonProcess(workdir, ["--shutdown-timeout", "2", "--log-level", "warning"]).start()
        self.host = self.daemon.host
        self.pid = self.daemon.proc.pid

    def memory_kib(self) -> int:
        # The keeper outlives pyctrd by design: the one a restarted pyctrd adopted is no
        # descendant of it, so it is counted by its pid file (once, if it is a descendant too).
        try:
            with open(os.path.join(self.workdir, "exec", "keeper.pid")) as f:
                keeper = (int(f.read()),)
        except (OSError, ValueError):
            keeper = ()
        return rss_kib(self.pid, also=keeper)

    def stop(self) -> None:
        self.daemon.stop()


class Docker(Engine):
    name = "docker"

    # No network of its own: nothing of the host's firewall or bridges is touched.
    NETWORK_ARGS = ["--bridge=none", "--iptables=false", "--ip-masq=false"]

    def __init__(self, workdir: str, network_args: list[str] | None = None) -> None:
        self.workdir = workdir
        os.makedirs(workdir, exist_ok=True)
        sock = os.path.join(workdir, "docker.sock")
        self.host = f"unix://{sock}"
        self.log = open(os.path.join(workdir, "dockerd.log"), "ab")
        self.proc = subprocess.Popen(
            ["dockerd", "-H", self.host, "--data-root", os.path.join(workdir, "root"),
             "--exec-root", os.path.join(workdir, "exec"), "--pidfile", os.path.join(workdir, "dockerd.pid"),
             *(self.NETWORK_ARGS if network_args is None else network_args),
             "--storage-driver", "overlay2"],
            stdout=self.log, stderr=subprocess.STDOUT)
        self.pid = self.proc.pid
        try:
            self._wait_ready()
        except BaseException:
            self.stop()  # dockerd bind-mounts its data root early: never leave that behind
            raise

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                self.client().ping()
                return
            except Exception:
                if self.proc.poll() is not None:
                    raise RuntimeError("dockerd exited; see " + self.log.name)
                time.sleep(0.2)
        raise RuntimeError("dockerd did not answer")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        for point in sorted(mounts_under(self.workdir), key=len, reverse=True):
            subprocess.run(["umount", "-l", point], capture_output=True)


def busybox_tar(workdir: str) -> str:
    root = make_busybox_rootfs(os.path.join(workdir, "busybox-rootfs"))
    path = os.path.join(workdir, "busybox.tar")
    with tarfile.open(path, "w") as tar:
        tar.add(root, arcname=".")
    return path



@dataclass
class BenchContext:
    """What every benchmark module's `run(engine, ctx)` gets."""
    workdir: str          # scratch space shared by the engines (inputs made once)
    busybox: str          # path of a busybox rootfs tarball
    quick: bool           # smaller sizes, fewer repetitions
    reps: int


def import_busybox(engine: Engine, busybox: str) -> None:
    with open(busybox, "rb") as f:
        engine.docker("import", "-", "busybox:latest", stdin=f)


@contextlib.contextmanager
def running_sleepers(client: Client, count: int):
    """`count` started busybox sleepers without a network (ids yielded), removed after."""
    body = {"Image": "busybox", "Cmd": ["sleep", "1000"], "NetworkDisabled": True,
            "HostConfig": {"NetworkMode": "none"}}
    ids: list[str] = []
    try:
        for _ in range(count):
            cid = client.json("POST", "/containers/create", body=body)["Id"]
            client.call("POST", f"/containers/{cid}/start")
            ids.append(cid)
        yield ids
    finally:
        for cid in ids:
            client.call("DELETE", f"/containers/{cid}", {"force": 1})
