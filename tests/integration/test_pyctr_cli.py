"""The `pyctr` command-line client against a real pyctrd: the commands of the
engine-core and containers issues, their output formats and exit codes."""

from __future__ import annotations

import os
import re

import pytest

from harness import layer_tar

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")


def out(result) -> str:
    return result.stdout.decode()




def test_version_and_info(daemon):
    version = out(daemon.pyctr("version"))
    assert "Server API version: 1.41" in version
    info = out(daemon.pyctr("info"))
    assert "Containers:" in info and "Images:" in info and "Storage Driver:" in info


def test_image_commands(daemon):
    image_id = out(daemon.pyctr("import", "-", "cli/one:1", input=layer_tar({"a": b"1"}))).strip()
    assert re.fullmatch(r"[0-9a-f]{64}", image_id)
    images = out(daemon.pyctr("images"))
    assert images.splitlines()[0].split()[:3] == ["REPOSITORY", "TAG", "IMAGE"]
    assert re.search(r"cli/one\s+1\s+" + image_id[:12], images)
    assert image_id[:12] in out(daemon.pyctr("images", "-q"))
    assert image_id in out(daemon.pyctr("images", "--no-trunc"))
    tree = out(daemon.pyctr("images", "--tree"))
    assert f"{image_id[:12]} Virtual Size:" in tree and "Tags: cli/one:1" in tree
    daemon.pyctr("tag", "cli/one:1", "cli/one:2")
    assert "cli/one:1" in out(daemon.pyctr("inspect", "-f", "{{.Id}}", "cli/one:2")) or \
        out(daemon.pyctr("inspect", "-f", "{{.Id}}", "cli/one:2")).strip() == image_id
    assert image_id[:12] in out(daemon.pyctr("history", "cli/one:2"))
    assert "Untagged: cli/one:1" in out(daemon.pyctr("rmi", "cli/one:1"))
    removed = out(daemon.pyctr("rmi", "-f", image_id))
    assert f"Deleted: {image_id}" in removed
    failed = daemon.pyctr("rmi", "cli/nosuch", check=False)
    assert failed.returncode == 1 and b"No such image" in failed.stderr


def test_run_and_container_commands(daemon):
    assert out(daemon.pyctr("run", "busybox", "echo", "hello")) == "hello\n"
    assert daemon.pyctr("run", "--rm", "busybox", "sh", "-c", "exit 3", check=False).returncode == 3
    cid = out(daemon.pyctr("run", "-d", "--name", "pweb", "busybox", "sleep", "1000")).strip()
    try:
        ps = out(daemon.pyctr("ps"))
        assert ps.splitlines()[0].split()[:2] == ["CONTAINER", "ID"] and "pweb" in ps
        assert cid[:12] in out(daemon.pyctr("ps", "-a", "-q"))
        assert "pweb" in out(daemon.pyctr("ps", "-l"))
        assert "SIZE" in out(daemon.pyctr("ps", "-s")).splitlines()[0]
        assert out(daemon.pyctr("inspect", "-f", "{{.State.Running}}", "pweb")).strip() == "true"
        daemon.pyctr("stop", "-t", "1", "pweb")
        assert out(daemon.pyctr("inspect", "-f", "{{.State.ExitCode}}", "pweb")).strip() == "137"
        daemon.pyctr("start", "pweb")
        daemon.pyctr("restart", "-t", "1", "pweb")
        daemon.pyctr("kill", "-s", "KILL", "pweb")
        assert out(daemon.pyctr("wait", "pweb")).strip() == "137"
    finally:
        daemon.pyctr("rm", "-f", "pweb", check=False)
    assert "pweb" not in out(daemon.pyctr("ps", "-a"))


def test_create_logs_and_errors(daemon):
    daemon.pyctr("create", "--name", "pc1", "-e", "A=1", "-w", "/tmp", "-u", "nobody", "-h", "myhost",
                 "--entrypoint", "/bin/sh", "busybox", "-c", "id -u; pwd; hostname; echo $A")
    try:
        assert out(daemon.pyctr("start", "-a", "pc1")).split() == ["65534", "/tmp", "myhost", "1"]
        assert out(daemon.pyctr("logs", "pc1")).split() == ["65534", "/tmp", "myhost", "1"]
        stamped = out(daemon.pyctr("logs", "-t", "pc1")).splitlines()
        assert stamped[-1].endswith(" 1") and stamped[-1][:4].isdigit()
        assert out(daemon.pyctr("logs", "--tail", "1", "pc1")) == "1\n"
        dup = daemon.pyctr("create", "--name", "pc1", "busybox", "true", check=False)
        assert dup.returncode == 1 and b"already in use" in dup.stderr
    finally:
        daemon.pyctr("rm", "pc1")
    missing = daemon.pyctr("run", "nosuchimage", "true", check=False)
    assert missing.returncode != 0 and b"nosuchimage" in missing.stderr
    notfound = daemon.pyctr("run", "--rm", "busybox", "nosuchcmd", check=False)
    assert notfound.returncode == 127 and b"nosuchcmd" in notfound.stderr
    many = daemon.pyctr("rm", "nosuch1", "nosuch2", check=False)
    assert many.returncode == 1 and many.stderr.count(b"No such container") == 2


def test_unreachable_daemon_message(tmp_path):
    import subprocess
    import sys
    result = subprocess.run([sys.executable, "-m", "pyctr.shell.cli", "-H", f"unix://{tmp_path}/none.sock", "ps"],
                            capture_output=True)
    assert result.returncode == 1 and b"Is pyctrd running?" in result.stderr


def test_inspect_falls_back_to_images_with_slashes(daemon):
    daemon.pyctr("import", "-", "cli/slash:1", input=layer_tar({"a": b"1"}))
    try:
        assert out(daemon.pyctr("inspect", "-f", "{{.Size}}", "cli/slash:1")).strip() == "1"
        missing = daemon.pyctr("inspect", "no/such/thing", check=False)
        assert missing.returncode == 1 and b"No such" in missing.stderr
    finally:
        daemon.pyctr("rmi", "cli/slash:1")


def test_path_parameters_are_escaped(daemon):
    """`diff /dev/null` and names with URL characters reach the daemon as the one name they
    are (escaped in the path), so its answer is the clear "No such container" of that name;
    the docker CLI fails the same way (exit 1)."""
    for name in ("/dev/null", "../x", "a b?c#%", "dev/null/.."):
        ours = daemon.pyctr("diff", name, check=False)
        theirs = daemon.docker("diff", name, check=False)
        assert ours.returncode == theirs.returncode == 1, (name, ours, theirs)
        assert ours.stderr.decode() == f"Error response from daemon: No such container: {name}\n"
    daemon.pyctr("tag", "busybox", "127.0.0.1:5000/cli/esc:t")
    try:
        assert out(daemon.pyctr("inspect", "-f", "{{.Id}}", "127.0.0.1:5000/cli/esc:t")).strip()
    finally:
        daemon.pyctr("rmi", "127.0.0.1:5000/cli/esc:t")
