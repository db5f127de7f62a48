"""run/create flags -> the exact POST /containers/create body."""

import pytest

from pyctr.engine.client.models import create_body
from pyctr.shell import commands
from pyctr.engine.client.frontend.runflags import SpecError, build_spec, parse_memory, parse_port_specs


def body(*argv, environ=None, command="run"):
    opts, args = commands.load(command).parse(list(argv))
    spec = build_spec(opts, args, environ or {})
    return spec, create_body(spec.config, spec.host_config)


def test_the_full_example_body():
    spec, got = body("-v", "/a:/b:ro", "-v", "/c", "-p", "127.0.0.1:80:8080", "-e", "A=1",
                     "--restart", "on-failure:3", "busybox", "echo", "hi")
    assert got == {
        "Hostname": "", "Domainname": "", "User": "", "Memory": 0, "MemorySwap": 0,
        "CpuShares": 0, "Cpuset": "",
        "AttachStdin": False, "AttachStdout": True, "AttachStderr": True,
        "PortSpecs": None, "ExposedPorts": {"8080/tcp": {}},
        "Tty": False, "OpenStdin": False, "StdinOnce": False,
        "Env": ["A=1"], "Cmd": ["echo", "hi"], "Image": "busybox",
        "Volumes": {"/c": {}}, "WorkingDir": "", "Entrypoint": None,
        "NetworkDisabled": False, "OnBuild": None,
        "HostConfig": {
            "Binds": ["/a:/b:ro"], "ContainerIDFile": "", "LxcConf": [], "Privileged": False,
            "PortBindings": {"8080/tcp": [{"HostIp": "127.0.0.1", "HostPort": "80"}]},
            "Links": None, "PublishAllPorts": False, "Dns": None, "DnsSearch": None,
            "VolumesFrom": None, "Devices": [], "NetworkMode": "bridge",
            "CapAdd": None, "CapDrop": None,
            "RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": 3},
        },
    }
    assert not spec.detach and not spec.auto_remove and spec.sig_proxy


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
    env_file.write_text("TEST_FOO=BAR\n\n# comment\n  SPACED=x y\nPASSED\n")
    spec, got = body(
        "--name", "web", "-u", "nobody", "-w", "/srv", "-h", "www.sven.dev.org",
        "--entrypoint", "/bin/sh", "-m", "100m", "-c", "512", "--cpuset", "0,1",
        "--env-file", str(env_file), "-e", "TEST_FOO=override", "-e", "FROM_HOST",
        "--expose", "53/udp", "--expose", "80", "-P", "-p", "8080", "-p", "9000:9000/udp",
        "-p", "10.0.0.1::22", "--link", "db:database", "--link", "cache",
        "--net", "host", "--dns", "8.8.8.8", "--dns-search", "example.com",
        "--cap-add", "NET_ADMIN", "--cap-drop", "MKNOD", "--privileged",
        "--device", "/dev/sdc:/dev/xvdc", "--device", "/dev/zero",
        "--restart", "always", "--volumes-from", "data:ro", "--cidfile", "/tmp/cid",
        "--sig-proxy=false", "busybox",
        environ={"FROM_HOST": "hi", "PASSED": "through"})
    assert spec.name == "web" and spec.cidfile == "/tmp/cid" and spec.sig_proxy is False
    assert (got["User"], got["WorkingDir"], got["Hostname"], got["Domainname"]) == \
        ("nobody", "/srv", "www", "sven.dev.org")
    assert got["Entrypoint"] == ["/bin/sh"]
    assert (got["Memory"], got["CpuShares"], got["Cpuset"]) == (100 * 1024 * 1024, 512, "0,1")
    assert got["Env"] == ["TEST_FOO=BAR", "SPACED=x y", "PASSED=through",
                          "TEST_FOO=override", "FROM_HOST=hi"]
    assert got["ExposedPorts"] == {"8080/tcp": {}, "9000/udp": {}, "22/tcp": {},
                                   "53/udp": {}, "80/tcp": {}}
    hc = got["HostConfig"]
    assert hc["PortBindings"] == {
        "8080/tcp": [{"HostIp": "", "HostPort": ""}],
        "9000/udp": [{"HostIp": "", "HostPort": "9000"}],
        "22/tcp": [{"HostIp": "10.0.0.1", "HostPort": ""}],
    }
    assert hc["PublishAllPorts"] is True and hc["Privileged"] is True
    assert hc["Links"] == ["db:database", "cache:cache"]
    assert (hc["NetworkMode"], hc["Dns"], hc["DnsSearch"]) == ("host", ["8.8.8.8"], ["example.com"])
    assert (hc["CapAdd"], hc["CapDrop"]) == (["NET_ADMIN"], ["MKNOD"])
    assert hc["Devices"] == [
        {"PathOnHost": "/dev/sdc", "PathInContainer": "/dev/xvdc", "CgroupPermissions": "rwm"},
        {"PathOnHost": "/dev/zero", "PathInContainer": "/dev/zero", "CgroupPermissions": "rwm"}]
    assert hc["RestartPolicy"] == {"Name": "always", "MaximumRetryCount": 0}
    assert hc["VolumesFrom"] == ["data:ro"] and hc["ContainerIDFile"] == "/tmp/cid"


def test_create_shares_the_grammar_without_run_only_flags():
    spec, got = body("-t", "--name", "x", "busybox", "true", command="create")
    assert got["Tty"] and spec.name == "x" and got["Cmd"] == ["true"]
    with pytest.raises(Exception, match="flag provided but not defined: --rm"):
        body("--rm", "busybox", command="create")


@pytest.mark.parametrize("argv, message", [
    (["-d", "--rm", "busybox"], "Conflicting options: --rm and -d"),
    (["-d", "-a", "stdout", "busybox"], "Conflicting options: -a and -d"),
    (["--rm", "--restart", "always", "busybox"], "Conflicting options: --restart and --rm"),
    (["-a", "stdtv", "busybox"], "valid streams are STDIN, STDOUT and STDERR"),
    (["-w", "relative", "busybox"], "It needs to be an absolute path"),
    (["-v", "relative", "busybox"], "relative is not an absolute path"),
    (["-v", "/h:/c:rx", "busybox"], "bad mode specified: rx"),
    (["-v", "/h:/", "busybox"], "destination can't be '/'"),
    (["-p", "1.2.3:80:80", "busybox"], "Invalid ip address: 1.2.3"),
    (["-p", "80:http", "busybox"], "Invalid containerPort: http"),
    (["-p", "80/sctp", "busybox"], "Invalid proto: sctp"),
    (["--expose", "1:2", "busybox"], "Invalid port format for --expose"),
    (["--restart", "always:3", "busybox"], "maximum restart count not valid"),
    (["--restart", "sometimes", "busybox"], "invalid restart policy sometimes"),
    (["--net", "wifi", "busybox"], "invalid --net: wifi"),
    (["--net", "container:", "busybox"], "invalid container format"),
    (["--dns", "resolver", "busybox"], "resolver is not an ip address"),
    (["-m", "1x", "busybox"], "Invalid size: '1x'"),
])
def test_invalid_flags(argv, message):
    with pytest.raises(SpecError, match=message.replace("(", r"\(").replace(")", r"\)")):
        body(*argv)


def test_memory_units():
    assert [parse_memory(v) for v in ("100", "1k", "2M", "1g", "512mb", "3b")] == \
        [100, 1024, 2 << 20, 1 << 30, 512 << 20, 3]


def test_port_specs_repeat_bindings():
    exposed, bindings = parse_port_specs(["80:80", "81:80"])
    assert list(exposed) == ["80/tcp"]
    assert [(b.host_ip, b.host_port) for b in bindings["80/tcp"]] == [("", "80"), ("", "81")]
