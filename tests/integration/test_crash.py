"""pyctrd killed in the middle of every multi-step operation, then restarted on the same
data root, with live restore on (its default): nothing half-made may stay, nothing finished
may be lost, no running container may stop, and the operation must work when done again.

Two kinds of kill: at a named step boundary (PYCTR_CRASH_AT=<point>:<n>, see
engine/crashpoint.py: the daemon os._exit()s there, which is what SIGKILL leaves), and a
real SIGKILL after a random delay within the operation's measured duration. Each
restart is started with the next kill's PYCTR_CRASH_AT, so one daemon start per kill.

LIVE_COUNT containers run through the whole suite (counters that log a line every 0.1 s,
a web server with a published port, sleepers), and a few "waiters" (blocked on a FIFO, no
CPU): at every kill one of them is made to exit, with a code of its own, while no daemon
runs. (A restarted daemon has the next crash point armed, so containers are made and
removed only when none is: the pool of waiters outlasts the longest run of armed ones.) After every restart `Lab.check`
asserts: every container that ran before the kill runs on with the same pid (the targets
of an `rm -f` in progress may be gone instead); the waiter's exit code and output are
recorded; each counter's log is one sequence from 0 with no line missing across the
dead time; the published port answers; the graph DB and the disk agree (every layer is
an image's or a container's, every container row has its directory and the other way
round, no journal, no temp files, no dangling overlay links); nothing is mounted but
the running containers' roots; cgroups, veths, exec state and iptables rules are exactly
those of the running containers; the keeper is the same process.
"""

from __future__ import annotations

import gzip
import http.client
import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field

import pytest

from diskstate import db_rows, graph_problems
from harness import DOCKER, DaemonProcess, iptables_lines_about, mounts_under, wait_for
from registry.conftest import open_registry  # noqa: F401 (fixture)
from registry.images import Layer, RegistryHTTP, make_config, make_layer, sha

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")

RANDOM_KILLS = 3          # per operation, besides the named points
LIVE_COUNT = 20           # containers running through the whole suite
COUNTERS = 4              # of which log a numbered line every 0.1 s
MIN_KILLS = 50
COUNTER = "i=0; while true; do echo $i; i=$((i+1)); usleep 100000; done"
WEB = "mkdir -p /www && echo up > /www/index.html && exec httpd -f -p 80 -h /www"
WAITER = "read line < /w/go; echo bye-$CODE-$line; exit $CODE"
WAITER_POOL = 8           # more than the longest run of armed restarts (build: 6 points)
SEED = int(os.environ.get("PYCTR_CRASH_SEED", "0")) or random.randrange(1 << 30)
STATS: dict[str, list] = {"kills": [], "restart_s": [], "operations": []}
OPERATIONS = ["create", "start", "build", "commit", "load", "import", "pull", "rm -f"]


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
    live: dict[str, int] = field(default_factory=dict)        # name -> pid, running throughout
    live_veths: dict[str, str] = field(default_factory=dict)  # name -> its host-side veth
    counted: dict[str, int] = field(default_factory=dict)     # counter -> lines seen last time
    web_port: int = 0
    keeper_pid: int = 0
    running_before: dict[str, int] = field(default_factory=dict)  # id -> pid, at the last kill
    may_vanish: set[str] = field(default_factory=set)   # ids the operation killed may remove
    waiters: list[tuple[str, int, int]] = field(default_factory=list)   # ready: name, pid, exit code
    released: tuple[str, int, int] | None = None   # the waiter made to exit at the last kill
    used: list[str] = field(default_factory=list)   # exited waiters, checked, to remove
    made_waiters: int = 0
    armed: str = ""                                 # the running daemon's PYCTR_CRASH_AT

    # --- daemon life ------------------------------------------------------------------
    def start(self, crash_at: str = "") -> DaemonProcess:
        d = DaemonProcess(self.workdir, ["--shutdown-timeout", "1", "--live-restore"])
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
        self.armed = crash_at
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
        self.note_running()
        action()
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"crash point {point} was never reached:\n{self.daemon.log()}")
        assert proc.returncode == 137, (point, proc.returncode)
        assert f"PYCTR_CRASH_AT={point} reached" in self.daemon.log()
        STATS["kills"].append(point)
        self.while_down()

    def kill_after(self, delay: float, argv: list[str], what: str) -> None:
        """A real SIGKILL `delay` seconds into a docker CLI command."""
        self.note_running()
        client = subprocess.Popen([DOCKER, *argv], env=self.daemon.env(),
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        time.sleep(delay)
        self.daemon.proc.send_signal(signal.SIGKILL)
        self.daemon.proc.wait()
        out, _ = client.communicate(timeout=60)
        self.ids(out.decode(errors="replace"))
        STATS["kills"].append(f"{what}+{delay:.2f}s")
        self.while_down()

    def note_running(self) -> None:
        """What runs just before a kill: all of it must run on after the restart (but the
        waiter, which is made to exit meanwhile)."""
        c = self.daemon.client()
        pids = {r["Id"]: c.inspect_container(r["Id"])["State"]["Pid"] for r in c.json("GET", "/containers/json")}
        self.running_before = {cid: pid for cid, pid in pids.items()
                               if not (self.waiters and pid == self.waiters[0][1])}

    def while_down(self) -> None:
        """With no daemon: the waiter exits (its code and last words must not be lost), and
        every container that ran still runs."""
        for cid, pid in self.running_before.items():
            assert _alive(pid) or cid in self.may_vanish, f"{cid[:12]} (pid {pid}) died with the daemon"
        self.release_waiter()

    def release_waiter(self) -> None:
        """The next waiter exits: a line into its FIFO (it reads it, prints it, exits)."""
        name, pid, code = self.released = self.waiters.pop(0)
        fifo = os.path.join(self.workdir, "waiters", name, "go")
        fd = wait_for(lambda: _open_writer(fifo), timeout=30)
        os.write(fd, b"now\n")
        os.close(fd)
        wait_for(lambda: not _alive(pid), timeout=30)

    # --- what must hold after every restart -------------------------------------------
    def check(self) -> None:
        images, containers = db_rows(self.daemon.root)
        self.seen_ids.update(containers)
        problems = graph_problems(self.daemon.root)
        assert not problems, problems
        c = self.daemon.client()
        # Everything that ran before the kill runs on, the same process (adopted, not restarted).
        running = {r["Id"]: c.inspect_container(r["Id"])["State"]["Pid"]
                   for r in c.json("GET", "/containers/json")}
        for cid, pid in self.running_before.items():
            # killed by the operation: gone, or listed while the new daemon records its exit
            # (inspect then shows pid 0)
            if cid in self.may_vanish and not running.get(cid):
                continue
            assert running.get(cid) == pid and _alive(pid), (cid[:12], pid, running.get(cid))
        for name, pid in self.live.items():
            state = c.inspect_container(name)["State"]
            assert state["Running"] and state["Pid"] == pid, (name, pid, state)
        # The waiter exited while no daemon ran: its code and output are there.
        if self.released is not None:
            name, pid, code = self.released
            state = wait_for(lambda: (st := c.inspect_container(name)["State"]) and not st["Running"] and st)
            assert state["ExitCode"] == code, (name, state)
            assert self.docker("logs", name).stdout == f"bye-{code}-now\n".encode()
            assert self.docker("wait", name).stdout.strip() == str(code).encode()
            self.used.append(name)
            self.released = None
        # Logs: one sequence from 0 across every dead time, growing.
        for counter in list(self.counted):
            numbers = [int(x) for x in self.docker("logs", counter).stdout.split()]
            assert numbers == list(range(len(numbers))), f"{counter}: lines lost or repeated"
            assert len(numbers) >= self.counted[counter], counter
            self.counted[counter] = len(numbers)
        assert _get(self.web_port) == b"up\n"   # its proxy is back
        # Nothing but the running containers' own: mounts, cgroups, veths, rules, exec state.
        # Listed again: a waiter released just before this check may have been listed above
        # as running and seen to exit (its state cleaned up) only since.
        running = {r["Id"] for r in c.json("GET", "/containers/json")}
        root_mounts = {os.path.realpath(os.path.join(self.daemon.root, "graph", "layers", cid, "merged"))
                       for cid in running}
        stray = [m for m in mounts_under(self.workdir) if m not in root_mounts
                 and not any(m.startswith(r + "/") for r in root_mounts)]
        assert not stray, f"mounts left: {stray}"
        cgroups = _cgroup_dirs_named(self.seen_ids - set(running))
        assert not cgroups, f"cgroups left: {cgroups}"
        veths = set(_links_on(self.daemon.bridge))
        wanted = {v for v in map(self.saved_veth, running) if v}
        assert veths == wanted, f"veths on {self.daemon.bridge}: extra {veths - wanted}, missing {wanted - veths}"
        for name, veth in self.live_veths.items():
            assert self.saved_veth(c.inspect_container(name)["Id"]) == veth, name
        rules = set(iptables_lines_about(self.daemon.bridge))
        assert rules == self.iptables_baseline, f"iptables changed: {rules ^ self.iptables_baseline}"
        exec_state = os.path.join(self.workdir, "exec", "execdriver", "native")
        states = {n[:-5] for n in os.listdir(exec_state)} if os.path.isdir(exec_state) else set()
        assert states == set(running), f"exec state vs running: {states ^ set(running)}"
        assert _keeper_pid(self.workdir) == self.keeper_pid   # the same keeper throughout
        keeper = c.inspect_container("keeper")
        assert keeper["State"]["ExitCode"] == 3 and not keeper["State"]["Running"]
        assert self.docker("logs", "keeper").stdout == b"kept\n"
        self.refill_waiters()

    def saved_veth(self, cid: str) -> str:
        """The host end of a running container's veth ("" without a bridge endpoint)."""
        path = os.path.join(self.workdir, "exec", "endpoints", self.daemon.bridge, cid + ".json")
        try:
            with open(path) as f:
                return json.load(f)["veth"]
        except FileNotFoundError:
            return ""

    def refill_waiters(self) -> None:
        """Remove the used waiters and make new ones, when no crash point is armed."""
        if self.armed:
            assert self.waiters, "the pool of waiters ran dry: make WAITER_POOL larger"
            return
        if self.used:
            self.docker("rm", *self.used)
            self.used = []
        while len(self.waiters) < WAITER_POOL:
            self.made_waiters += 1
            name, code = f"live-waiter-{self.made_waiters}", self.made_waiters % 120 + 1
            home = os.path.join(self.workdir, "waiters", name)
            os.makedirs(home)
            os.mkfifo(os.path.join(home, "go"))
            self.docker("run", "-d", "--name", name, "--network", "none", "-v", f"{home}:/w",
                        "-e", f"CODE={code}", "busybox", "sh", "-c", WAITER)
            self.waiters.append((name, self.daemon.client().inspect_container(name)["State"]["Pid"], code))

    def start_live(self) -> None:
        """LIVE_COUNT containers that run through the suite, the waiter, and the baselines."""
        for i in range(LIVE_COUNT):
            name = f"live-{i}"
            if i < COUNTERS:
                self.docker("run", "-d", "--name", name, "busybox", "sh", "-c", COUNTER)
                self.counted[name] = 0
            elif i == COUNTERS:
                self.docker("run", "-d", "--name", name, "-p", "127.0.0.1::80", "busybox", "sh", "-c", WEB)
            else:
                self.docker("run", "-d", "--name", name, "busybox", "sleep", "100000")
        c = self.daemon.client()
        for i in range(LIVE_COUNT):
            info = c.inspect_container(f"live-{i}")
            self.live[f"live-{i}"] = info["State"]["Pid"]
            self.seen_ids.add(info["Id"])
            self.live_veths[f"live-{i}"] = self.saved_veth(info["Id"])
        self.web_port = int(c.inspect_container(f"live-{COUNTERS}")["NetworkSettings"]["Ports"]["80/tcp"][0]
                            ["HostPort"])
        wait_for(lambda: _get(self.web_port) == b"up\n")
        self.keeper_pid = _keeper_pid(self.workdir)
        self.refill_waiters()

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
        self.note_running()
        action(prepared)    # the operation, done again after the crashes, works
        self.may_vanish = set()
        self.running_before = {}
        self.release_waiter()
        self.check()
        self.undo(name)
        STATS["operations"].append(name)

    def restart(self, crash_at: str) -> None:
        self.daemon.stop()
        self.start(crash_at)

    def undo(self, name: str) -> None:
        """Back to the baseline after the measured run (no crash)."""
        if name in ("commit", "load", "import", "pull", "build"):
            for image in sorted(self.images_now() - self.images_baseline):
                self.docker("rmi", "-f", image, check=False)
        doomed = [c["Id"] for c in self.daemon.client().json("GET", "/containers/json", {"all": 1})
                  if c["Names"] != ["/keeper"] and not c["Names"][0].startswith(("/base", "/live-"))]
        if doomed:
            self.docker("rm", "-f", *doomed)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:   # gone (ENOENT), or going while read (ESRCH)
        return False


def _open_writer(fifo: str) -> int | None:
    """The write end of a FIFO once its reader has it open (None before)."""
    try:
        fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
    except OSError:   # ENXIO: no reader yet
        return None
    os.set_blocking(fd, True)
    return fd


def _keeper_pid(workdir: str) -> int:
    with open(os.path.join(workdir, "exec", "keeper.pid")) as f:
        return int(f.read())


def _get(port: int) -> bytes:
    """The page, or b"" while the server is not up yet (the proxy closes at once then)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=10) as r:
            return r.read()
    except (OSError, http.client.HTTPException):
        return b""


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
        lab.start_live()
        lab.iptables_baseline = set(iptables_lines_about(d.bridge))
        lab.images_baseline = lab.images_now()
        yield lab
    finally:
        try:
            every = [c["Id"] for c in lab.daemon.client().json("GET", "/containers/json", {"all": 1})]
            lab.docker("rm", "-f", *every, check=False)
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
        names = [n for n in names if not n.startswith("/live-")]
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
        doomed = [c["Id"] for c in lab.daemon.client().json("GET", "/containers/json", {"all": 1})
                  if c["Names"] != ["/keeper"] and not c["Names"][0].startswith("/live-")]
        lab.may_vanish = set(doomed)   # killed by the rm -f in progress: may be gone after the restart
        return doomed

    def action(_, check=True):
        lab.docker("rm", "-f", *every_container(), check=check)
        if check:
            assert every_container() == []

    def argv(_):
        return ["rm", "-f", *every_container()]

    lab.run("rm -f", ["rm-row-deleted:1", "rm-row-deleted:2", "rm-layers-removed:2",
                       "rm-row-deleted:3"],
            prepare, action, argv, lambda: None)


def test_the_suite_killed_pyctrd_at_least_50_times(lab):
    """Counted over the operations above (skipped when only some of them ran)."""
    if sorted(STATS["operations"]) != sorted(OPERATIONS):
        pytest.skip(f"only {STATS['operations']} of the operations ran")
    assert len(STATS["kills"]) >= MIN_KILLS, STATS["kills"]


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


def test_ready_means_ready_with_a_socket_passed_by_a_service_manager(tmp_path):
    """-H fd:// (systemd's socket activation): the socket listens before pyctrd starts, so
    readiness is READY=1 on NOTIFY_SOCKET, and it comes only once the daemon answers."""
    notify_path = str(tmp_path / "notify")
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(notify_path)
    notify.settimeout(60)
    passed_path = str(tmp_path / "activated.sock")
    passed = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    passed.bind(passed_path)
    passed.listen(16)
    d = DaemonProcess(str(tmp_path / "d"), ["--shutdown-timeout", "1"])
    os.makedirs(d.workdir, exist_ok=True)
    fd = passed.fileno()
    # What systemd does: the socket as fd 3, LISTEN_FDS=1, LISTEN_PID the daemon's own pid.
    wrapper = ("import os, sys; fd = int(sys.argv[1]); fd == 3 or (os.dup2(fd, 3), os.close(fd)); "
               "os.environ.update(LISTEN_PID=str(os.getpid()), LISTEN_FDS='1'); "
               "os.execv(sys.executable, [sys.executable, *sys.argv[2:]])")
    with open(d.log_path, "ab") as log:
        d.proc = subprocess.Popen(
            [sys.executable, "-c", wrapper, str(fd), "-m", "pyctr.engine.main", "-H", "fd://", "-g", d.root,
             "--exec-root", os.path.join(d.workdir, "exec"), "--bridge", d.bridge, "--bip", d.bip,
             "--default-registry", "none", "--live-restore=false"],
            stdout=log, stderr=subprocess.STDOUT, pass_fds=(fd,),
            env={**os.environ, "NOTIFY_SOCKET": notify_path})
    passed.close()   # the daemon has it now
    try:
        message = notify.recv(4096).decode()
        assert "READY=1" in message.split("\n") and f"MAINPID={d.proc.pid}" in message, message
        from pyctr.engine.client.api import Client
        assert Client(f"unix://{passed_path}").ping() == "OK"   # at once, no retry
    finally:
        notify.close()
        d.stop()
        left = d.leftovers()
        d.cleanup_by_force()
    assert not left, left
