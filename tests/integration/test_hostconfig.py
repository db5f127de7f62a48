"""HostConfig options of API 1.25-1.41 on the real kernel, through the docker CLI 28 and
docker-py 7: each one's effect seen from inside the container (its cgroup files,
/etc/hosts, `id -G`, `ulimit -n`, /proc/self/oom_score_adj ...) and in inspect; bad
input refused with Docker's message and nothing created; `docker update` on a running
container; a failed start ends with `die`."""

from __future__ import annotations

import json
import os
import subprocess
import threading

import docker
import pytest

from harness import container_count, wait_for

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root and a real kernel")

CG = "/sys/fs/cgroup"


def out(result: subprocess.CompletedProcess) -> str:
    return result.stdout.decode().strip()


def run(daemon, *args: str) -> str:
    """`docker run --rm busybox ...` -> its stdout."""
    return out(daemon.docker("run", "--rm", *args))


def refused(daemon, *args: str) -> str:
    """A `docker run` that must be refused at create: its error, nothing made."""
    before = container_count(daemon)
    r = daemon.docker("run", "--rm", *args, check=False)
    assert r.returncode != 0, out(r)
    assert container_count(daemon) == before
    return r.stderr.decode()


@pytest.fixture(scope="module")
def api(daemon):
    client = docker.DockerClient(base_url=daemon.host, version="1.41")
    yield client
    client.close()


def block_device() -> str | None:
    with open("/proc/partitions") as f:
        for line in f.read().splitlines()[2:]:
            name = line.split()[-1]
            if os.path.exists(f"/dev/{name}") and os.path.exists(f"/sys/block/{name}"):
                return f"/dev/{name}"
    return None


# ---- /etc/hosts, resolv.conf ----------------------------------------------------------

def test_add_host_lands_in_etc_hosts(daemon, api):
    hosts = run(daemon, "--add-host", "db.example:10.1.2.3", "--add-host", "gw:host-gateway",
                "busybox", "cat", "/etc/hosts")
    assert "10.1.2.3\tdb.example" in hosts
    gateway = [l for l in hosts.splitlines() if l.endswith("\tgw")]
    assert gateway and gateway[0].split("\t")[0].count(".") == 3
    c = api.containers.run("busybox", "cat /etc/hosts", extra_hosts={"api.example": "10.9.8.7"},
                           detach=True)
    try:
        c.wait()
        assert "10.9.8.7\tapi.example" in c.logs().decode()
        assert c.attrs["HostConfig"]["ExtraHosts"] == ["api.example:10.9.8.7"]
    finally:
        c.remove()


def test_dns_option_lands_in_resolv_conf(daemon):
    text = run(daemon, "--dns", "10.0.0.53", "--dns-option", "ndots:3", "--dns-option", "timeout:2",
               "busybox", "cat", "/etc/resolv.conf")
    assert "nameserver 10.0.0.53" in text
    assert "options ndots:3 timeout:2" in text


# ---- namespaces -----------------------------------------------------------------------

def test_pid_host_sees_host_processes(daemon):
    # pid 1 of the host's namespace is visible, and the container's shell is not pid 1
    text = run(daemon, "--pid", "host", "busybox", "sh", "-c", "echo $$; cat /proc/1/comm")
    pid, comm = text.splitlines()
    assert int(pid) != 1
    with open("/proc/1/comm") as f:
        assert comm == f.read().strip()
    assert int(run(daemon, "busybox", "sh", "-c", "echo $$")) == 1


def test_pid_container_shares_the_other_namespace(daemon, api):
    daemon.docker("run", "-d", "--name", "pidtarget", "busybox", "sleep", "1000")
    try:
        ps = run(daemon, "--pid", "container:pidtarget", "busybox", "ps", "-o", "comm")
        assert "sleep" in ps.split()
        assert api.api.inspect_container("pidtarget")["HostConfig"]["PidMode"] == ""
    finally:
        daemon.docker("rm", "-f", "pidtarget")


def test_pid_mode_conflicts_and_missing_targets_are_refused(daemon, api):
    # The CLI keeps the last --pid; docker-py sends what it is given: the daemon checks.
    with pytest.raises(docker.errors.APIError) as e:
        api.api.create_container("busybox", "true", host_config={"PidMode": "host container:x"})
    assert e.value.status_code == 400 and "invalid PID mode" in str(e.value)
    err = refused(daemon, "--pid", "container:no-such-ctr", "busybox", "true")
    assert "No such container" in err


def test_uts_host_keeps_the_host_name(daemon):
    assert run(daemon, "--uts", "host", "busybox", "hostname") == os.uname().nodename
    err = refused(daemon, "--uts", "host", "-h", "other", "busybox", "true")
    assert "Conflicting options: hostname and the UTS mode" in err


def _ipc_ns(pid: int) -> str:
    return os.readlink(f"/proc/{pid}/ns/ipc")


def test_ipc_modes(daemon, api):
    own = os.readlink("/proc/self/ns/ipc")
    # host: the host's IPC namespace and /dev/shm
    c = api.containers.run("busybox", "sleep 1000", ipc_mode="host", detach=True)
    try:
        assert _ipc_ns(c.attrs["State"]["Pid"] or api.api.inspect_container(c.id)["State"]["Pid"]) == own
    finally:
        c.remove(force=True)
    # shareable + container: the same namespace and the same /dev/shm
    daemon.docker("run", "-d", "--name", "ipcdonor", "--ipc", "shareable", "busybox", "sh", "-c",
                  "echo shared > /dev/shm/token; sleep 1000")
    try:
        donor = api.api.inspect_container("ipcdonor")
        assert donor["HostConfig"]["IpcMode"] == "shareable"
        wait_for(lambda: api.containers.get("ipcdonor").exec_run("cat /dev/shm/token").output == b"shared\n")
        text = run(daemon, "--ipc", "container:ipcdonor", "busybox", "sh", "-c",
                   "cat /dev/shm/token; readlink /proc/self/ns/ipc")
        token, ns = text.splitlines()
        assert token == "shared" and ns == _ipc_ns(donor["State"]["Pid"])
        # a private one cannot be joined
        daemon.docker("run", "-d", "--name", "ipcprivate", "busybox", "sleep", "1000")
        try:
            assert api.api.inspect_container("ipcprivate")["HostConfig"]["IpcMode"] == "private"
            r = daemon.docker("run", "--rm", "--ipc", "container:ipcprivate", "busybox", "true", check=False)
            assert r.returncode != 0 and "non-shareable IPC" in r.stderr.decode()
        finally:
            daemon.docker("rm", "-f", "ipcprivate")
    finally:
        daemon.docker("rm", "-f", "ipcdonor")
    assert not [l for l in open("/proc/self/mountinfo") if "/shm " in l and daemon.root in l]
    assert "invalid IPC mode" in refused(daemon, "--ipc", "bogus", "busybox", "true")


def test_userns_is_refused_clearly(daemon, api):
    # the docker CLI allows only "host"; the API takes any name
    with pytest.raises(docker.errors.APIError) as e:
        api.api.create_container("busybox", "true", host_config={"UsernsMode": "private"})
    assert e.value.status_code == 400 and "HostConfig.UsernsMode is not supported by pyctr" in str(e.value)
    run(daemon, "--userns", "host", "busybox", "true")   # what every container is


# ---- identity and kernel settings -----------------------------------------------------

def test_group_add(daemon, api):
    assert run(daemon, "--group-add", "staff", "--group-add", "1234", "busybox", "id", "-G").split() == \
        ["0", "50", "1234"]
    c = api.containers.run("busybox", "id -G", group_add=["tty"], user="daemon", detach=True)
    try:
        c.wait()
        assert c.logs().decode().split() == ["1", "5", "50"]
    finally:
        c.remove()
    r = daemon.docker("run", "--rm", "--group-add", "no-such-group", "busybox", "true", check=False)
    assert r.returncode == 1 and "Unable to find group no-such-group" in r.stderr.decode()


def test_ulimit(daemon, api):
    assert run(daemon, "--ulimit", "nofile=512:1024", "busybox", "sh", "-c", "ulimit -n; ulimit -Hn") \
        .split() == ["512", "1024"]
    c = api.containers.run("busybox", "sh -c 'ulimit -c'", detach=True,
                           ulimits=[docker.types.Ulimit(name="core", soft=0, hard=0)])
    try:
        c.wait()
        assert c.logs().decode().strip() == "0"
        assert c.attrs["HostConfig"]["Ulimits"] == [{"Name": "core", "Soft": 0, "Hard": 0}]
    finally:
        c.remove()
    with pytest.raises(docker.errors.APIError) as e:
        api.api.create_container("busybox", "true", host_config={
            "Ulimits": [{"Name": "nofile", "Soft": 2048, "Hard": 1024}]})
    assert e.value.status_code == 400
    assert "ulimit soft limit must be less than or equal to hard limit: 2048 > 1024" in str(e.value)


def test_oom_score_adj(daemon):
    assert run(daemon, "--oom-score-adj", "500", "busybox", "cat", "/proc/self/oom_score_adj") == "500"
    assert "range for oom score adj is [-1000, 1000]" in refused(
        daemon, "--oom-score-adj", "1001", "busybox", "true")


def test_sysctls(daemon, api):
    with open("/proc/sys/kernel/shmmni") as f:
        host_shmmni = f.read().strip()
    text = run(daemon, "--sysctl", "net.ipv4.ip_forward=1", "--sysctl", "kernel.shmmni=2048",
               "--sysctl", "net.ipv4.conf.all.rp_filter=2", "busybox", "cat",
               "/proc/sys/net/ipv4/ip_forward", "/proc/sys/kernel/shmmni",
               "/proc/sys/net/ipv4/conf/all/rp_filter")
    assert text.split() == ["1", "2048", "2"]
    with open("/proc/sys/kernel/shmmni") as f:
        assert f.read().strip() == host_shmmni   # the container's own IPC namespace took it
    for host_config, message in (
            ({"Sysctls": {"kernel.hostname": "x"}}, "is not whitelisted"),
            ({"Sysctls": {"vm.swappiness": "10"}}, "is not whitelisted"),
            ({"Sysctls": {"net.ipv4.ip_forward": "1"}, "NetworkMode": "host"},
             "not allowed in host network namespace"),
            ({"Sysctls": {"kernel.shmmni": "1"}, "IpcMode": "host"}, "shares its IPC namespace"),
            ({"Sysctls": {"net.ipv4.no_such_thing": "1"}}, "is not known to this kernel")):
        with pytest.raises(docker.errors.APIError) as e:
            api.api.create_container("busybox", "true", host_config=host_config)
        assert e.value.status_code == 400 and message in str(e.value), host_config


def test_sysctls_of_the_containers_own_interfaces(daemon):
    """Written once eth0 is in, as Docker writes them after its network setup; an interface
    the container does not have fails the start with the reason and leaves it stopped."""
    text = run(daemon, "--sysctl", "net.ipv4.conf.eth0.route_localnet=1", "--sysctl",
               "net.ipv6.conf.eth0.disable_ipv6=1", "--sysctl", "net.ipv4.conf.all.rp_filter=2", "busybox",
               "cat", "/proc/sys/net/ipv4/conf/eth0/route_localnet", "/proc/sys/net/ipv6/conf/eth0/disable_ipv6",
               "/proc/sys/net/ipv4/conf/all/rp_filter")
    assert text.split() == ["1", "1", "2"]
    r = daemon.docker("run", "--name", "sysctl-noif", "--sysctl", "net.ipv4.conf.eth7.route_localnet=1",
                      "busybox", "true", check=False)
    try:
        assert r.returncode != 0 and b"net.ipv4.conf.eth7.route_localnet=1" in r.stderr, r.stderr
        state = json.loads(daemon.docker("inspect", "sysctl-noif").stdout)[0]["State"]
        assert not state["Running"]
    finally:
        daemon.docker("rm", "-f", "sysctl-noif", check=False)


def test_shm_size(daemon, api):
    df = run(daemon, "--shm-size", "16m", "busybox", "df", "-k", "/dev/shm").splitlines()[-1].split()
    assert df[1] == str(16 * 1024)
    c = api.containers.create("busybox", "true")
    try:
        assert c.attrs["HostConfig"]["ShmSize"] == 64 << 20   # Docker's default, shown
    finally:
        c.remove()


def test_readonly_rootfs_and_caps_all(daemon):
    r = daemon.docker("run", "--rm", "--read-only", "busybox", "touch", "/x", check=False)
    assert r.returncode != 0 and "Read-only file system" in r.stderr.decode()
    caps = run(daemon, "--cap-drop", "ALL", "--cap-add", "CHOWN", "busybox", "grep", "CapEff", "/proc/self/status")
    assert caps.split()[1] == "0000000000000001"


# ---- cgroup resources -----------------------------------------------------------------

def v1() -> bool:
    return os.path.isdir(f"{CG}/memory") and os.path.exists(f"{CG}/memory/memory.limit_in_bytes")


def test_cpus_period_quota(daemon, api):
    if v1():
        assert run(daemon, "--cpus", "0.5", "busybox", "cat", f"{CG}/cpu/cpu.cfs_period_us",
                   f"{CG}/cpu/cpu.cfs_quota_us").split() == ["100000", "50000"]
        assert run(daemon, "--cpu-period", "50000", "--cpu-quota", "25000", "busybox", "cat",
                   f"{CG}/cpu/cpu.cfs_period_us", f"{CG}/cpu/cpu.cfs_quota_us").split() == ["50000", "25000"]
    c = api.containers.create("busybox", "true", nano_cpus=1_500_000_000)
    try:
        assert c.attrs["HostConfig"]["NanoCpus"] == 1_500_000_000
    finally:
        c.remove()
    assert "Nano CPUs and CPU Period cannot both be set" in refused(
        daemon, "--cpus", "1", "--cpu-period", "50000", "busybox", "true")
    assert "Range of CPUs is from 0.01 to" in refused(daemon, "--cpus", "512", "busybox", "true")
    assert "CPU cfs period can not be less than 1ms" in refused(daemon, "--cpu-period", "10", "busybox", "true")


def test_memory_reservation_swappiness_oom_kill_disable(daemon, api):
    if not v1():
        pytest.skip("cgroup v1 files")
    text = run(daemon, "-m", "64m", "--memory-reservation", "32m", "--memory-swappiness", "10",
               "--oom-kill-disable", "busybox", "sh", "-c",
               f"cat {CG}/memory/memory.soft_limit_in_bytes {CG}/memory/memory.swappiness; "
               f"grep oom_kill_disable {CG}/memory/memory.oom_control")
    assert text.split() == [str(32 << 20), "10", "oom_kill_disable", "1"]
    assert "Minimum memory limit can not be less than memory reservation limit" in refused(
        daemon, "-m", "16m", "--memory-reservation", "32m", "busybox", "true")
    with pytest.raises(docker.errors.APIError) as e:
        api.api.create_container("busybox", "true", host_config={"MemorySwappiness": 101})
    assert "valid memory swappiness range is 0-100" in str(e.value)


def test_kernel_memory_refused(daemon, api):
    with pytest.raises(docker.errors.APIError) as e:
        api.api.create_container("busybox", "true", host_config={"KernelMemory": 64 << 20})
    assert e.value.status_code == 400 and "KernelMemory" in str(e.value)


def test_cpuset_mems_and_pids_limit(daemon):
    if not v1():
        pytest.skip("cgroup v1 files")
    assert run(daemon, "--cpuset-mems", "0", "--pids-limit", "42", "busybox", "cat",
               f"{CG}/cpuset/cpuset.mems", f"{CG}/pids/pids.max").split() == ["0", "42"]
    assert "Requested memory nodes are not available" in refused(
        daemon, "--cpuset-mems", "7", "busybox", "true")


def test_blkio(daemon):
    dev = block_device()
    if dev is None or not v1():
        pytest.skip("no block device or no cgroup v1 blkio")
    rdev = os.stat(dev).st_rdev
    numbers = f"{os.major(rdev)}:{os.minor(rdev)}"
    text = run(daemon, "--device-read-bps", f"{dev}:1mb", "--device-write-iops", f"{dev}:100",
               "busybox", "cat", f"{CG}/blkio/blkio.throttle.read_bps_device",
               f"{CG}/blkio/blkio.throttle.write_iops_device")
    assert text.split() == [numbers, str(1 << 20), numbers, "100"]
    weight = run(daemon, "--blkio-weight", "300", "busybox", "sh", "-c",
                 f"cat {CG}/blkio/blkio.weight 2>/dev/null || cat {CG}/blkio/blkio.bfq.weight")
    assert weight.split()[-1] == "300"
    assert "Range of blkio weight is from 10 to 1000" in refused(
        daemon, "--blkio-weight", "5", "busybox", "true")
    assert "error gathering device information" in refused(
        daemon, "--device-read-bps", "/dev/nonexistent-disk:1mb", "busybox", "true")


def test_device_cgroup_rules_and_devices(daemon):
    if not v1():
        pytest.skip("cgroup v1 device whitelist")
    text = run(daemon, "--device-cgroup-rule", "c 42:* rmw", "--device", "/dev/null:/dev/mynull",
               "busybox", "sh", "-c", f"cat {CG}/devices/devices.list; ls /dev/mynull")
    assert "c 42:* rwm" in text and "/dev/mynull" in text
    assert "invalid device cgroup format" in refused(
        daemon, "--device-cgroup-rule", "x 1:2 r", "busybox", "true")
    assert "error gathering device information" in refused(
        daemon, "--device", "/dev/no-such-device", "busybox", "true")


# ---- update ---------------------------------------------------------------------------

def test_update_running_container(daemon, api):
    daemon.docker("run", "-d", "--name", "upd", "-m", "64m", "busybox", "sleep", "1000")
    try:
        c = api.containers.get("upd")
        pid = c.attrs["State"]["Pid"]

        def cgroup_file(ctrl: str, name: str) -> str:
            path = [l.split(":")[2] for l in open(f"/proc/{pid}/cgroup").read().splitlines()
                    if l.split(":")[1] == ctrl][0]
            return open(f"{CG}/{ctrl}{path}/{name}").read().strip()

        daemon.docker("update", "-m", "128m", "--memory-swap", "256m", "--cpus", "0.5",
                      "--cpuset-cpus", "0", "--pids-limit", "50", "--restart", "on-failure:3", "upd")
        if v1():
            assert cgroup_file("memory", "memory.limit_in_bytes") == str(128 << 20)
            assert cgroup_file("memory", "memory.memsw.limit_in_bytes") == str(256 << 20)
            assert cgroup_file("cpu", "cpu.cfs_quota_us") == "50000"
            assert cgroup_file("cpuset", "cpuset.cpus") == "0"
            assert cgroup_file("pids", "pids.max") == "50"
        info = api.api.inspect_container("upd")["HostConfig"]
        assert info["Memory"] == 128 << 20 and info["NanoCpus"] == 500_000_000
        assert info["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 3}
        result = api.api.update_container("upd", mem_limit="96m", cpu_shares=512)
        assert "Warnings" in result
        if v1():
            assert cgroup_file("memory", "memory.limit_in_bytes") == str(96 << 20)
            assert cgroup_file("cpu", "cpu.shares") == "512"
        with pytest.raises(docker.errors.APIError) as e:
            api.api.update_container("upd", cpu_period=50000)
        assert e.value.status_code == 400
        assert "CPU Period cannot be updated as NanoCPUs has already been set" in str(e.value)
        with pytest.raises(docker.errors.APIError) as e:
            api.api.update_container("upd", blkio_weight=5)
        assert e.value.status_code == 400 and "Range of blkio weight" in str(e.value)
        with pytest.raises(docker.errors.APIError) as e:
            api.api.update_container("upd", kernel_memory="64m")
        assert e.value.status_code == 400
        assert api.api.inspect_container("upd")["HostConfig"]["Memory"] == 96 << 20   # unchanged
    finally:
        daemon.docker("rm", "-f", "upd")


def test_update_stopped_container_applies_at_start(daemon):
    daemon.docker("create", "--name", "updstop", "busybox", "cat", f"{CG}/pids/pids.max")
    try:
        daemon.docker("update", "--pids-limit", "33", "updstop")
        if v1():
            assert out(daemon.docker("start", "-a", "updstop")) == "33"
    finally:
        daemon.docker("rm", "-f", "updstop")


# ---- the refusal of what pyctr does not apply -----------------------------------------

@pytest.mark.parametrize("host_config, field", [
    ({"Isolation": "hyperv"}, "HostConfig.Isolation"),
    ({"CgroupnsMode": "private"}, "HostConfig.CgroupnsMode"),
    ({"Runtime": "runc"}, "HostConfig.Runtime"),
    ({"CpuRealtimeRuntime": 1000}, "HostConfig.CpuRealtimeRuntime"),
    ({"MaskedPaths": ["/proc/x"]}, "HostConfig.MaskedPaths"),
    ({"Annotations": {"a": "b"}}, "HostConfig.Annotations"),
])
def test_fields_pyctr_does_not_apply_are_400(daemon, api, host_config, field):
    before = container_count(daemon)
    with pytest.raises(docker.errors.APIError) as e:
        api.api.create_container("busybox", "true", host_config=host_config)
    assert e.value.status_code == 400
    assert f"{field} is not supported by pyctr" in str(e.value)
    assert container_count(daemon) == before


def test_empty_values_every_cli_sends_pass(daemon, api):
    # docker CLI 28 sends nearly every field, empty (and Isolation "" / MemorySwappiness -1)
    run(daemon, "busybox", "true")
    api.containers.create("busybox", "true").remove()
    api.api.create_container("busybox", "true", name="isolation-default",
                             host_config={"Isolation": "default", "CgroupnsMode": "host"})
    api.api.remove_container("isolation-default")


# ---- a failed start ends -------------------------------------------------------------

def test_failed_start_emits_die_and_rm_returns(daemon, api):
    events: list[dict] = []
    since = out(daemon.docker("version", "-f", "{{.Server.Version}}"))  # the daemon answers
    assert since
    # --ipc container: of a stopped container fails at start, after create
    daemon.docker("create", "--name", "stoppeddonor", "--ipc", "shareable", "busybox", "true")
    try:
        stream = api.events(decode=True, filters={"container": "failstart"})
        collected = threading.Thread(target=lambda: [events.append(e) for e in stream], daemon=True)
        collected.start()
        r = daemon.docker("run", "--rm", "--name", "failstart", "--ipc", "container:stoppeddonor",
                          "busybox", "true", check=False, timeout=60)
        assert r.returncode != 0
        assert "non running container" in r.stderr.decode()
        wait_for(lambda: {"die", "destroy"} <= {e.get("Action") for e in events})
        stream.close()
        assert not [c for c in api.containers.list(all=True) if c.name == "failstart"]
    finally:
        daemon.docker("rm", "-f", "stoppeddonor")


# ---- inspect ------------------------------------------------------------------------

def test_inspect_shows_the_new_host_config_fields(daemon, api):
    """Each option as docker-py sent it, under its v1.41 name (the side-by-side runs with
    dockerd are in test_hostconfig_vs_dockerd.py)."""
    c = api.containers.create("busybox", "true", pid_mode="host", ipc_mode="shareable",
                              oom_score_adj=10, shm_size="8m", sysctls={"net.core.somaxconn": "1024"},
                              ulimits=[docker.types.Ulimit(name="nofile", soft=100, hard=200)],
                              group_add=["staff"], dns_opt=["ndots:1"], extra_hosts={"a": "1.2.3.4"},
                              mem_reservation="8m", cpu_period=100000, cpu_quota=50000,
                              device_cgroup_rules=["c 1:3 r"])
    try:
        h = c.attrs["HostConfig"]
        assert (h["PidMode"], h["IpcMode"], h["OomScoreAdj"], h["ShmSize"]) == ("host", "shareable", 10, 8 << 20)
        assert h["Sysctls"] == {"net.core.somaxconn": "1024"}
        assert h["GroupAdd"] == ["staff"] and h["DnsOptions"] == ["ndots:1"]
        assert h["ExtraHosts"] == ["a:1.2.3.4"] and h["MemoryReservation"] == 8 << 20
        assert (h["CpuPeriod"], h["CpuQuota"]) == (100000, 50000)
        assert h["DeviceCgroupRules"] == ["c 1:3 r"]
        assert json.dumps(h)   # plain JSON
    finally:
        c.remove()


# ---- MAC address ----------------------------------------------------------------------

def test_mac_address(daemon, api):
    # docker CLI 28 sends --mac-address per endpoint only, from API 1.44 on ("requires API
    # version 1.44"): that body, posted as such, and docker-py's Config.MacAddress.
    created = daemon.client().json("POST", "/containers/create", body={
        "Image": "busybox", "Cmd": ["cat", "/sys/class/net/eth0/address"],
        "NetworkingConfig": {"EndpointsConfig": {"bridge": {"MacAddress": "02:42:ac:11:00:99"}}}})
    try:
        daemon.docker("start", "-a", created["Id"])
        assert out(daemon.docker("logs", created["Id"])) == "02:42:ac:11:00:99"
    finally:
        daemon.docker("rm", created["Id"])
    c = api.containers.run("busybox", "sleep 1000", mac_address="02:42:ac:11:00:98", detach=True)
    try:
        info = api.api.inspect_container(c.id)
        assert info["Config"]["MacAddress"] == "02:42:ac:11:00:98"
        assert info["NetworkSettings"]["MacAddress"] == "02:42:ac:11:00:98"
        assert c.exec_run("cat /sys/class/net/eth0/address").output.decode().strip() == "02:42:ac:11:00:98"
    finally:
        c.remove(force=True)
    with pytest.raises(docker.errors.APIError) as e:
        api.api.create_container("busybox", "true", mac_address="zz:42", host_config={})
    assert e.value.status_code == 400 and "invalid MAC address" in str(e.value)
    with pytest.raises(docker.errors.APIError) as e:
        api.api.create_container("busybox", "true", mac_address="02:42:ac:11:00:97",
                                 host_config={"NetworkMode": "host"})
    assert "conflicting options: mac-address and the network mode" in str(e.value)


def test_console_size_is_the_tty_size_at_start(daemon, api):
    c = api.api.create_container("busybox", "stty size", tty=True,
                                 host_config={"ConsoleSize": [33, 101]})
    try:
        api.api.start(c["Id"])
        assert api.api.wait(c["Id"])["StatusCode"] == 0
        assert api.api.logs(c["Id"]).decode().strip() == "33 101"
    finally:
        api.api.remove_container(c["Id"])


def test_a_platform_other_than_pyctrds_own_is_refused_not_ignored(daemon):
    """`docker create/pull/import --platform` send `platform`: this pyctrd's own works,
    any other is a 400 naming it (it used to be accepted and ignored)."""
    out = daemon.docker("create", "--platform", "linux/arm64", "busybox", "true", check=False)
    assert out.returncode != 0 and b"linux/arm64" in out.stderr and b"not supported" in out.stderr
    before = {c["Id"] for c in daemon.client().json("GET", "/containers/json?all=1")}   # none made
    cid = daemon.docker("create", "--platform", "linux/amd64", "busybox", "true").stdout.strip().decode()
    daemon.docker("rm", cid)
    assert {c["Id"] for c in daemon.client().json("GET", "/containers/json?all=1")} == before
    out = daemon.docker("pull", "--platform", "linux/s390x", "127.0.0.1:1/nothing", check=False)
    assert out.returncode != 0 and b"linux/s390x" in out.stderr
    out = daemon.docker("import", "--platform", "windows/amd64", "-", "x", input=b"", check=False)
    assert out.returncode != 0 and b"windows/amd64" in out.stderr
