"""`pyctr container ...` and `pyctr image ...` against a real pyctrd: the management
forms run the same verbs as the top-level ones, and where docker 28's output has our
shape (typed inspect, prune, the group listings) it is the docker CLI's."""

from __future__ import annotations

import os
import re

import pytest

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")


def text(result) -> str:
    return result.stdout.decode()


def verbs(usage: bytes) -> list[str]:
    return re.findall(r"^  (\S+)\s", usage.decode(), re.M)


def same(daemon, *argv: str, input: bytes | None = None):
    ours, theirs = daemon.pyctr(*argv, input=input, check=False), daemon.docker(*argv, input=input, check=False)
    assert ours.returncode == theirs.returncode, (argv, ours, theirs)
    assert ours.stdout == theirs.stdout, argv
    assert ours.stderr.decode() == theirs.stderr.decode().replace("docker", "pyctr"), argv
    return ours


@pytest.fixture
def box(daemon):
    daemon.pyctr("run", "-d", "--name", "gbox", "busybox", "sleep", "1000")
    yield "gbox"
    for name in ("gbox", "gdead", "gdead2", "gmade"):
        daemon.pyctr("rm", "-f", name, check=False)


@pytest.mark.parametrize("name", ["container", "image"])
def test_groups_list_dockers_verbs(daemon, name):
    ours, theirs = daemon.pyctr(name), daemon.docker(name)
    assert verbs(ours.stderr) == verbs(theirs.stderr) and len(verbs(ours.stderr)) >= 12
    assert ours.returncode == theirs.returncode == 0
    same(daemon, name, "bogus")
    assert daemon.pyctr(name, "--help").stdout == ours.stderr


def test_container_forms_are_the_top_level_verbs(daemon, box):
    # the table's ages move between two runs, and with them its column widths (a loaded
    # machine shows "Less than a second" in one): its header words and ids must agree
    ours, top = text(daemon.pyctr("container", "ls")).splitlines(), text(daemon.pyctr("ps")).splitlines()
    assert ours[0].split() == top[0].split() and [r.split()[0] for r in ours[1:]] == [r.split()[0] for r in top[1:]]
    for group_form, top in ((["container", "ls", "-q"], ["ps", "-q"]), (["container", "ps", "-a", "-q"], ["ps", "-a", "-q"]),
                            (["container", "list", "-q", "--no-trunc"], ["ps", "-q", "--no-trunc"]),
                            (["container", "top", "gbox"], ["top", "gbox"]),
                            (["container", "port", "gbox"], ["port", "gbox"]),
                            (["container", "logs", "gbox"], ["logs", "gbox"]),
                            (["container", "exec", "gbox", "echo", "hi"], ["exec", "gbox", "echo", "hi"])):
        assert text(daemon.pyctr(*group_form)) == text(daemon.pyctr(*top)), group_form
    assert text(daemon.pyctr("container", "create", "--name", "gmade", "busybox", "true")).strip()
    assert text(daemon.pyctr("container", "start", "gmade")) == "gmade\n"
    assert text(daemon.pyctr("container", "wait", "gmade")) == "0\n"
    assert text(daemon.pyctr("container", "rename", "gmade", "gdead")) == ""
    assert text(daemon.pyctr("container", "run", "--name", "gdead2", "busybox", "echo", "ran")) == "ran\n"
    for verb in ("pause", "unpause", "restart"):
        assert text(daemon.pyctr("container", verb, "gbox")) == "gbox\n"
    assert "Up" in text(daemon.docker("ps", "--filter", "name=gbox", "--format", "{{.Status}}"))

    # the typed inspect: docker's JSON at v1.41, its templates and its failures
    for argv in (["container", "inspect", "gbox"], ["container", "inspect", "-f", "{{.Name}} {{.State.Running}}", "gbox"],
                 ["container", "inspect", "gbox", "busybox"], ["container", "inspect", "nosuch"],
                 ["container", "inspect", "--format", "json", "gdead"], ["container", "inspect", "-s", "-f",
                                                                         "{{.Name}}", "gdead"],
                 ["container", "inspect"], ["container", "ls", "extra"], ["container", "rm", "nosuch"]):
        same(daemon, *argv)

    # prune: the prompt, then the stopped ones only
    same(daemon, "container", "prune", input=b"n\n")
    out = text(daemon.pyctr("container", "prune", "-f"))
    assert out.startswith("Deleted Containers:\n") and out.endswith("\n\nTotal reclaimed space: 0B\n")
    assert len(out.splitlines()) == 4 + 2 - 1  # title, two ids, blank, total
    left = text(daemon.docker("ps", "-a", "--format", "{{.Names}}")).split()
    assert "gbox" in left and "gdead" not in left and "gdead2" not in left
    same(daemon, "container", "prune", "-f")                   # nothing left to prune: the same report
    same(daemon, "container", "prune", "-f", "--filter", "bogus=1")
    assert text(daemon.pyctr("container", "rm", "-f", "gbox")) == "gbox\n"


def test_image_forms_are_the_top_level_verbs(daemon, box):
    ours, top = text(daemon.pyctr("image", "ls")).splitlines(), text(daemon.pyctr("images")).splitlines()
    assert ours[0] == top[0] and [r.split()[:3] for r in ours[1:]] == [r.split()[:3] for r in top[1:]]
    assert text(daemon.pyctr("image", "list", "-q")) == text(daemon.pyctr("images", "-q"))
    assert text(daemon.pyctr("image", "history", "-q", "busybox")) == text(daemon.pyctr("history", "-q", "busybox"))  # no ages
    assert text(daemon.pyctr("image", "tag", "busybox", "gtag:one")) == ""
    assert "gtag" in text(daemon.docker("images", "--format", "{{.Repository}}"))
    for argv in (["image", "inspect", "busybox"], ["image", "inspect", "-f", "{{.Id}} {{.RepoTags}}", "gtag:one"],
                 ["image", "inspect", "busybox", "nosuch"], ["image", "inspect", "nosuch"],
                 ["image", "prune"], ["image", "prune", "-a"], ["image", "prune", "-f"],
                 ["image", "prune", "-f", "--filter", "bogus=1"]):
        same(daemon, *argv, input=b"n\n")
    # too many arguments: the same status and first line (docker 28's own text ends "SRun '...")
    ours, theirs = daemon.pyctr("image", "ls", "a", "b", check=False), daemon.docker("image", "ls", "a", "b", check=False)
    assert ours.returncode == theirs.returncode == 1
    assert ours.stderr.splitlines()[0] == theirs.stderr.replace(b"docker", b"pyctr").splitlines()[0]
    assert "gtag:one" in text(daemon.pyctr("image", "rm", "gtag:one"))
    assert daemon.pyctr("image", "remove", "nosuch", check=False).returncode == 1
    assert "gtag" not in text(daemon.docker("images", "--format", "{{.Repository}}"))
    # a dangling image goes with `image prune -f`: commit one without a name
    image_id = text(daemon.pyctr("commit", "gbox")).strip()
    out = text(daemon.pyctr("image", "prune", "-f"))
    assert out.startswith("Deleted Images:\n") and image_id.split(":")[-1][:12] in out, out
    assert out.endswith("Total reclaimed space: " + out.rsplit(": ", 1)[1])
    assert image_id.split(":")[-1][:12] not in text(daemon.docker("images", "-a", "-q"))
