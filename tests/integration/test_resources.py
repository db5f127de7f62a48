"""Resource limits, capabilities, devices, privileged mode, pids limit and pause,
on the real kernel, through the pyctr CLI, the real docker CLI and the API."""

from __future__ import annotations

import os
import re
import subprocess
import time

import pytest

from harness import cgroup_dirs, container_count, wait_for

from pyctr.engine.client.errors import APIError

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root and a real kernel")

DEFAULT_CAPS = 0xA80425FB        # Docker 1.2's default set as a capability mask
NET_RAW, NET_ADMIN, SYS_ADMIN, KILL = 13, 12, 21, 5


def text(result: subprocess.CompletedProcess) -> str:
    return result.stdout.decode() + result.stderr.decode()




def cap_sets(output: str) -> dict[str, int]:
    return {m[0]: int(m[1], 16) for m in re.findall(r"^Cap(\w+):\s+([0-9a-f]+)$", output, re.M)}


def own_permitted_caps() -> int:
    with open("/proc/self/status") as f:
        return cap_sets(f.read())["Prm"]






def swap_present() -> bool:
    with open("/proc/swaps") as f:
        return len(f.read().splitlines()) > 1


# ---- memory ----------------------------------------------------------------

def test_memory_limit_seen_inside_and_in_inspect(daemon):
    out = daemon.pyctr("run", "--name", "mem64", "-m", "64m", "busybox", "sh", "-c",
                       "cat /sys/fs/cgroup/memory/memory.limit_in_bytes "
                       "/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes")
    try:
        assert out.stdout.decode().split() == [str(64 << 20), str(128 << 20)]  # memsw: 2x, as Docker 1.2
        info = daemon.client().inspect_container("mem64")
        assert info["Config"]["Memory"] == info["HostConfig"]["Memory"] == 64 << 20
        assert daemon.docker("inspect", "-f", "{{.Config.Memory}}", "mem64").stdout.decode().strip() == str(64 << 20)
    finally:
        daemon.docker("rm", "mem64")


def test_memory_swap_through_the_docker_cli(daemon):
    # The docker CLI sends Memory and MemorySwap inside HostConfig even at v1.14.
    r = daemon.docker("run", "--rm", "-m", "32m", "--memory-swap", "96m", "busybox",
                      "cat", "/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes")
    assert r.stdout.decode().strip() == str(96 << 20)
    if not swap_present():   # accounted, but with no swap it changes nothing: say so
        assert "no swap" in r.stderr.decode()
    r = daemon.pyctr("run", "--rm", "-m", "32m", "--memory-swap", "-1", "busybox",
                     "cat", "/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes")
    assert int(r.stdout) > 1 << 60   # unlimited


def test_allocation_past_the_limit_is_oom_killed(daemon):
    # dd fills a 64 MiB buffer; the cgroup allows 16 MiB.
    r = daemon.docker("run", "--name", "oom", "-m", "16m", "busybox",
                      "dd", "if=/dev/zero", "of=/dev/null", "bs=64M", "count=1", check=False)
    try:
        assert r.returncode == 137, text(r)
        assert daemon.client().inspect_container("oom")["State"]["OOMKilled"] is True
        assert daemon.pyctr("inspect", "-f", "{{.State.OOMKilled}}", "oom").stdout.decode().strip() == "true"
        # The same allocation without a limit is not an OOM.
        daemon.docker("run", "--name", "no-oom", "busybox", "dd", "if=/dev/zero", "of=/dev/null",
                      "bs=64M", "count=1")
        assert daemon.client().inspect_container("no-oom")["State"]["OOMKilled"] is False
    finally:
        daemon.docker("rm", "-f", "oom", "no-oom", check=False)


# ---- cpu --------------------------------------------------------------------

COUNT_LOOP = ("while [ ! -e /s/go ]; do :; done; i=0; "
              "while [ ! -e /s/stop ]; do i=$((i+1)); done; echo $i")


def test_cpu_shares_split_one_cpu_about_two_to_one(daemon, tmp_path):
    shared = str(tmp_path)
    ids = {}
    for shares in ("1024", "512"):
        ids[shares] = daemon.pyctr("run", "-d", "-c", shares, "--cpuset", "0", "-v", f"{shared}:/s",
                                   "busybox", "sh", "-c", COUNT_LOOP).stdout.decode().strip()
    try:
        c = daemon.client()
        wait_for(lambda: all(c.inspect_container(i)["State"]["Running"] for i in ids.values()))
        open(os.path.join(shared, "go"), "w").close()
        time.sleep(4)
        open(os.path.join(shared, "stop"), "w").close()
        counts = {}
        for shares, cid in ids.items():
            assert c.wait(cid) == 0
            counts[shares] = int(daemon.docker("logs", cid).stdout)
        ratio = counts["1024"] / counts["512"]
        assert 1.4 <= ratio <= 2.8, counts
        info = c.inspect_container(ids["512"])
        assert info["Config"]["CpuShares"] == 512 and info["Config"]["Cpuset"] == "0"
        inside = daemon.pyctr("run", "--rm", "-c", "512", "--cpuset", "0", "busybox", "cat",
                              "/sys/fs/cgroup/cpu/cpu.shares", "/sys/fs/cgroup/cpuset/cpuset.cpus")
        assert inside.stdout.decode().split() == ["512", "0"]
    finally:
        daemon.docker("rm", "-f", *ids.values(), check=False)


# ---- capabilities -------------------------------------------------------------

def test_cap_drop_net_raw_stops_ping(daemon):
    ok = daemon.pyctr("run", "--rm", "busybox", "ping", "-c1", "127.0.0.1")
    assert "1 packets received" in ok.stdout.decode()
    for name in ("NET_RAW", "CAP_NET_RAW", "net_raw"):
        r = daemon.pyctr("run", "--rm", "--cap-drop", name, "busybox", "ping", "-c1", "127.0.0.1", check=False)
        assert r.returncode != 0
        assert re.search(r"permission denied|operation not permitted", text(r), re.I), text(r)
    r = daemon.docker("run", "--rm", "--cap-drop", "NET_RAW", "busybox", "ping", "-c1", "127.0.0.1", check=False)
    assert r.returncode != 0 and "permission denied" in text(r).lower()


def test_cap_add_net_admin(daemon):
    probes = (["ip", "addr", "add", "127.0.0.2/8", "dev", "lo"], ["ip", "link", "add", "x", "type", "bridge"])
    for probe in probes:
        r = daemon.pyctr("run", "--rm", "busybox", *probe, check=False)
        assert r.returncode != 0 and "not permitted" in text(r), text(r)
        daemon.pyctr("run", "--rm", "--cap-add", "NET_ADMIN", "busybox", *probe)
        daemon.docker("run", "--rm", "--cap-add", "CAP_NET_ADMIN", "busybox", *probe)


@pytest.mark.parametrize("flags, expected", [
    ([], DEFAULT_CAPS),
    (["--cap-drop", "NET_RAW"], DEFAULT_CAPS & ~(1 << NET_RAW)),
    (["--cap-add", "cap_net_admin", "--cap-drop", "CAP_KILL"], (DEFAULT_CAPS | 1 << NET_ADMIN) & ~(1 << KILL)),
    (["--cap-drop", "ALL", "--cap-add", "KILL"], 1 << KILL),
    (["--cap-add", "ALL"], None),                      # everything the daemon holds
    (["--cap-add", "ALL", "--cap-drop", "SYS_ADMIN"], None),
])
def test_capability_sets_are_consistent(daemon, flags, expected):
    r = daemon.pyctr("run", "--rm", *flags, "busybox", "grep", "^Cap", "/proc/self/status")
    sets = cap_sets(r.stdout.decode())
    if expected is None:
        expected = own_permitted_caps()
        if "SYS_ADMIN" in flags:
            expected &= ~(1 << SYS_ADMIN)
    assert sets["Bnd"] == sets["Prm"] == sets["Eff"] == expected, sets
    assert sets["Inh"] == sets["Amb"] == 0   # as Docker since 20.10.14


def test_non_root_user_has_no_effective_caps(daemon):
    sets = cap_sets(daemon.pyctr("run", "--rm", "-u", "nobody", "busybox", "grep", "^Cap",
                                 "/proc/self/status").stdout.decode())
    assert sets["Eff"] == sets["Prm"] == 0 and sets["Bnd"] == DEFAULT_CAPS


# ---- privileged ----------------------------------------------------------------

def test_privileged_mounts_and_gets_what_the_daemon_holds(daemon):
    mount = "mkdir -p /mnt && mount -t tmpfs none /mnt && echo mounted"
    r = daemon.pyctr("run", "--rm", "busybox", "sh", "-c", mount, check=False)
    assert r.returncode != 0 and "mounted" not in r.stdout.decode()
    r = daemon.pyctr("run", "--rm", "--privileged", "busybox", "sh", "-c",
                     mount + "; grep ^Cap /proc/self/status; grep -E ' /sys | /proc/sys' /proc/mounts;"
                     " cat /sys/fs/cgroup/devices/devices.list; ls /dev")
    out = r.stdout.decode()
    assert "mounted" in out
    sets = cap_sets(out)
    held = own_permitted_caps()
    assert sets["Bnd"] == sets["Prm"] == sets["Eff"] == held
    assert re.search(r"^sysfs /sys sysfs rw", out, re.M)        # not read-only
    assert " /proc/sys " not in out                             # no read-only /proc masks
    assert "a *:* rwm" in out                                   # every device allowed
    assert "fuse" in out.split() and "loop-control" in out.split()   # the host's nodes
    if not held >> 24 & 1:   # this machine: no CAP_SYS_RESOURCE to give
        assert "CAP_SYS_RESOURCE" in r.stderr.decode()
        created = daemon.client().json("POST", "/containers/create", body={
            "Image": "busybox", "Cmd": ["true"], "HostConfig": {"Privileged": True}})
        try:
            assert any("CAP_SYS_RESOURCE" in w for w in created["Warnings"])
        finally:
            daemon.client().remove_container(created["Id"])


def test_unprivileged_proc_and_sys_are_read_only(daemon):
    r = daemon.pyctr("run", "--rm", "busybox", "sh", "-c",
                     "grep -E ' /sys | /proc/sys ' /proc/mounts; echo 1 > /sys/fs/cgroup/memory/memory.swappiness",
                     check=False)
    assert re.search(r"^sysfs /sys sysfs ro", r.stdout.decode(), re.M)
    assert re.search(r" /proc/sys proc ro", r.stdout.decode())
    assert r.returncode != 0 and "Read-only file system" in r.stderr.decode()


# ---- devices ----------------------------------------------------------------------

def test_device_mapping_creates_and_allows_the_node(daemon):
    rdev = os.stat("/dev/fuse").st_rdev
    major, minor = os.major(rdev), os.minor(rdev)
    r = daemon.pyctr("run", "--rm", "--device", "/dev/fuse:/dev/myfuse:rwm", "busybox", "sh", "-c",
                     "ls -l /dev/myfuse; cat /sys/fs/cgroup/devices/devices.list; head -c1 /dev/myfuse",
                     check=False)
    out = text(r)
    assert re.search(rf"^c.* {major},\s+{minor} .*/dev/myfuse$", out, re.M), out
    assert f"c {major}:{minor} rwm" in out
    # Allowed: opening it reaches the fuse driver (EIO with no fuse session), not the cgroup's EPERM.
    assert "/dev/myfuse: Operation not permitted" not in out
    docker = daemon.docker("run", "--rm", "--device", "/dev/fuse:/dev/myfuse", "busybox", "ls", "/dev/myfuse")
    assert docker.stdout.decode().strip() == "/dev/myfuse"


def test_a_node_not_listed_is_denied(daemon):
    # mknod is allowed ("c *:* m"), using the node is not: /dev/mem is c 1:1.
    r = daemon.pyctr("run", "--rm", "busybox", "sh", "-c", "mknod /tmp/mem c 1 1 && head -c1 /tmp/mem",
                     check=False)
    assert r.returncode != 0 and "/tmp/mem: Operation not permitted" in r.stderr.decode()
    # ... while a listed one (/dev/zero, 1:5) made the same way works.
    r = daemon.pyctr("run", "--rm", "busybox", "sh", "-c", "mknod /tmp/z c 1 5 && head -c3 /tmp/z | wc -c")
    assert r.stdout.decode().strip() == "3"


# ---- pids ----------------------------------------------------------------------------

def test_pids_limit_bounds_a_fork_loop(daemon):
    # A bounded loop of 60 background sleeps against a limit of 20 tasks; builtins only
    # after the loop (no fork is left to spare).
    script = ("( for i in $(seq 60); do sleep 30 & done ) 2>/dev/null; "
              "read n < /sys/fs/cgroup/pids/pids.current; read m < /sys/fs/cgroup/pids/pids.max; "
              "while read k v; do [ $k = max ] && echo current=$n max=$m rejected=$v; done "
              "< /sys/fs/cgroup/pids/pids.events")
    for cli in (daemon.pyctr, daemon.docker):
        r = cli("run", "--rm", "--pids-limit", "20", "busybox", "sh", "-c", script)
        m = re.search(r"current=(\d+) max=(\d+) rejected=(\d+)", r.stdout.decode())
        assert m, text(r)
        current, limit, rejected = map(int, m.groups())
        assert limit == 20 and current <= 20 and rejected > 0
    cid = daemon.docker("create", "--pids-limit", "7", "busybox", "true").stdout.decode().strip()
    try:
        assert daemon.client().inspect_container(cid)["HostConfig"]["PidsLimit"] == 7
    finally:
        daemon.docker("rm", cid)


# ---- pause -------------------------------------------------------------------------------

def freezer_state(pid: int) -> str:
    with open(f"/proc/{pid}/cgroup") as f:
        for line in f:
            _, controllers, path = line.strip().split(":", 2)
            if "freezer" in controllers.split(","):
                with open(f"/sys/fs/cgroup/freezer{path}/freezer.state") as g:
                    return g.read().strip()
            if controllers == "" and os.path.exists(f"/sys/fs/cgroup/unified{path}/cgroup.freeze"):
                with open(f"/sys/fs/cgroup/unified{path}/cgroup.freeze") as g:
                    return "FROZEN" if g.read().strip() == "1" else "THAWED"
    raise AssertionError("no freezer cgroup")


TRAP_TERM = 'trap "echo got-term; exit 3" TERM; while true; do sleep 0.1; done'


def test_pause_unpause_state_and_ps(daemon):
    c = daemon.client()
    daemon.pyctr("run", "-d", "--name", "p1", "busybox", "sh", "-c", TRAP_TERM)
    try:
        pid = c.inspect_container("p1")["State"]["Pid"]
        daemon.pyctr("pause", "p1")
        assert c.inspect_container("p1")["State"]["Paused"] is True
        assert freezer_state(pid) == "FROZEN"
        assert "(Paused)" in daemon.pyctr("ps").stdout.decode()
        assert "(Paused)" in daemon.docker("ps").stdout.decode()
        r = daemon.pyctr("pause", "p1", check=False)
        assert r.returncode != 0 and "already paused" in text(r)
        daemon.docker("unpause", "p1")
        assert c.inspect_container("p1")["State"]["Paused"] is False
        assert freezer_state(pid) == "THAWED"
        assert "(Paused)" not in daemon.pyctr("ps").stdout.decode()
        r = daemon.pyctr("unpause", "p1", check=False)
        assert r.returncode != 0 and "not paused" in text(r)
    finally:
        daemon.docker("rm", "-f", "p1", check=False)


def test_stop_of_a_paused_container_delivers_term(daemon):
    c = daemon.client()
    daemon.pyctr("run", "-d", "--name", "p2", "busybox", "sh", "-c", TRAP_TERM)
    try:
        daemon.pyctr("pause", "p2")
        daemon.docker("stop", "-t", "10", "p2")
        state = c.inspect_container("p2")["State"]
        assert (state["Running"], state["Paused"], state["ExitCode"]) == (False, False, 3)
        assert "got-term" in daemon.docker("logs", "p2").stdout.decode()
    finally:
        daemon.docker("rm", "-f", "p2", check=False)


def test_kill_of_a_paused_container(daemon):
    c = daemon.client()
    daemon.pyctr("run", "-d", "--name", "p3", "busybox", "sleep", "1000")
    try:
        daemon.pyctr("pause", "p3")
        daemon.pyctr("kill", "p3")
        state = c.inspect_container("p3")["State"]
        assert (state["Running"], state["Paused"], state["ExitCode"]) == (False, False, 137)
        daemon.pyctr("start", "p3")   # and it starts again, not frozen
        assert c.inspect_container("p3")["State"]["Paused"] is False
        daemon.pyctr("pause", "p3")
        daemon.pyctr("rm", "-f", "p3")
    finally:
        daemon.docker("rm", "-f", "p3", check=False)


# ---- bad input: 400 at create, nothing left behind ---------------------------------

BAD_HOST_CONFIGS = [
    ({"CapAdd": ["FLY"]}, "Unknown capability: FLY"),
    ({"CapDrop": ["CAP_NOPE"]}, "Unknown capability: CAP_NOPE"),
    ({"Devices": [{"PathOnHost": "/dev/does-not-exist", "PathInContainer": "/dev/x",
                   "CgroupPermissions": "rwm"}]}, "no such file or directory"),
    ({"Devices": [{"PathOnHost": "/etc/hostname", "PathInContainer": "/dev/x",
                   "CgroupPermissions": "rwm"}]}, "not a device node"),
    ({"Devices": [{"PathOnHost": "/dev/null", "PathInContainer": "/dev/x",
                   "CgroupPermissions": "rwx"}]}, "Invalid device permissions"),
    ({"CpusetCpus": "0-4096"}, "Requested CPUs are not available"),
    ({"CpusetCpus": "zero"}, "Invalid cpuset"),
    ({"Memory": 1024 * 1024}, "Minimum memory limit allowed is 4MB"),
    ({"Memory": 64 << 20, "MemorySwap": 32 << 20}, "memoryswap limit should be larger"),
    ({"MemorySwap": 64 << 20}, "always set the Memory limit"),
    ({"CpuShares": -5}, "Invalid CPU shares"),
    ({"RestartPolicy": {"Name": "sometimes"}}, "Invalid restart policy"),
    ({"RestartPolicy": {"Name": "always", "MaximumRetryCount": 3}}, "only be used with the on-failure"),
]


@pytest.mark.parametrize("host_config, message", BAD_HOST_CONFIGS)
def test_bad_limits_are_400_at_create_and_leave_nothing(daemon, host_config, message):
    before = container_count(daemon)
    layers = os.listdir(os.path.join(daemon.root, "containers"))
    with pytest.raises(APIError) as err:
        daemon.client().json("POST", "/containers/create", body={
            "Image": "busybox", "Cmd": ["true"], "HostConfig": host_config})
    assert err.value.status == 400 and message in err.value.message, err.value
    assert container_count(daemon) == before
    assert os.listdir(os.path.join(daemon.root, "containers")) == layers


def test_bad_limits_through_the_clis(daemon):
    before = container_count(daemon)
    cases = [
        (daemon.docker, ["--device", "/dev/does-not-exist"], "no such file or directory"),
        (daemon.pyctr, ["--cap-add", "FLY"], "Unknown capability: CAP_FLY"),   # as docker 28 sends it
        (daemon.docker, ["--cpuset-cpus", "0-4096"], "Requested CPUs are not available"),
        (daemon.pyctr, ["--cpuset", "0-4096"], "Requested CPUs are not available"),
        (daemon.pyctr, ["-m", "1m"], "Minimum memory limit allowed is 4MB"),
        (daemon.pyctr, ["--restart", "on-failure:x"], "maximum retry count must be an integer"),   # docker 28s words
        (daemon.pyctr, ["--restart", "sometimes"], "restart policy"),
        (daemon.docker, ["--restart", "sometimes"], "restart policy"),
    ]
    for cli, flags, message in cases:
        r = cli("create", *flags, "busybox", "true", check=False)
        assert r.returncode != 0 and message in text(r), (flags, text(r))
    assert container_count(daemon) == before


def test_cgroups_are_removed_after_exit(daemon):
    cid = daemon.docker("run", "-d", "-m", "32m", "-c", "256", "--cpuset-cpus", "0", "--pids-limit", "50",
                        "busybox", "true").stdout.decode().strip()
    try:
        daemon.docker("wait", cid)
        wait_for(lambda: not cgroup_dirs(cid))
    finally:
        daemon.docker("rm", "-f", cid, check=False)


def test_etc_files_are_writable(daemon):
    r = daemon.pyctr("run", "--rm", "-h", "box", "busybox", "sh", "-c",
                     "echo 1.2.3.4 extra >> /etc/hosts && echo other > /etc/hostname && "
                     "echo 'search x' >> /etc/resolv.conf && cat /etc/hosts /etc/hostname /etc/resolv.conf")
    out = r.stdout.decode()
    assert "1.2.3.4 extra" in out and "other" in out and "search x" in out


def test_cpu_lists_and_host_support():
    from pyctr.engine.libcontainer import cgroups
    assert cgroups.parse_cpu_list("0-2,5") == {0, 1, 2, 5}
    assert cgroups.parse_cpu_list("3") == {3}
    for bad in ("2-1", "a", "1-"):
        with pytest.raises(ValueError):
            cgroups.parse_cpu_list(bad)
    support = cgroups.host_support()
    assert support.cpus and support.cpus <= set(range(os.cpu_count() or 1))
    if support.driver == "v1":
        assert support.memory and support.devices and support.freezer
