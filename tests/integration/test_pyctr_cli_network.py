"""`pyctr network ...` against a real pyctrd, side by side with the docker CLI 28
against the same daemon: output, exit codes and errors, and what each verb did."""

from __future__ import annotations

import json
import os
import random

import pytest

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")


def text(result) -> str:
    return result.stdout.decode()


def same_error(daemon, *argv: str, input: bytes | None = None):
    """Both CLIs refuse `argv` with the same exit code and the same stderr (names aside)."""
    ours = daemon.pyctr(*argv, input=input, check=False)
    theirs = daemon.docker(*argv, input=input, check=False)
    assert ours.returncode == theirs.returncode != 0, (argv, ours, theirs)
    assert ours.stderr.decode() == theirs.stderr.decode().replace("docker", "pyctr"), argv
    assert ours.stdout == theirs.stdout, argv
    return ours


def network_ids(daemon) -> list[str]:
    return sorted(daemon.pyctr("network", "ls", "-q", "--no-trunc").stdout.split())


@pytest.fixture
def subnets():
    """Two /24s for this test's networks (10.2xx, away from the daemon's own pool)."""
    first = random.randrange(200, 250)
    third = random.randrange(0, 250)
    return [f"10.{first}.{third + k}" for k in (0, 1)]


@pytest.fixture
def cleanup(daemon):
    names: list[str] = []
    yield names
    for name in names:
        daemon.pyctr("rm", "-f", name, check=False)
    for name in names:
        daemon.pyctr("network", "rm", "-f", name, check=False)


def test_create_ls_inspect_rm_as_docker(daemon, subnets, cleanup):
    cleanup.extend(["pnet", "dnet", "pint", "nnet10", "nnet9"])
    made = {}
    for cli, name, net in ((daemon.pyctr, "pnet", subnets[0]), (daemon.docker, "dnet", subnets[1])):
        out = cli("network", "create", "--subnet", f"{net}.0/24", "--gateway", f"{net}.1",
                  "--ip-range", f"{net}.128/25", "--label", "side=x", "-d", "bridge", name)
        made[name] = text(out).strip()
        assert len(made[name]) == 64 and out.stderr == b""
    shape = "{{.Driver}} {{.Internal}} {{json .IPAM.Config}} {{json .Labels}} {{.Scope}}"
    ours, theirs = (text(daemon.docker("network", "inspect", "-f", shape, n)) for n in ("pnet", "dnet"))
    assert ours.replace(subnets[0], "S") == theirs.replace(subnets[1], "S")
    assert f'"Gateway":"{subnets[0]}.1"' in ours and f'"IPRange":"{subnets[0]}.128/25"' in ours
    assert made["pnet"] == text(daemon.docker("network", "inspect", "-f", "{{.Id}}", "pnet")).strip()

    daemon.pyctr("network", "create", "--internal", "pint")
    assert text(daemon.docker("network", "inspect", "-f", "{{.Internal}}", "pint")) == "true\n"
    daemon.pyctr("network", "create", "nnet10")
    daemon.pyctr("network", "create", "nnet9")

    for argv in (["ls"], ["list"], ["ls", "-q"], ["ls", "--no-trunc"], ["ls", "-q", "--no-trunc"],
                 ["ls", "--format", "json"], ["ls", "--filter", "label=side=x"], ["ls", "-f", "driver=bridge"],
                 ["ls", "--filter", "name=nnet", "--format", "{{.Name}}"],
                 ["ls", "--format", "table {{.Name}}\\t{{.Internal}}\\t{{.Labels}}"],
                 ["ls", "--format", "{{.ID}} {{.Labels}} {{.IPv6}} {{.CreatedAt}}", "-f", "label=side"],
                 ["ls", "-q", "--format", "{{.Name}}"], ["ls", "--format", "table"]):
        ours, theirs = daemon.pyctr("network", *argv), daemon.docker("network", *argv)
        assert text(ours) == text(theirs), argv
    assert text(daemon.pyctr("network", "ls", "--filter", "name=nnet", "--format", "{{.Name}}")) == \
        "nnet9\nnnet10\n"  # natural order
    cleanup.append("lnet")
    daemon.pyctr("network", "create", "--label", "b=", "--label", "a=1", "lnet")  # labels sorted
    assert text(daemon.pyctr("network", "ls", "-f", "name=lnet", "--format", "{{.Labels}}")) == "a=1,b=\n"

    for argv in (["pnet"], ["pnet", "bridge"], ["-f", "{{.Name}} {{json .IPAM}}", "pnet", "pint"],
                 ["--format", "json", "pint"]):
        ours, theirs = daemon.pyctr("network", "inspect", *argv), daemon.docker("network", "inspect", *argv)
        assert json_or_text(ours) == json_or_text(theirs), argv

    # partial failures: what was found is shown, each failure reported, exit 1
    same_error(daemon, "network", "inspect", "pnet", "nosuch")
    same_error(daemon, "network", "inspect", "-f", "{{.Name}}", "nosuch", "pnet")
    removed = daemon.pyctr("network", "rm", "nnet10", "nosuch", "nnet9", check=False)
    assert (removed.returncode, text(removed)) == (1, "nnet10\nnnet9\n")
    assert removed.stderr == b"Error response from daemon: network nosuch not found\nexit status 1\n"
    docker_rm = daemon.docker("network", "rm", "nosuch", check=False)
    assert removed.stderr.endswith(docker_rm.stderr) and docker_rm.returncode == 1
    assert daemon.pyctr("network", "rm", "-f", "nosuch").stdout == b""
    assert text(daemon.pyctr("network", "remove", "pint")) == "pint\n"
    assert "pint" not in text(daemon.docker("network", "ls"))


def json_or_text(result):
    try:
        return json.loads(result.stdout)
    except ValueError:
        return text(result)


def test_refusals_as_docker_and_nothing_half_made(daemon, subnets, cleanup):
    cleanup.extend(["rdup", "rnosub"])
    daemon.pyctr("network", "create", "rdup")
    daemon.pyctr("network", "create", "rnosub")
    before = network_ids(daemon)
    net = subnets[0]
    for argv in (["create", "rdup"], ["create", "--ip-range", f"{net}.0/25", "rnew"],
                 ["create", "--subnet", f"{net}.0/24", "--gateway", "10.9.9.1", "rnew"],
                 ["create", "--subnet", f"{net}.0/24", "--gateway", f"{net}.1", "--gateway", f"{net}.2", "rnew"],
                 ["create", "--subnet", f"{net}.0/24", "--aux-address", "a=10.9.9.3", "rnew"],
                 ["create", "--subnet", "bad", "rnew"], ["create"], ["create", "a", "b"],
                 ["ls", "--filter", "bogus=1"], ["ls", "extra"], ["ls", "--bogus"], ["ls", "--format", "{{.Name"],
                 ["connect", "rdup"], ["connect", "nosuch", "nosuch"], ["disconnect", "rdup"], ["rm"],
                 ["inspect"], ["inspect", "nosuch"], ["bogus"], ["prune", "-f", "--filter", "bogus=1"]):
        same_error(daemon, "network", *argv)
    assert network_ids(daemon) == before
    ours = daemon.pyctr("network", "create", "--ipv4=false", "rnew", check=False)
    assert ours.returncode == 1 and b"--ipv4=false" in ours.stderr
    assert network_ids(daemon) == before
    ours, theirs = daemon.pyctr("network"), daemon.docker("network")
    assert ours.stderr == theirs.stderr.replace(b"docker", b"pyctr") and ours.returncode == theirs.returncode == 0


def test_connect_disconnect_as_docker(daemon, subnets, cleanup):
    cleanup.extend(["cweb", "cdb", "cnet", "cplain"])
    net = subnets[0]
    daemon.pyctr("network", "create", "--subnet", f"{net}.0/24", "cnet")
    daemon.pyctr("network", "create", "cplain")
    for name in ("cweb", "cdb"):
        daemon.pyctr("run", "-d", "--name", name, "busybox", "sleep", "1000")
    shape = '{{json (index .NetworkSettings.Networks "cnet").Aliases}} ' \
            '{{(index .NetworkSettings.Networks "cnet").IPAMConfig.IPv4Address}} ' \
            '{{(index .NetworkSettings.Networks "cnet").IPAddress}}'
    assert daemon.pyctr("network", "connect", "--alias", "web", "--alias", "w2", "--ip", f"{net}.200",
                        "cnet", "cweb").stdout == b""
    daemon.docker("network", "connect", "--alias", "web", "--alias", "w2", "--ip", f"{net}.201", "cnet", "cdb")
    ours = text(daemon.docker("inspect", "-f", shape, "cweb"))
    theirs = text(daemon.docker("inspect", "-f", shape, "cdb"))
    assert ours.split(" ")[1:] == [f"{net}.200", f"{net}.200\n"]
    assert json.loads(ours.split(" ")[0])[:2] == ["web", "w2"]
    assert json.loads(ours.split(" ")[0])[:2] == json.loads(theirs.split(" ")[0])[:2]
    # the container really is on it: it reaches the other by the address it was given
    assert daemon.pyctr("exec", "cweb", "ping", "-c", "1", "-W", "5", f"{net}.201").returncode == 0

    same_error(daemon, "network", "connect", "cnet", "cweb")            # already there
    same_error(daemon, "network", "connect", "cnet", "nosuch")
    same_error(daemon, "network", "connect", "--ip", "10.9.9.9", "cplain", "cweb")
    assert daemon.pyctr("network", "disconnect", "cnet", "cweb").stdout == b""
    daemon.docker("network", "disconnect", "-f", "cnet", "cdb")
    for name in ("cweb", "cdb"):
        networks = json.loads(daemon.docker("inspect", "-f", "{{json .NetworkSettings.Networks}}", name).stdout)
        assert "cnet" not in networks
    same_error(daemon, "network", "disconnect", "cnet", "cweb")          # not connected any more


def test_prune_as_docker(daemon, cleanup):
    cleanup.extend(["pr1", "pr2", "pr3", "pkeep", "prc"])
    for name, label in (("pr1", "zz=1"), ("pr2", "zz=1"), ("pr3", "zz=2"), ("pkeep", "keep=1")):
        daemon.pyctr("network", "create", "--label", label, name)
    daemon.docker("run", "-d", "--name", "prc", "--network", "pkeep", "busybox", "sleep", "1000")
    before = network_ids(daemon)
    # no answer on stdin is a no, with docker's prompt
    ours, theirs = (cli("network", "prune", input=b"") for cli in (daemon.pyctr, daemon.docker))
    assert text(ours) == text(theirs) and "Are you sure you want to continue? [y/N] " in text(ours)
    assert network_ids(daemon) == before
    ours = daemon.pyctr("network", "prune", "-f", "--filter", "label=zz=1")
    assert text(ours) in ("Deleted Networks:\npr1\npr2\n\n", "Deleted Networks:\npr2\npr1\n\n")
    names = text(daemon.docker("network", "ls", "--format", "{{.Name}}")).split()
    assert "pr1" not in names and "pr2" not in names and "pr3" in names
    assert daemon.pyctr("network", "prune", "-f", "--filter", "label=zz=1").stdout == b""  # nothing left
    theirs = daemon.docker("network", "prune", "-f", "--filter", "label=zz")
    assert text(theirs) == "Deleted Networks:\npr3\n\n"
    # a confirmed prune keeps the network a container uses
    ours = daemon.pyctr("network", "prune", "--filter", "label=keep", input=b"y\n")
    assert text(ours).endswith("[y/N] ")
    assert "pkeep" in text(daemon.docker("network", "ls"))
