"""`pyctr run`/`create` with docker CLI 28's flags against a real pyctrd: the same
flags through the real docker CLI and through pyctr make the same container (its
inspected Config and HostConfig, ids, names and times aside); flags pyctrd does not
serve are refused with exit 125 naming them; --rm, --pull, --cidfile, --detach-keys
and --mac-address do what docker's do."""

from __future__ import annotations

import ipaddress
import json
import os
import sys

import pytest

from harness import wait_for

pexpect = pytest.importorskip("pexpect")

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")


@pytest.fixture(scope="module")
def made(daemon, tmp_path_factory):
    """A user-defined network, a container to share namespaces and volumes with, and the
    env, label and seccomp files the flags name; removed at the end."""
    files = tmp_path_factory.mktemp("runflags")
    (files / "env.list").write_text("FROM_FILE=1\nHOME\n# a comment\nUNSET_IN_CLIENT\n")
    (files / "labels.list").write_text("from.file=yes\n")
    (files / "seccomp.json").write_text('{"defaultAction": "SCMP_ACT_ALLOW",\n "syscalls": []}\n')
    # --ip needs a subnet the user chose: the one the daemon picks from its pool, named
    daemon.pyctr("network", "create", "rfnet")
    subnet = json.loads(daemon.pyctr("network", "inspect", "rfnet").stdout)[0]["IPAM"]["Config"][0]["Subnet"]
    daemon.pyctr("network", "rm", "rfnet")
    daemon.pyctr("network", "create", "--subnet", subnet, "rfnet")
    daemon.pyctr("create", "--name", "rfbase", "-v", "/shared", "busybox", "sleep", "1000")
    names: list[str] = []
    try:
        yield {"dir": str(files), "ip": str(ipaddress.ip_network(subnet)[50]), "names": names}
    finally:
        for name in names + ["rfbase"]:
            daemon.pyctr("rm", "-f", name, check=False)
        daemon.pyctr("network", "rm", "rfnet", check=False)


def cases(made) -> list[list[str]]:
    d, block = made["dir"], a_block_device()
    return [
        # a user-defined network with an alias, an address and a link (an alias there)
        ["--network", "rfnet", "--network-alias", "web", "--ip", made["ip"], "--link", "rfbase:base",
         "--dns", "10.0.0.53", "--dns-option", "ndots:2", "--dns-search", "example.com"],
        # most of the rest, on the default bridge
        ["-l", "a=b", "-l", "bare", "--label-file", f"{d}/labels.list", "--env-file", f"{d}/env.list",
         "-e", "B=2", "-e", "HOME", "-e", "NOT_SET_ANYWHERE",
         "--mount", "type=volume,src=rfvol,dst=/v", "--tmpfs", "/run:size=1m",
         "--health-cmd", "true", "--health-interval", "5s", "--health-timeout", "1500ms",
         "--health-retries", "3", "--health-start-period", "1m30s",
         "--restart", "unless-stopped", "--init", "--cpus", "0.5", "-m", "64m", "--memory-swap", "128m",
         "--memory-swappiness", "10", "--memory-reservation", "32m", "--ulimit", "nofile=100:200",
         "--ulimit", "nproc=50", "--add-host", "h1:10.1.2.3", "--add-host", "h2=10.4.5.6",
         "--stop-signal", "SIGUSR1", "--stop-timeout", "5", "--pid", "host", "--ipc", "shareable",
         "--uts", "host", "--group-add", "10", "--log-driver", "json-file", "--log-opt", "max-size=1m",
         "--sysctl", "net.ipv4.ip_forward=1", "--security-opt", "no-new-privileges",
         "--cap-add", "net_admin", "--cap-add", "SYS_TIME", "--cap-drop", "mknod",
         "--device", "/dev/null:/dev/n2:r", "--read-only", "--shm-size", "32m",
         "-p", "127.0.0.1:18080:80", "-p", "9000-9001:90-91/udp", "--expose", "7000-7002", "-P",
         "-w", "/tmp", "-u", "1000:1000", "--domainname", "example.org", "--entrypoint", "/bin/sh",
         "-t", "-i", "--oom-score-adj", "100", "--pids-limit", "50", "-c", "100", "--cpuset-cpus", "0",
         "--cpuset-mems", "0", "--blkio-weight", "100", "--device-cgroup-rule", "c 1:3 rmw",
         "-v", "/tmp:/hosttmp:ro", "-v", "/anon", "--volumes-from", "rfbase:ro", "--volume-driver", "local",
         "--userns", "host", "--cgroupns", "host", "--isolation", "default", "--oom-kill-disable"],
        # host network, no health check, other forms of the same flags
        ["--network", "host", "--no-healthcheck", "--restart", "on-failure:3", "--init=false",
         "--pids-limit", "0", "-m", "10m", "--memory-swap", "-1", "--cpu-period", "100000",
         "--cpu-quota", "50000", "--device", "/dev/zero:rw", "--security-opt", f"seccomp={d}/seccomp.json",
         "--stop-timeout", "0", "--privileged", "--hostname", "rf.example.com", "--ipc", "private"],
        # no network, removed by the daemon when it exits, a health command alone
        ["--network", "none", "--rm", "--health-cmd", "exit 0", "--restart", "no", "-a", "stdout",
         "--cap-add", "ALL", "--cap-drop", "all"],
        # another container's namespaces
        ["--network", "container:rfbase", "--pid", "container:rfbase", "--ipc", "container:rfbase"],
        # a bridge named as such, blkio throttles (on a block device of the host)
        ["--network", "bridge", "--dns", "1.1.1.1"] + ([
            "--device-read-bps", f"{block}:1mb", "--device-write-iops", f"{block}:100",
            "--blkio-weight-device", f"{block}:200"] if block else []),
    ]


def a_block_device() -> str:
    import stat

    for name in sorted(os.listdir("/dev")):
        path = f"/dev/{name}"
        try:
            if stat.S_ISBLK(os.stat(path).st_mode):
                return path
        except OSError:
            continue
    return ""


def comparable(inspected: dict) -> dict:
    """Config, HostConfig and what the create asked of each network, without what differs
    between two containers made alike (ids, names, times)."""
    short = inspected["Id"][:12]
    config = dict(inspected["Config"])
    if config.get("Hostname") == short:
        config.pop("Hostname")
    networks = {name: {"Aliases": sorted(a for a in (ep.get("Aliases") or []) if a != short) or None,
                       "IPAMConfig": ep.get("IPAMConfig"), "Links": ep.get("Links")}
                for name, ep in (inspected["NetworkSettings"].get("Networks") or {}).items()}
    host = dict(inspected["HostConfig"])
    own = inspected["Name"] + "/"    # a legacy link names the container: /base:/<name>/alias
    host["Links"] = [link.replace(own, "/<self>/") for link in host["Links"]] if host.get("Links") else host.get("Links")
    return {"Config": config, "HostConfig": host, "Networks": networks}


def test_run_flags_make_the_container_docker_makes(daemon, made):
    for i, flags in enumerate(cases(made)):
        ours_name, theirs_name = f"rfp{i}", f"rfd{i}"
        made["names"] += [ours_name, theirs_name]
        argv = [*flags, "busybox", "-c", "true"] if "--entrypoint" in flags else [*flags, "busybox", "true"]
        theirs = daemon.docker("create", "--name", theirs_name, *argv, check=False)
        ours = daemon.pyctr("create", "--name", ours_name, *argv, check=False)
        assert theirs.returncode == 0, (flags, theirs.stderr)
        assert ours.returncode == 0, (flags, ours.stderr)
        assert ours.stderr == theirs.stderr, flags   # the same warnings
        client = daemon.client()
        want = comparable(client.inspect_container(theirs_name))
        got = comparable(client.inspect_container(ours_name))
        for part in want:
            assert got[part] == want[part], (flags, part, {k: (got[part].get(k), v) for k, v in want[part].items()
                                                             if got[part].get(k) != v})


REFUSED = [
    (["--platform", "linux/amd64"], "--platform"),
    (["--annotation", "a=b"], "--annotation"),
    (["--health-start-interval", "1s"], "--health-start-interval"),
    (["--ip6", "2001:db8::33"], "--ip6"),
    (["--link-local-ip", "169.254.1.1"], "--link-local-ip"),
    (["--use-api-socket"], "--use-api-socket"),
    (["--gpus", "all"], "--gpus"),
    (["--cgroup-parent", "x"], "--cgroup-parent"),
    (["--cgroupns", "private"], "--cgroupns"),
    (["--cpu-rt-period", "1000"], "--cpu-rt-period"),
    (["--cpu-rt-runtime", "1000"], "--cpu-rt-runtime"),
    (["--cpu-count", "2"], "--cpu-count"),
    (["--cpu-percent", "50"], "--cpu-percent"),
    (["--io-maxiops", "5"], "--io-maxiops"),
    (["--io-maxbandwidth", "5m"], "--io-maxbandwidth"),
    (["--kernel-memory", "10m"], "--kernel-memory"),
    (["--runtime", "runc"], "--runtime"),
    (["--storage-opt", "size=1G"], "--storage-opt"),
    (["--userns", "private"], "--userns"),
    (["--isolation", "hyperv"], "--isolation"),
    (["--disable-content-trust=false"], "--disable-content-trust"),
    (["--device", "vendor.com/gpu=all"], "--device"),
    (["--network", "rfnet", "--network", "bridge"], "--network"),
]


@pytest.mark.parametrize("flags, named", REFUSED, ids=[named for _, named in REFUSED])
def test_flags_pyctrd_does_not_serve_are_refused_naming_them(daemon, flags, named):
    before = daemon.pyctr("ps", "-a", "-q").stdout
    for verb in ("run", "create"):
        result = daemon.pyctr(verb, *flags, "busybox", "true", check=False)
        assert result.returncode == 125, (verb, flags, result)
        first = result.stderr.decode().splitlines()[0]
        assert first.startswith(f"pyctr: {named}") and "not supported" in first, first
        assert result.stdout == b""
    assert daemon.pyctr("ps", "-a", "-q").stdout == before   # nothing was made


def test_bad_values_exit_125_as_docker(daemon):
    for flags in (["--restart", "always", "--rm"], ["--pull", "sometimes"], ["--network", "bridge",
                  "--network-alias", "x"], ["--health-cmd", "x", "--no-healthcheck"], ["--bogus"],
                  ["--restart", "sometimes"]):
        for verb in ("run", "create"):
            ours = daemon.pyctr(verb, *flags, "busybox", "true", check=False)
            theirs = daemon.docker(verb, *flags, "busybox", "true", check=False)
            # 125, but for create's errors from the daemon (1), as docker's
            assert ours.returncode == theirs.returncode, (verb, flags, ours, theirs)
            assert ours.returncode == 125 or (verb, ours.returncode) == ("create", 1)
            assert ours.stdout == b"" and theirs.stdout == b""


def test_detached_rm_is_removed_by_the_daemon(daemon):
    cid = daemon.pyctr("run", "-d", "--rm", "busybox", "sh", "-c", "sleep 0.5").stdout.decode().strip()
    # the daemon removes it once it exits: the client has gone already
    wait_for(lambda: cid not in daemon.pyctr("ps", "-a", "-q", "--no-trunc").stdout.decode(), timeout=30)
    # attached, pyctr waits for the removal and gives the exit code
    result = daemon.pyctr("run", "--rm", "--name", "rfrm", "busybox", "sh", "-c", "echo bye; exit 4", check=False)
    assert (result.returncode, result.stdout) == (4, b"bye\n")
    assert "rfrm" not in daemon.pyctr("ps", "-a", "--format", "{{.Names}}").stdout.decode().split()


def test_an_attached_rm_run_gives_its_exit_code_however_quick_the_removal(daemon):
    # The wait is asked before the start (as docker 28): asked after the stream ended it
    # could find the container already removed, and 0 was reported (CI saw it under load).
    for code in range(1, 16):
        result = daemon.pyctr("run", "--rm", "busybox", "sh", "-c", f"exit {code}", check=False)
        assert (result.returncode, result.stderr) == (code, b""), code


def test_pull_policies_and_quiet(daemon):
    # never: a missing image is the daemon's 404, no pull tried
    for verb, status in (("create", 1), ("run", 125)):
        ours = daemon.pyctr(verb, "--pull", "never", "rf-no-such-image", check=False)
        theirs = daemon.docker(verb, "--pull", "never", "rf-no-such-image", check=False)
        assert ours.returncode == theirs.returncode == status, (ours, theirs)
        assert b"Unable to find image" not in ours.stderr and b"No such image" in ours.stderr
    # missing (the default): a pull is tried and its failure reported; -q says nothing of it
    ours = daemon.pyctr("create", "rf-no-such-image", check=False)
    assert ours.returncode == 1 and b"Unable to find image 'rf-no-such-image:latest' locally" in ours.stderr
    quiet = daemon.pyctr("create", "-q", "rf-no-such-image", check=False)
    assert quiet.returncode == 1 and b"Unable to find image" not in quiet.stderr
    # always: pulls even what is there (here: no registry, so the pull fails, as docker's)
    ours = daemon.pyctr("create", "--pull", "always", "busybox", "true", check=False)
    theirs = daemon.docker("create", "--pull", "always", "busybox", "true", check=False)
    assert ours.returncode == theirs.returncode == 1 and b"no default registry" in ours.stderr


def test_cidfile_and_mac_address(daemon, made, tmp_path):
    cidfile = tmp_path / "cid"
    made["names"].append("rfcid")
    cid = daemon.pyctr("create", "--name", "rfcid", "--cidfile", str(cidfile), "--mac-address",
                       "02:42:ac:11:00:99", "busybox", "true").stdout.decode().strip()
    assert cidfile.read_text() == cid
    inspected = daemon.client().inspect_container("rfcid")
    assert inspected["HostConfig"]["ContainerIDFile"] == str(cidfile)
    assert inspected["Config"]["MacAddress"] == "02:42:ac:11:00:99"
    again = daemon.pyctr("create", "--cidfile", str(cidfile), "busybox", "true", check=False)
    assert again.returncode == 125 and b"Container ID file found" in again.stderr
    bad = daemon.pyctr("create", "--mac-address", "nope", "busybox", "true", check=False)
    assert bad.returncode == 125 and b"nope is not a valid mac address" in bad.stderr


def test_detach_keys(daemon, made):
    made["names"].append("rfkeys")
    env = daemon.env()
    child = pexpect.spawn(sys.executable, ["-m", "pyctr.shell.cli", "run", "-it", "--name", "rfkeys",
                                           "--detach-keys", "ctrl-x,x", "busybox", "sh"],
                          env=env, timeout=30)
    try:
        child.expect(r"[#$] ")
        child.sendline("echo up-$((40+2))")
        child.expect("up-42")
        child.send("\x10\x11")          # docker's default keys do nothing now ...
        child.sendline("echo still-$((1+1))")
        child.expect("still-2")
        child.send("\x18x")              # ... these detach
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0
    assert daemon.client().inspect_container("rfkeys")["State"]["Running"]
