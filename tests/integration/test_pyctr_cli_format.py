"""`--format` on the list verbs (ps, images; network ls, volume ls, system df and stats
have theirs in their own tests): Go templates, `table ...` and `json` through
shell/gotemplate.py, compared with the docker CLI 28 against the same pyctrd."""

from __future__ import annotations

import os

import pytest

from harness import without_ages

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")


def agree(daemon, *argv: str) -> str:
    """Both CLIs print the same, but for ages ("2 seconds ago"), which may turn between
    the two runs (and with them the padding of a table), and for the order of rows that
    tie (two tags of one image: docker's order among them is Go's map order)."""
    ours, theirs = daemon.pyctr(*argv, check=False), daemon.docker(*argv, check=False)
    assert ours.returncode == theirs.returncode, (argv, ours, theirs)
    if ours.stdout != theirs.stdout:
        a, b = without_ages(ours.stdout.decode()), without_ages(theirs.stdout.decode())
        assert sorted(a) == sorted(b), argv
    return ours.stdout.decode()


@pytest.fixture
def scene(daemon):
    daemon.docker("run", "-d", "--name", "fweb", "--label", "tier=web", "-v", "fvol:/data", "busybox", "sleep", "1000")
    daemon.pyctr("create", "--name", "fdone", "busybox", "sh", "-c", "echo a very long command line here")
    daemon.pyctr("tag", "busybox", "fmt/box:v1")
    yield
    for name in ("fweb", "fdone"):
        daemon.pyctr("rm", "-f", name, check=False)
    daemon.pyctr("rmi", "fmt/box:v1", check=False)
    daemon.pyctr("volume", "rm", "-f", "fvol", check=False)


PS_FORMATS = ["json", "table", "{{.Names}}", "{{.ID}}: {{.Command}} {{.State}}",
              "table {{.ID}}\\t{{.Image}}\\t{{.Names}}\\t{{.Labels}}\\t{{.Mounts}}\\t{{.Networks}}\\t{{.LocalVolumes}}",
              "table {{.Names}}\\t{{.Size}}", "{{.CreatedAt}} {{.RunningFor}} {{.Status}}",
              "{{json .Labels}} {{upper .Names}} {{if eq .State \"running\"}}up{{else}}down{{end}}"]


@pytest.mark.parametrize("fmt", PS_FORMATS)
def test_ps_format_as_docker(daemon, scene, fmt):
    for extra in ([], ["-a"], ["-a", "--no-trunc"], ["-a", "-q"], ["--filter", "label=tier=web"]):
        agree(daemon, "ps", *extra, "--format", fmt)


IMAGE_FORMATS = ["json", "table", "{{.Repository}}:{{.Tag}}", "{{.ID}} {{.Size}} {{.Containers}}",
                 "table {{.Repository}}\\t{{.Tag}}\\t{{.Digest}}\\t{{.SharedSize}}\\t{{.UniqueSize}}\\t{{.VirtualSize}}",
                 "table {{.ID}}\\t{{.CreatedAt}}\\t{{.CreatedSince}}"]


@pytest.mark.parametrize("fmt", IMAGE_FORMATS)
def test_images_format_as_docker(daemon, scene, fmt):
    for extra in ([], ["--no-trunc"], ["-q"], ["fmt/box"], ["--filter", "reference=busybox"]):
        agree(daemon, "images", "--format", fmt, *extra)  # flags first: the grammar stops at a positional


def test_format_errors_as_docker(daemon, scene):
    for argv in (["ps", "--format", "{{.Nope}}"], ["images", "--format", "{{.Nope}}"], ["ps", "--format", "{{.Names"],
                 ["images", "--format", "{{.ID"]):
        ours, theirs = daemon.pyctr(*argv, check=False), daemon.docker(*argv, check=False)
        assert ours.returncode == theirs.returncode != 0 and ours.stdout == theirs.stdout == b"", (argv, ours, theirs)
        assert ours.stderr.startswith(b"template parsing error: ") or ours.stderr.startswith(b"template: "), ours.stderr
    # without --format, ps and images keep pyctr's Docker 1.2 tables
    assert daemon.pyctr("ps").stdout.startswith(b"CONTAINER ID        IMAGE")


def test_ps_ports_format_as_docker(daemon):
    import random

    port = random.randrange(20000, 30000)
    daemon.docker("run", "-d", "--name", "fports", "-p", f"127.0.0.1:{port}:80", "-p", f"{port + 1}:81/udp",
                  "--expose", "90", "busybox", "sleep", "1000")
    try:
        shown = agree(daemon, "ps", "--filter", "name=fports", "--format", "{{.Ports}}")
        assert shown == f"90/tcp, 127.0.0.1:{port}->80/tcp, 0.0.0.0:{port + 1}->81/udp\n"
        agree(daemon, "ps", "--filter", "name=fports", "--format", "table {{.Names}}\\t{{.Ports}}")
    finally:
        daemon.pyctr("rm", "-f", "fports", check=False)


def test_label_method_as_docker(daemon, scene):
    daemon.pyctr("network", "create", "--label", "side=x", "flnet")
    daemon.pyctr("volume", "create", "--label", "side=v", "flvol")
    try:
        for argv in (["ps", "-a", "--format", '{{.Names}} {{.Label "tier"}}'],
                     ["ps", "-a", "--format", 'table {{.Names}}\\t{{.Label "tier"}}'],
                     ["network", "ls", "--format", '{{.Name}} {{.Label "side"}}'],
                     ["network", "ls", "--format", 'table {{.Name}}\\t{{.Label "side"}}'],
                     ["volume", "ls", "--format", '{{.Name}} {{.Label "side"}}'],
                     ["ps", "-a", "--format", "json"], ["network", "ls", "--format", "json"]):
            agree(daemon, *argv)
        assert "fweb web" in agree(daemon, "ps", "-a", "--format", '{{.Names}} {{.Label "tier"}}')
        # images have no .Label in docker 28: refused alike
        ours = daemon.pyctr("images", "--format", '{{.Label "x"}}', check=False)
        theirs = daemon.docker("images", "--format", '{{.Label "x"}}', check=False)
        assert ours.returncode == theirs.returncode == 1 and ours.stdout == theirs.stdout == b""
    finally:
        daemon.pyctr("network", "rm", "flnet", check=False)
        daemon.pyctr("volume", "rm", "flvol", check=False)
