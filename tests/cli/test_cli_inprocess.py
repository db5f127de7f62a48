"""`main()` end to end in-process against a real pyctrd (one per module, busybox
imported): output, exit codes and what the daemon holds afterwards."""

import json
import os
import re

import pytest

from harness import layer_tar, wait_for
from pyctr.engine.client.api import APIError
from registry.conftest import open_registry  # noqa: F401 (fixture: a real registry on 127.0.0.1)

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root and a real kernel")


def names(daemon) -> set[str]:
    return {n.lstrip("/") for c in daemon.client().json("GET", "/containers/json", {"all": 1})
            for n in c["Names"]}


def test_run_attaches_starts_waits_and_exits_with_the_code(daemon, pyctr):
    result = pyctr("run", "--name", "runcode", "-e", "A=1", "busybox",
                   "sh", "-c", "echo hi $A; echo warn >&2; exit 3")
    assert (result.status, result.out, result.err) == (3, "hi 1\n", "warn\n")
    info = daemon.client().json("GET", "/containers/runcode/json")
    assert info["Config"]["Cmd"] == ["sh", "-c", "echo hi $A; echo warn >&2; exit 3"]
    assert info["HostConfig"]["NetworkMode"] in ("bridge", "default")
    assert (info["State"]["Running"], info["State"]["ExitCode"]) == (False, 3)
    daemon.pyctr("rm", "runcode")


def test_run_rm_removes_with_volumes(daemon, pyctr):
    volumes_before = {v["Name"] for v in daemon.client().json("GET", "/volumes")["Volumes"] or []}
    result = pyctr("run", "--rm", "--name", "runrm", "-v", "/data", "busybox", "echo", "hi")
    assert (result.status, result.out) == (0, "hi\n")
    assert "runrm" not in names(daemon)
    # the anonymous /data volume goes with it: the daemon's AutoRemove removes it just after
    # the container (the client returns once the container is gone)
    wait_for(lambda: {v["Name"] for v in daemon.client().json("GET", "/volumes")["Volumes"] or []}
             == volumes_before)


def test_run_detached_prints_id(daemon, pyctr):
    result = pyctr("run", "-d", "--name", "runbg", "busybox", "sleep", "60")
    assert result.status == 0 and re.fullmatch(r"[0-9a-f]{64}\n", result.out)
    info = daemon.client().json("GET", "/containers/runbg/json")
    assert info["Id"] == result.out.strip() and info["State"]["Running"] is True
    assert pyctr("rm", "-f", "runbg").status == 0


def test_run_with_stdin(daemon, pyctr):
    result = pyctr("run", "-i", "--rm", "busybox", "tr", "a-z", "A-Z", stdin=b"piped text\n")
    assert (result.status, result.out, result.err) == (0, "PIPED TEXT\n", "")


def test_run_unknown_image(daemon, pyctr):
    """As docker: a missing image is pulled; with the default registry off (every test
    daemon) the pull fails with a message and nothing is created."""
    before = names(daemon)
    result = pyctr("run", "nosuch")
    assert result.status == 125   # run's errors before the container runs, as docker 28's
    assert result.err.startswith("Unable to find image 'nosuch:latest' locally\npyctr: Error response from daemon: ")
    assert "no default registry" in result.err
    assert result.err.endswith("\n\nRun 'pyctr run --help' for more information\n")
    assert names(daemon) == before


def test_run_pulls_a_missing_image_then_creates(daemon, pyctr, open_registry):
    """As docker: create finds no image, pulls it (progress on stderr), creates."""
    name = f"{open_registry.address}/cli/app:1"
    daemon.pyctr("tag", "busybox", name)
    daemon.pyctr("push", name)
    daemon.pyctr("rmi", name)
    result = pyctr("create", "--name", "pulled", name, "true")
    assert result.status == 0 and re.fullmatch(r"[0-9a-f]{64}\n", result.out), result
    assert f"Unable to find image '{name}' locally" in result.err
    assert f"Status: Downloaded newer image for {name}" in result.err
    assert daemon.client().json("GET", "/containers/pulled/json")["Id"] == result.out.strip()
    daemon.pyctr("rm", "pulled")
    daemon.pyctr("rmi", name)


def test_rm_continues_on_error(daemon, pyctr):
    for name in ("rma", "rmc"):
        daemon.pyctr("create", "--name", name, "busybox", "true")
    result = pyctr("rm", "-f", "rma", "rmb", "rmc")
    assert (result.status, result.out) == (1, "rma\nrmc\n")
    assert result.err == "Error response from daemon: No such container: rmb\n"
    assert not {"rma", "rmc"} & names(daemon)


def test_images_and_rmi(daemon, pyctr):
    busybox = daemon.client().json("GET", "/images/busybox/json")["Id"]
    short = busybox.removeprefix("sha256:")[:12]
    assert short in pyctr("images", "-q").out.split()
    image = daemon.pyctr("import", "-", "cli/rmi:1", input=layer_tar({"f": b"1"})).stdout.decode().strip()
    image_short = image.removeprefix("sha256:")[:12]
    dangling = daemon.pyctr("import", "-", input=layer_tar({"g": b"2"})).stdout.decode().strip()
    listed = pyctr("images", "-q", "-f", "dangling=true").out.split()
    assert dangling.removeprefix("sha256:")[:12] in listed and short not in listed
    result = pyctr("rmi", "cli/rmi:1")
    assert result.status == 0
    assert result.out.splitlines()[0] == "Untagged: cli/rmi:1"
    assert any(line.startswith("Deleted: ") and image_short in line for line in result.out.splitlines())
    with pytest.raises(APIError):
        daemon.client().json("GET", f"/images/{image}/json")
    daemon.pyctr("rmi", dangling)


def test_inspect_format_and_fallback_to_image(daemon, pyctr):
    daemon.pyctr("run", "--name", "web", "busybox", "true")
    result = pyctr("inspect", "-f", "{{.Name}} {{.State.ExitCode}}", "web")
    assert (result.status, result.out) == (0, "/web 0\n")
    result = pyctr("inspect", "busybox", "nope")
    assert result.status == 1
    [image] = json.loads(result.out)
    assert image["Id"] == daemon.client().json("GET", "/images/busybox/json")["Id"]
    assert result.err == "Error: No such image or container: nope\n"
    result = pyctr("inspect", "-f", "{{.Nope}}", "web")
    assert result.status == 1 and 'map has no entry for key "Nope"' in result.err
    assert pyctr("inspect", "-f", "{{.Name", "web").status == 64
    daemon.pyctr("rm", "web")


def test_port_and_wait(daemon, pyctr):
    daemon.pyctr("run", "-d", "--name", "ported", "-p", "127.0.0.1::8080", "busybox", "sleep", "60")
    host_port = daemon.client().json("GET", "/containers/ported/json")[
        "NetworkSettings"]["Ports"]["8080/tcp"][0]["HostPort"]
    assert pyctr("port", "ported", "8080").out == f"127.0.0.1:{host_port}\n"
    assert pyctr("port", "ported", "8080/tcp").out == f"127.0.0.1:{host_port}\n"
    missing = pyctr("port", "ported", "9/udp")
    assert missing.status == 1 and missing.err == "Error: No public port '9/udp' published for ported\n"
    daemon.pyctr("rm", "-f", "ported")
    daemon.pyctr("run", "-d", "--name", "waited", "busybox", "sh", "-c", "exit 7")
    assert pyctr("wait", "waited").out == "7\n"
    daemon.pyctr("rm", "waited")


def test_import_from_stdin_streams_progress(daemon, pyctr):
    result = pyctr("import", "-", "cli/imp:v1", stdin=layer_tar({"hello": b"world\n"}))
    assert result.status == 0 and re.fullmatch(r"(sha256:)?[0-9a-f]{64}\n", result.out)
    info = daemon.client().json("GET", "/images/cli/imp:v1/json")
    assert info["Id"].removeprefix("sha256:") == result.out.strip().removeprefix("sha256:")
    daemon.pyctr("rmi", "cli/imp:v1")


def test_pull_error_message_fails(daemon, pyctr, open_registry):
    """Pulls the daemon cannot do, each from a real state: the default registry off, a
    registry on 127.0.0.1 that nothing listens on, a tag a real registry does not have."""
    result = pyctr("pull", "nosuch")
    assert (result.status, result.out) == (1, "") and "no default registry" in result.err, result
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]   # closed again: nothing answers there
    result = pyctr("pull", f"127.0.0.1:{port}/nosuch:1")
    assert result.status == 1 and f"registry 127.0.0.1:{port} is not reachable" in result.err, result
    result = pyctr("pull", f"{open_registry.address}/cli/nosuch:1")
    assert result.status == 1 and result.err.strip() and "nosuch" in result.err, result
    images = {t for i in daemon.client().json("GET", "/images/json") for t in i.get("RepoTags") or []}
    assert not any("nosuch" in t for t in images)


def test_logs_demuxes(daemon, pyctr):
    daemon.pyctr("run", "--name", "logged", "busybox", "sh", "-c",
                 "echo out; echo err >&2; echo more")
    result = pyctr("logs", "logged")
    assert (result.status, result.out, result.err) == (0, "out\nmore\n", "err\n")
    # --tail on one stream only: the order of lines across stdout and stderr is the
    # order the daemon read its two pipes in (as in docker), not a fixed one
    daemon.pyctr("run", "--name", "tailed", "busybox", "sh", "-c", "echo one; echo two; echo three")
    result = pyctr("logs", "--tail", "2", "tailed")
    assert (result.status, result.out, result.err) == (0, "two\nthree\n", ""), result
    stamped = pyctr("logs", "-t", "--tail", "1", "tailed")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\S+ three\n", stamped.out), stamped
    daemon.pyctr("rm", "tailed")
    daemon.pyctr("rm", "logged")


def test_usage_errors_and_daemon_down(pyctr):
    result = pyctr("rm")
    assert result.status == 2 and '"pyctr rm" requires at least 1 argument.' in result.err
    assert pyctr("frobnicate").status == 2
    assert pyctr("ps", "--bogus").err.startswith("flag provided but not defined: --bogus")
    down = pyctr("ps", environ={"PYCTR_HOST": "unix:///nonexistent/pyctr.sock"})
    assert down.status == 1
    assert down.err == ("Cannot connect to the pyctr daemon at unix:///nonexistent/pyctr.sock. "
                        "Is pyctrd running?\n")


def test_version_and_global_flags(daemon):
    from pyctr.shell.cli import main
    import io
    out = io.StringIO()
    assert main(["--version"], stdout=out) == 0 and out.getvalue() == "pyctr version 0.1.0\n"
    server = daemon.client().json("GET", "/version")
    out, err = io.StringIO(), io.StringIO()
    assert main(["-H", daemon.host, "version"], stdout=out, stderr=err, environ={}) == 0, err.getvalue()
    assert re.search(r"Client API version: 1\.\d+\n", out.getvalue())
    assert f"Server version: {server['Version']}\nServer API version: {server['ApiVersion']}\n" \
        in out.getvalue()
