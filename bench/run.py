"""pyctr against the real Docker engine, in the same run on the same machine.

    .venv/bin/python bench/run.py [--quick] [--only NAME ...]

Each engine gets its own data root, socket and no network (`--bridge=none`,
`--iptables=false` for dockerd), so nothing here touches another engine's state.
Figures are medians of wall-clock times; ratios are pyctr / docker (below 1 is
faster). Results also go to bench/results/<time>.json. Needs root; dockerd comes
from Debian's docker.io package and is skipped with a note when absent.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "tests"))
from harness import DaemonProcess  # noqa: E402
from rootfs import make_busybox_rootfs  # noqa: E402

from pyctr.engine.client.api import Client  # noqa: E402

DOCKER_CLI = "/usr/local/bin/docker"
PYCTR_CLI = [os.path.join(os.path.dirname(sys.executable), "pyctr")]


def median_time(fn, reps: int) -> float:
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def rss_kib(pid: int) -> int:
    """Resident memory of a process and its descendants, in KiB."""
    total = 0
    for p in [pid] + _descendants(pid):
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except FileNotFoundError:
            pass
    return total


def _descendants(pid: int) -> list[int]:
    out = subprocess.run(["ps", "-e", "-o", "pid=,ppid="], capture_output=True, text=True).stdout
    children: dict[int, list[int]] = {}
    for line in out.splitlines():
        p, pp = map(int, line.split())
        children.setdefault(pp, []).append(p)
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


class Engine:
    name = ""
    host = ""
    pid = 0

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

    def stop(self) -> None:
        self.daemon.stop()


class Docker(Engine):
    name = "docker"

    def __init__(self, workdir: str) -> None:
        self.workdir = workdir
        os.makedirs(workdir, exist_ok=True)
        sock = os.path.join(workdir, "docker.sock")
        self.host = f"unix://{sock}"
        self.log = open(os.path.join(workdir, "dockerd.log"), "ab")
        self.proc = subprocess.Popen(
            ["dockerd", "-H", self.host, "--data-root", os.path.join(workdir, "root"),
             "--exec-root", os.path.join(workdir, "exec"), "--pidfile", os.path.join(workdir, "dockerd.pid"),
             "--bridge=none", "--iptables=false", "--ip-masq=false", "--storage-driver", "overlay2"],
            stdout=self.log, stderr=subprocess.STDOUT)
        self.pid = self.proc.pid
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
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        subprocess.run(["umount", "-R", "-l", self.workdir], capture_output=True)


def make_big_tarball(path: str, total_mb: int = 100, files: int = 8000) -> None:
    """~total_mb of incompressible data in `files` files across a directory tree."""
    rng = random.Random(1234)
    size = total_mb * 1024 * 1024 // files
    with tarfile.open(path, "w") as tar:
        for i in range(files):
            data = rng.randbytes(size)
            info = tarfile.TarInfo(f"d{i % 97}/s{i % 13}/f{i}.bin")
            info.size = len(data)
            info.mode = 0o644
            import io
            tar.addfile(info, io.BytesIO(data))


def busybox_tar(workdir: str) -> str:
    root = make_busybox_rootfs(os.path.join(workdir, "busybox-rootfs"))
    path = os.path.join(workdir, "busybox.tar")
    with tarfile.open(path, "w") as tar:
        tar.add(root, arcname=".")
    return path


# --- the benchmarks -----------------------------------------------------------
def bench_import(engine: Engine, big_tar: str, reps: int) -> dict:
    def once():
        with open(big_tar, "rb") as f:
            out = engine.docker("import", "-", "bench/big:1", stdin=f).stdout.decode().strip()
        engine.docker("rmi", "bench/big:1")
        return out
    return {"import_100mb_s": median_time(once, reps)}


def bench_images(engine: Engine, tiny_tar: str, count: int, reps: int) -> dict:
    with open(tiny_tar, "rb") as f:
        data = f.read()
    for i in range(count):
        with engine.client().import_image("-", repo="bench/many", tag=str(i), body=data) as r:
            r.read()
    result = {f"images_{count}_docker_cli_s": median_time(lambda: engine.docker("images"), reps)}
    if isinstance(engine, Pyctr):
        result[f"images_{count}_pyctr_cli_s"] = median_time(lambda: engine.cli(PYCTR_CLI, "images"), reps)
    for i in range(count):
        engine.client().remove_image(f"bench/many:{i}")
    return result


def bench_run(engine: Engine, reps: int) -> dict:
    args = ("run", "--rm", "--net=none", "busybox", "true")
    result = {"run_rm_true_docker_cli_s": median_time(lambda: engine.docker(*args), reps)}
    if isinstance(engine, Pyctr):
        result["run_rm_true_pyctr_cli_s"] = median_time(lambda: engine.cli(PYCTR_CLI, *args), reps)
    return result


def bench_many(engine: Engine, count: int, reps: int) -> dict:
    client = engine.client()
    body = {"Image": "busybox", "Cmd": ["sleep", "1000"], "NetworkDisabled": True,
            "HostConfig": {"NetworkMode": "none"}}
    t0 = time.perf_counter()
    ids = []
    for _ in range(count):
        cid = client.json("POST", "/containers/create", body=body)["Id"]
        client.call("POST", f"/containers/{cid}/start")
        ids.append(cid)
    create_start = time.perf_counter() - t0
    rss = rss_kib(engine.pid)
    ps = median_time(lambda: engine.docker("ps", "-a"), reps)
    ps_api = median_time(lambda: client.json("GET", "/containers/json", {"all": 1}), reps)
    for cid in ids:
        client.call("DELETE", f"/containers/{cid}", {"force": 1})
    return {f"create_start_{count}_s": create_start, f"ps_a_{count}_docker_cli_s": ps,
            f"ps_a_{count}_api_s": ps_api, f"engine_rss_with_{count}_running_kib": rss}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller sizes and fewer repetitions")
    parser.add_argument("--only", nargs="*", default=[], help="import, images, run, many")
    parser.add_argument("--no-docker", action="store_true", help="measure pyctr alone")
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench/run.py: needs root")
    wanted = set(args.only or ["import", "images", "run", "many"])
    reps = 3 if args.quick else 10
    count = 50 if args.quick else 100
    work = tempfile.mkdtemp(prefix="pyctr-bench-")
    results: dict[str, dict] = {}
    try:
        tiny = busybox_tar(work)
        big = os.path.join(work, "big.tar")
        if "import" in wanted:
            make_big_tarball(big, 20 if args.quick else 100, 1600 if args.quick else 8000)
        engines = [Pyctr]
        if not args.no_docker:
            if shutil.which("dockerd"):
                engines.append(Docker)
            else:
                print("note: dockerd not found (apt-get install docker.io): pyctr only", file=sys.stderr)
        for cls in engines:
            engine = cls(os.path.join(work, cls.name))
            try:
                with open(tiny, "rb") as f:
                    engine.docker("import", "-", "busybox:latest", stdin=f)
                r: dict = {"idle_rss_kib": rss_kib(engine.pid)}
                if "import" in wanted:
                    r.update(bench_import(engine, big, max(1, reps // 3)))
                if "images" in wanted:
                    r.update(bench_images(engine, tiny, 200 if not args.quick else 50, reps))
                if "run" in wanted:
                    r.update(bench_run(engine, reps * 2))
                if "many" in wanted:
                    r.update(bench_many(engine, count, reps))
                results[cls.name] = r
            finally:
                engine.stop()
    finally:
        subprocess.run(["umount", "-R", "-l", work], capture_output=True)
        shutil.rmtree(work, ignore_errors=True)
    report(results)


def report(results: dict[str, dict]) -> None:
    pyctr, docker = results.get("pyctr", {}), results.get("docker", {})
    print(f"{'measure':40} {'pyctr':>12} {'docker':>12} {'ratio':>8}")
    for key in sorted(set(pyctr) | set(docker)):
        a, b = pyctr.get(key), docker.get(key)
        fmt = (lambda v: f"{v:12.4f}") if key.endswith("_s") else (lambda v: f"{v:12d}")
        ratio = f"{a / b:8.2f}" if a is not None and b else ""
        print(f"{key:40} {fmt(a) if a is not None else '':>12} {fmt(b) if b is not None else '':>12} {ratio}")
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    with open(os.path.join(HERE, "results", f"{stamp}.json"), "w") as f:
        json.dump(results, f, indent=2)


if __name__ == "__main__":
    main()
