"""run/create flags -> the POST /containers/create body of API v1.41, as docker CLI 28 sends it."""

import re

import pytest

from pyctr.engine.client.models import modern_create_body
from pyctr.shell import commands
from pyctr.engine.client.frontend.runflags import (SpecError, build_spec, parse_duration, parse_memory,
                                                   parse_port_specs)


def body(*argv, environ=None, command="run"):
    opts, args = commands.load(command).parse(list(argv))
    spec = build_spec(opts, args, environ or {})
    return spec, modern_create_body(spec.config, spec.host_config, spec.endpoints)


def test_the_full_example_body():
    spec, got = body("-v", "/a:/b:ro", "-v", "/c", "-p", "127.0.0.1:80:8080", "-e", "A=1",
                     "--restart", "on-failure:3", "busybox", "echo", "hi")
    host, networking = got.pop("HostConfig"), got.pop("NetworkingConfig")
    assert {k: got[k] for k in ("ExposedPorts", "Env", "Cmd", "Image", "Volumes", "Labels", "StopTimeout")} == {
        "ExposedPorts": {"8080/tcp": {}}, "Env": ["A=1"], "Cmd": ["echo", "hi"], "Image": "busybox",
        "Volumes": {"/c": {}}, "Labels": {}, "StopTimeout": None}
    assert "Healthcheck" not in got   # none asked: the image's applies
    assert {k: host[k] for k in ("Binds", "PortBindings", "NetworkMode", "RestartPolicy", "LogConfig", "Dns",
                                 "DnsOptions", "MemorySwappiness", "ConsoleSize", "Init", "AutoRemove")} == {
        "Binds": ["/a:/b:ro"], "PortBindings": {"8080/tcp": [{"HostIp": "127.0.0.1", "HostPort": "80"}]},
        "NetworkMode": "default", "RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": 3},
        "LogConfig": {"Type": "", "Config": {}}, "Dns": [], "DnsOptions": [], "MemorySwappiness": -1,
        "ConsoleSize": [0, 0], "Init": None, "AutoRemove": False}
    assert networking == {"EndpointsConfig": {"default": {"IPAMConfig": None, "Links": None, "Aliases": None,
                                                          "MacAddress": ""}}}
    assert not spec.detach and not spec.auto_remove and spec.sig_proxy and spec.pull == "missing"


def test_interactive_tty_and_attach_defaults():
    _, got = body("-ti", "busybox", "sh")
    assert (got["Tty"], got["OpenStdin"], got["StdinOnce"]) == (True, True, True)
    assert (got["AttachStdin"], got["AttachStdout"], got["AttachStderr"]) == (True, True, True)
    _, got = body("-d", "busybox")
    assert (got["AttachStdin"], got["AttachStdout"], got["AttachStderr"]) == (False, False, False)
    assert got["Cmd"] is None
    _, got = body("-i", "-a", "stdin", "busybox", "cat")
    assert (got["AttachStdin"], got["AttachStdout"], got["StdinOnce"]) == (True, False, True)
    _, got = body("-a", "STDERR", "busybox")
    assert (got["AttachStdin"], got["AttachStdout"], got["AttachStderr"]) == (False, False, True)


def test_every_other_flag(tmp_path):
    env_file = tmp_path / "env.list"
    env_file.write_text("TEST_FOO=BAR\n\n# comment\n  SPACED=x y\nPASSED\nUNSET\n")
    seccomp = tmp_path / "profile.json"
    seccomp.write_text('{"defaultAction": "SCMP_ACT_ALLOW",\n "syscalls": []}')
    spec, got = body(
        "--name", "web", "-u", "nobody", "-w", "/srv", "-h", "www", "--domainname", "sven.dev.org",
        "--entrypoint", "/bin/sh", "-m", "100m", "-c", "512", "--cpuset-cpus", "0,1", "--cpus", "1.5",
        "--env-file", str(env_file), "-e", "TEST_FOO=override", "-e", "FROM_HOST", "-e", "NOWHERE",
        "--expose", "53/udp", "--expose", "80-81", "-P", "-p", "8080", "-p", "9000:9000/udp",
        "-p", "10.0.0.1::22", "--link", "db:database", "--link", "cache",
        "--network", "host", "--dns", "8.8.8.8", "--dns-search", "example.com",
        "--cap-add", "net_admin", "--cap-drop", "MKNOD", "--privileged",
        "--device", "/dev/sdc:/dev/xvdc", "--device", "/dev/zero", "--device", "/dev/null:r",
        "--restart", "always", "--volumes-from", "data:ro", "--cidfile", "/tmp/cid",
        "--sig-proxy=false", "-l", "a=1", "-l", "bare", "--health-cmd", "true", "--health-interval", "1m30s",
        "--health-retries", "2", "--init", "--stop-signal", "SIGUSR1", "--stop-timeout", "0",
        "--ulimit", "nofile=10:20", "--ulimit", "nproc=5", "--add-host", "a:10.0.0.1", "--add-host", "b=10.0.0.2",
        "--sysctl", "net.ipv4.ip_forward=1", "--log-driver", "local", "--log-opt", "max-size=1m",
        "--security-opt", f"seccomp={seccomp}", "--security-opt", "label:disable", "--read-only",
        "--shm-size", "1g", "--memory-swap", "-1", "--memory-swappiness", "0", "--pids-limit", "7",
        "--pull", "never", "-q", "--detach-keys", "ctrl-a,a", "-d",
        "busybox", environ={"FROM_HOST": "hi", "PASSED": "through"})
    assert spec.name == "web" and spec.cidfile == "/tmp/cid" and spec.sig_proxy is False
    assert (spec.pull, spec.quiet, spec.detach_keys, spec.auto_remove, spec.detach) == \
        ("never", True, "ctrl-a,a", False, True)
    host, networking = got.pop("HostConfig"), got.pop("NetworkingConfig")
    assert (got["User"], got["WorkingDir"], got["Hostname"], got["Domainname"]) == \
        ("nobody", "/srv", "www", "sven.dev.org")
    assert got["Entrypoint"] == ["/bin/sh"]
    assert got["Env"] == ["TEST_FOO=BAR", "SPACED=x y", "PASSED=through", "TEST_FOO=override", "FROM_HOST=hi",
                          "NOWHERE"]   # docker 28: an unset name from -e is sent as is, from a file left out
    assert got["ExposedPorts"] == {"8080/tcp": {}, "9000/udp": {}, "22/tcp": {}, "53/udp": {}, "80/tcp": {},
                                   "81/tcp": {}}
    assert got["Labels"] == {"a": "1", "bare": ""}
    assert got["Healthcheck"] == {"Test": ["CMD-SHELL", "true"], "Interval": 90_000_000_000, "Retries": 2}
    assert (got["StopSignal"], got["StopTimeout"]) == ("SIGUSR1", 0)
    assert host["PortBindings"] == {
        "8080/tcp": [{"HostIp": "", "HostPort": ""}],
        "9000/udp": [{"HostIp": "", "HostPort": "9000"}],
        "22/tcp": [{"HostIp": "10.0.0.1", "HostPort": ""}],
    }
    assert host["PublishAllPorts"] is True and host["Privileged"] is True and host["AutoRemove"] is False
    assert host["Links"] == ["db:database", "cache:cache"]
    assert (host["NetworkMode"], host["Dns"], host["DnsSearch"]) == ("host", ["8.8.8.8"], ["example.com"])
    assert (host["CapAdd"], host["CapDrop"]) == (["CAP_NET_ADMIN"], ["CAP_MKNOD"])
    assert host["Devices"] == [
        {"PathOnHost": "/dev/sdc", "PathInContainer": "/dev/xvdc", "CgroupPermissions": "rwm"},
        {"PathOnHost": "/dev/zero", "PathInContainer": "/dev/zero", "CgroupPermissions": "rwm"},
        {"PathOnHost": "/dev/null", "PathInContainer": "/dev/null", "CgroupPermissions": "r"}]
    assert host["RestartPolicy"] == {"Name": "always", "MaximumRetryCount": 0}
    assert host["VolumesFrom"] == ["data:ro"] and host["ContainerIDFile"] == "/tmp/cid"
    assert (host["Memory"], host["MemorySwap"], host["MemorySwappiness"], host["CpuShares"], host["CpusetCpus"],
            host["NanoCpus"]) == (100 << 20, -1, 0, 512, "0,1", 1_500_000_000)
    assert host["Ulimits"] == [{"Name": "nofile", "Soft": 10, "Hard": 20}, {"Name": "nproc", "Soft": 5, "Hard": 5}]
    assert host["ExtraHosts"] == ["a:10.0.0.1", "b:10.0.0.2"]
    assert host["Sysctls"] == {"net.ipv4.ip_forward": "1"}
    assert host["LogConfig"] == {"Type": "local", "Config": {"max-size": "1m"}}
    assert host["SecurityOpt"] == ['seccomp={"defaultAction":"SCMP_ACT_ALLOW","syscalls":[]}', "label:disable"]
    assert (host["ReadonlyRootfs"], host["ShmSize"], host["PidsLimit"], host["Init"]) == (True, 1 << 30, 7, True)
    assert networking == {"EndpointsConfig": {"host": {"IPAMConfig": None, "Links": None, "Aliases": None,
                                                       "MacAddress": ""}}}


def test_detached_rm_is_the_daemons_auto_remove():
    spec, got = body("-d", "--rm", "busybox")   # docker 28 allows it: the daemon removes the container
    assert spec.detach and spec.auto_remove and got["HostConfig"]["AutoRemove"] is True


def test_networks_endpoints():
    _, got = body("--network", "front", "--network-alias", "web", "--ip", "10.5.0.9", "--link", "db:d", "busybox")
    assert got["HostConfig"]["NetworkMode"] == "front" and got["HostConfig"]["Links"] == ["db:d"]
    assert got["NetworkingConfig"]["EndpointsConfig"] == {"front": {
        "IPAMConfig": {"IPv4Address": "10.5.0.9"}, "Links": ["db:d"], "Aliases": ["web"], "MacAddress": ""}}
    _, got = body("--net", "container:other", "busybox")   # the old spelling still works
    assert got["HostConfig"]["NetworkMode"] == "container:other"
    assert got["NetworkingConfig"]["EndpointsConfig"] == {}


def test_durations():
    assert [parse_duration(t, "--x") for t in ("0", "5s", "1m30s", "1.5s", "250ms", "1h")] == \
        [0, 5_000_000_000, 90_000_000_000, 1_500_000_000, 250_000_000, 3_600_000_000_000]
    with pytest.raises(SpecError, match='time: invalid duration "5"'):
        parse_duration("5", "--health-interval")


def test_create_shares_the_grammar_without_run_only_flags():
    spec, got = body("-t", "--rm", "--name", "x", "busybox", "true", command="create")
    assert got["Tty"] and spec.name == "x" and got["Cmd"] == ["true"] and got["HostConfig"]["AutoRemove"]
    for flag in ("-d", "--detach-keys=x", "--sig-proxy=false"):
        with pytest.raises(Exception, match="flag provided but not defined"):
            body(flag, "busybox", command="create")


@pytest.mark.parametrize("argv, message", [
    (["-d", "-a", "stdout", "busybox"], "conflicting options: cannot specify both --attach and --detach"),
    (["--rm", "--restart", "always", "busybox"], "conflicting options: cannot specify both --restart and --rm"),
    (["-a", "stdtv", "busybox"], "valid streams are STDIN, STDOUT and STDERR"),
    (["-w", "relative", "busybox"], "it needs to be an absolute path"),
    (["-v", "relative", "busybox"], "the container path must be absolute"),
    (["-v", "/h:/c:rx", "busybox"], "invalid mode: rx"),
    (["-v", "/h:/", "busybox"], "destination can't be '/'"),
    (["-p", "1.2.3:80:80", "busybox"], "invalid IP address: 1.2.3"),
    (["-p", "80:http", "busybox"], "invalid containerPort: http"),
    (["-p", "80/icmp", "busybox"], "invalid proto: icmp"),
    (["--expose", "1:2", "busybox"], "invalid port format for --expose"),
    (["--restart", "on-failure:x", "busybox"], "maximum retry count must be an integer"),
    (["--network", "container:", "busybox"], "invalid container format"),
    (["--network", "bridge", "--network-alias", "a", "busybox"], "only supported for user-defined networks"),
    (["--dns", "resolver", "busybox"], "resolver is not an ip address"),
    (["-m", "1x", "busybox"], "invalid size: '1x'"),
    (["--cpus", "lots", "busybox"], "failed to parse lots as a rational number"),
    (["--ulimit", "bogus=1", "busybox"], "invalid ulimit type: bogus"),
    (["--ulimit", "nofile=20:10", "busybox"], "soft limit must be less than or equal to hard limit"),
    (["--add-host", "h:not-an-ip", "busybox"], "invalid IP address in add-host"),
    (["--sysctl", "novalue", "busybox"], "sysctl 'novalue' is not allowed"),
    (["-l", "=v", "busybox"], "invalid label '=v': empty name"),
    (["--health-cmd", "x", "--no-healthcheck", "busybox"], "--no-healthcheck conflicts with --health-* options"),
    (["--health-interval", "-1s", "busybox"], "--health-interval cannot be negative"),
    (["--memory-swappiness", "101", "busybox"], "Valid memory swappiness range is 0-100"),
    (["--pull", "sometimes", "busybox"], "invalid pull option: 'sometimes'"),
    (["--mac-address", "zz", "busybox"], "zz is not a valid mac address"),
    (["--platform", "linux/arm64", "busybox"], "--platform is not supported by pyctrd"),
    (["--cgroup-parent", "x", "busybox"], "--cgroup-parent is not supported by pyctrd: containers go under"),
    (["--userns", "private", "busybox"], "--userns is not supported by pyctrd: user namespaces are not built"),
])
def test_invalid_flags(argv, message):
    with pytest.raises(SpecError, match=re.escape(message)):
        body(*argv)


def test_memory_units():
    assert [parse_memory(v) for v in ("100", "1k", "2M", "1g", "512mb", "3b")] == \
        [100, 1024, 2 << 20, 1 << 30, 512 << 20, 3]


def test_port_specs_repeat_bindings():
    exposed, bindings = parse_port_specs(["80:80", "81:80"])
    assert list(exposed) == ["80/tcp"]
    assert [(b.host_ip, b.host_port) for b in bindings["80/tcp"]] == [("", "80"), ("", "81")]
