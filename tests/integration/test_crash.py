"""pyctrd killed in the middle of every multi-step operation, then restarted on the same
data root: nothing half-made may stay, nothing finished may be lost, and the operation
must work when done again.

Two kinds of kill: at a named step boundary (PYCTR_CRASH_AT=<point>:<n>, see
engine/crashpoint.py: the daemon os._exit()s there, which is what SIGKILL leaves), and a
real SIGKILL after a random delay within the operation's measured duration. Each
restart is started with the next kill's PYCTR_CRASH_AT, so one daemon start per kill.

After every restart `Lab.check` asserts: the graph DB and the disk agree (every layer
is an image's or a container's, every container row has its directory and the other
way round, no journal, no temp files, no dangling overlay links), nothing is mounted,
no cgroup, veth, iptables rule or exec state of a container is left, and the exit code
and log of a container that had finished before the crashes are intact. Until live
restore lands, containers running at a crash are shown exited (137) after it.
"""

from __future__ import annotations

import gzip
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field

import pytest

from diskstate import db_rows, graph_problems
from harness import DOCKER, DaemonProcess, iptables_lines_about, mounts_under
from registry.conftest import open_registry  # noqa: F401 (fixture)
from registry.images import Layer, RegistryHTTP, make_config, make_layer, sha

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")

RANDOM_KILLS = 3          # per operation, besides the named points
SEED = int(os.environ.get("PYCTR_CRASH_SEED", "0")) or random.randrange(1 << 30)
STATS: dict[str, list] = {"kills": [], "restart_s": []}


@dataclass
class Lab:
    """One daemon's data root, restarted after every kill, and what must hold across."""
    workdir: str
    busybox_tar: str
    daemon: DaemonProcess | None = None
    seen_ids: set[str] = field(default_factory=set)   # every container id ever shown
    iptables_baseline: set[str] = field(default_factory=set)
    images_baseline: set[str] = field(default_factory=set)
    rng: random.Random = field(default_factory=lambda: random.Random(SEED))

    # --- daemon life ------------------------------------------------------------------
    def start(self, crash_at: str = "") -> DaemonProcess:
        d = DaemonProcess(self.workdir, ["--shutdown-timeout", "1"])
        saved = os.environ.get("PYCTR_CRASH_AT")
        os.environ["PYCTR_CRASH_AT"] = crash_at
        t0 = time.monotonic()
        try:
            d.start(timeout=30)
        finally:
            if saved is None:
                os.environ.pop("PYCTR_CRASH_AT", None)
            else:
                os.environ["PYCTR_CRASH_AT"] = saved
        STATS["restart_s"].append(time.monotonic() - t0)
        self.daemon = d
        return d

    def docker(self, *args: str, input: bytes | None = None, check: bool = True,
               timeout: float = 60) -> subprocess.CompletedProcess:
        return self.daemon.docker(*args, input=input, check=check, timeout=timeout)

    def ids(self, text: str) -> list[str]:
        found = [w for w in text.split() if len(w) == 64 and all(c in "0123456789abcdef" for c in w)]
        self.seen_ids.update(found)
        return found

    # --- the two kinds of kill --------------------------------------------------------
    def kill_at_point(self, point: str, action) -> None:
        """`action` runs against a daemon started with PYCTR_CRASH_AT=point: it must die."""
        proc = self.daemon.proc
        action()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"crash point {point} was never reached:\n{self.daemon.log()}")
        assert proc.returncode == 137, (point, proc.returncode)
        assert f"PYCTR_CRASH_AT={point} reached" in self.daemon.log()
        STATS["kills"].append(point)

    def kill_after(self, delay: float, argv: list[str], what: str) -> None:
        """A real SIGKILL `delay` seconds into a docker CLI command."""
        client = subprocess.Popen([DOCKER, *argv], env=self.daemon.env(),
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        time.sleep(delay)
        self.daemon.proc.send_signal(signal.SIGKILL)
        self.daemon.proc.wait()
        out, _ = client.communicate(timeout=60)
        self.ids(out.decode(errors="replace"))
        STATS["kills"].append(f"{what}+{delay:.2f}s")

    # --- what must hold after every restart -------------------------------------------
    def check(self) -> None:
        images, containers = db_rows(self.daemon.root)
        self.seen_ids.update(containers)
        problems = graph_problems(self.daemon.root)
        assert not problems, problems
        running = [c for c, r in containers.items() if r["State"]["Running"]]
        assert not running, f"running after a restart without live restore: {running}"
        assert not mounts_under(self.workdir), f"mounts left: {mounts_under(self.workdir)}"
        cgroups = _cgroup_dirs_named(self.seen_ids)
        assert not cgroups, f"cgroups left: {cgroups}"
        veths = _links_on(self.daemon.bridge)
        assert not veths, f"veths left on {self.daemon.bridge}: {veths}"
        rules = set(iptables_lines_about(self.daemon.bridge))
        assert rules == self.iptables_baseline, f"iptables changed: {rules ^ self.iptables_baseline}"
        exec_state = os.path.join(self.workdir, "exec", "execdriver", "native")
        assert not (os.path.isdir(exec_state) and os.listdir(exec_state)), os.listdir(exec_state)
        keeper = self.daemon.client().inspect_container("keeper")
        assert keeper["State"]["ExitCode"] == 3 and not keeper["State"]["Running"]
        assert self.docker("logs", "keeper").stdout == b"kept\n"

    def images_now(self) -> set[str]:
        return {i["Id"] for i in self.daemon.client().json("GET", "/images/json", {"all": 1})}

    def same_images(self) -> None:
        now = self.images_now()
        assert now == self.images_baseline, f"images changed: {now ^ self.images_baseline}"

    def all_or_nothing(self, *refs: str) -> None:
        """After a kill the operation happened wholly (its image tagged, with every layer)
        or not at all; a whole one is removed again so the next kill starts the same."""
        new = self.images_now() - self.images_baseline
        if not new:
            return
        done = [r for r in refs if self.docker("inspect", r, check=False).returncode == 0]
        assert done, f"images without the tag of a finished operation: {new}"
        chain = {h["Id"] for h in self.daemon.client().json("GET", f"/images/{done[0]}/history")}
        assert new <= chain, f"images that are no part of {done[0]}: {new - chain}"
        for ref in done:
            self.docker("rmi", ref)
        self.same_images()

    # --- one operation: kills at each point, then random ones, then done for real ------
    def run(self, name: str, points: list[str], prepare, action, argv, after) -> None:
        """`prepare()` makes what the operation needs; `action()` does it through the CLI
        (`argv(prepared)` is the same as a docker command line, for the SIGKILLs);
        `after()` checks the operation-specific state after each recovery.

        Order, so that every daemon start follows a kill: one untouched run (its duration
        bounds the random delays), the random SIGKILLs, the named points, and the
        operation once more, which must work."""
        prepared = prepare()
        t0 = time.monotonic()
        action(prepared)
        duration = time.monotonic() - t0
        self.undo(name)
        steps = [("random", "")] * RANDOM_KILLS + [("point", p) for p in points]
        envs = [p if kind == "point" else "" for kind, p in steps] + [""]
        if envs[0]:
            self.restart(envs[0])
        for i, (kind, point) in enumerate(steps):
            prepared = prepare()
            if kind == "point":
                self.kill_at_point(point, lambda: action(prepared, check=False))
            else:
                self.kill_after(self.rng.uniform(0, duration), argv(prepared), name)
            self.start(envs[i + 1])
            self.check()
            after()
        prepared = prepare()
        action(prepared)    # the operation, done again after the crashes, works
        self.check()
        self.undo(name)

    def restart(self, crash_at: str) -> None:
        self.daemon.stop()
        self.start(crash_at)

    def undo(self, name: str) -> None:
        """Back to the baseline after the measured run (no crash)."""
        if name in ("commit", "load", "import", "pull", "build"):
            for image in sorted(self.images_now() - self.images_baseline):
                self.docker("rmi", "-f", image, check=False)
        doomed = [c["Id"] for c in self.daemon.client().json("GET", "/containers/json", {"all": 1})
                  if c["Names"] != ["/keeper"] and not c["Names"][0].startswith("/base")]
        if doomed:
            self.docker("rm", "-f", *doomed)


def _cgroup_dirs_named(ids: set[str]) -> list[str]:
    found = []
    for dirpath, dirnames, _ in os.walk("/sys/fs/cgroup"):
        found += [os.path.join(dirpath, d) for d in dirnames if d in ids]
        if dirpath.count("/") > 6:
            dirnames[:] = []
    return found


def _links_on(bridge: str) -> list[str]:
    out = subprocess.run(["ip", "-j", "link", "show", "master", bridge], capture_output=True,
                         text=True).stdout
    return [link["ifname"] for link in json.loads(out or "[]")]


@pytest.fixture(scope="module")
def lab(tmp_path_factory, busybox_tar):
    workdir = str(tmp_path_factory.mktemp("crash"))
    lab = Lab(workdir, busybox_tar)
    d = lab.start()
    try:
        with open(busybox_tar, "rb") as f:
            d.client().import_image("-", repo="busybox", tag="latest", body=f).read()
        lab.docker("run", "--name", "keeper", "busybox", "sh", "-c", "echo kept; exit 3", check=False)
        lab.iptables_baseline = set(iptables_lines_about(d.bridge))
        lab.images_baseline = lab.images_now()
        yield lab
    finally:
        try:
            lab.daemon.stop()
            left = lab.daemon.leftovers()
        finally:
            lab.daemon.cleanup_by_force()
        print(f"\ncrash suite (seed {SEED}): {len(STATS['kills'])} kills, all recovered; "
              f"restart {min(STATS['restart_s']):.2f}-{max(STATS['restart_s']):.2f} s "
              f"(mean {sum(STATS['restart_s']) / len(STATS['restart_s']):.2f} s)")
        assert not left, f"pyctrd left behind: {left}"


# --- the operations -----------------------------------------------------------------------
def test_create(lab):
    def action(_, check=True):
        lab.ids(lab.docker("create", "busybox", "true", check=check).stdout.decode())
    lab.run("create", ["create-dir:1", "create-layers:1"], lambda: None, action,
            lambda _: ["create", "busybox", "true"], lambda: None)


def test_start(lab):
    def prepare():
        return lab.ids(lab.docker("create", "busybox", "sh", "-c", "echo hi; exit 5").stdout.decode())[0]

    def action(cid, check=True):
        lab.docker("start", cid, check=check)
        if check:
            assert lab.docker("wait", cid).stdout.strip() == b"5"
            assert lab.docker("logs", cid).stdout == b"hi\n"
    lab.run("start", ["start-created:1"], prepare, action, lambda cid: ["start", cid], lambda: None)


def test_build_run(lab, tmp_path):
    (tmp_path / "Dockerfile").write_text(
        "FROM busybox\nRUN echo one > /one && dd if=/dev/zero of=/zero bs=64k count=16\n"
        "RUN echo two > /two\n")
    built = []

    def action(_, check=True):
        tag = f"built:{len(built)}"
        built.append(tag)
        lab.docker("build", "-t", tag, str(tmp_path), check=check, timeout=120)
        if check:
            assert lab.docker("run", "--rm", tag, "cat", "/one", "/two").stdout == b"one\ntwo\n"

    def after():
        lab.all_or_nothing("built:r")
        names = [c["Names"][0] for c in lab.daemon.client().json("GET", "/containers/json", {"all": 1})]
        assert names == ["/keeper"], f"a crashed build left containers: {names}"
    lab.run("build", ["create-layers:1", "start-created:1", "register-unpacked:1",
                      "register-before-row:1", "start-created:2", "register-unpacked:2"],
            lambda: None, action, lambda _: ["build", "-t", "built:r", str(tmp_path)], after)


def test_commit(lab):
    lab.docker("run", "--name", "base", "busybox", "sh", "-c",
               "dd if=/dev/zero of=/big bs=1M count=4 && echo done > /done")

    def action(_, check=True):
        out = lab.docker("commit", "base", "committed:1", check=check).stdout.decode()
        if check:
            assert lab.docker("run", "--rm", "committed:1", "cat", "/done").stdout == b"done\n"
            lab.ids(out)

    def after():
        lab.all_or_nothing("committed:r")
    try:
        lab.run("commit", ["register-unpacked:1", "register-before-row:1", "commit-before-tag:1"],
                lambda: None, action, lambda _: ["commit", "base", "committed:r"], after)
    finally:
        lab.docker("rm", "-f", "base", check=False)


def test_load(lab, tmp_path):
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text("FROM busybox\nRUN echo a > /a\nRUN dd if=/dev/zero of=/b bs=1M count=3\n")
    lab.docker("build", "-t", "toload:1", str(ctx), timeout=120)
    archive = str(tmp_path / "toload.tar")
    lab.docker("save", "-o", archive, "toload:1")
    lab.docker("rmi", "toload:1")
    lab.same_images()

    def action(_, check=True):
        lab.docker("load", "-i", archive, check=check)
        if check:
            assert lab.docker("run", "--rm", "toload:1", "cat", "/a").stdout == b"a\n"

    lab.run("load", ["register-unpacked:1", "register-before-row:2", "load-before-tag:1"],
            lambda: None, action, lambda _: ["load", "-i", archive], lambda: lab.all_or_nothing("toload:1"))


def test_import(lab):
    def action(_, check=True):
        lab.docker("import", lab.busybox_tar, "imported:1", check=check)
        if check:
            assert lab.docker("run", "--rm", "imported:1", "echo", "ok").stdout == b"ok\n"

    lab.run("import", ["register-unpacked:1", "register-before-row:1", "import-before-tag:1"],
            lambda: None, action, lambda _: ["import", lab.busybox_tar, "imported:r"],
            lambda: lab.all_or_nothing("imported:r"))


def test_pull(lab, open_registry, busybox_tar):
    with open(busybox_tar, "rb") as f:
        raw = f.read()
    layers = [Layer(gzip.compress(raw, compresslevel=1, mtime=0), sha(raw)),
              make_layer({"etc/motd": b"pulled\n"}),
              make_layer({"big": os.urandom(2 << 20)})]
    config = make_config(layers, cmd=["cat", "/etc/motd"])
    RegistryHTTP(open_registry.address).put_image("crash/img", "v1", layers, config)
    name = f"{open_registry.address}/crash/img:v1"

    def action(_, check=True):
        lab.docker("pull", name, check=check)
        if check:
            assert lab.docker("run", "--rm", name).stdout == b"pulled\n"

    lab.run("pull", ["register-unpacked:1", "register-unpacked:2", "register-before-row:3",
                     "pull-before-tag:1"],
            lambda: None, action, lambda _: ["pull", name], lambda: lab.all_or_nothing(name))


def test_rm_force_of_several(lab):
    def prepare():
        return [lab.ids(lab.docker("run", "-d", "busybox", "sleep", "1000").stdout.decode())[0]
                for _ in range(3)]

    def every_container() -> list[str]:
        return [c["Id"] for c in lab.daemon.client().json("GET", "/containers/json", {"all": 1})
                if c["Names"] != ["/keeper"]]

    def action(_, check=True):
        lab.docker("rm", "-f", *every_container(), check=check)
        if check:
            assert every_container() == []

    def argv(_):
        return ["rm", "-f", *every_container()]

    lab.run("rm -f", ["rm-row-deleted:1", "rm-row-deleted:2", "rm-layers-removed:2",
                       "rm-row-deleted:3"],
            prepare, action, argv, lambda: None)


def test_ready_means_ready(tmp_path):
    """The socket file appears only once the daemon answers on it, and a service
    manager's NOTIFY_SOCKET gets READY=1 only then too."""
    notify_path = str(tmp_path / "notify")
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(notify_path)
    notify.settimeout(60)
    d = DaemonProcess(str(tmp_path / "d"), ["--shutdown-timeout", "1"])
    os.makedirs(d.workdir, exist_ok=True)
    with open(d.log_path, "ab") as log:
        d.proc = subprocess.Popen(
            [sys.executable, "-m", "pyctr.engine.main", "-H", d.host, "-g", d.root,
             "--exec-root", os.path.join(d.workdir, "exec"), "--bridge", d.bridge, "--bip", d.bip],
            stdout=log, stderr=subprocess.STDOUT, env={**os.environ, "NOTIFY_SOCKET": notify_path})
    try:
        while not os.path.exists(d.socket):   # what a script waiting for the socket does
            assert d.proc.poll() is None, d.log()
            time.sleep(0.005)
        assert d.client().ping() == "OK"      # at once: no "Cannot connect"
        message = notify.recv(4096).decode()
        assert "READY=1" in message.split("\n") and f"MAINPID={d.proc.pid}" in message
        assert [n for n in os.listdir(d.workdir) if n.endswith(".tmp")] == []
    finally:
        notify.close()
        d.stop()
        left = d.leftovers()
        d.cleanup_by_force()
    assert not left, left
    assert not os.path.exists(d.socket)
