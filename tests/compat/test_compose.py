"""docker-compose 1.29 (Debian's, /usr/bin/docker-compose, with its own python3-docker)
against a real pyctrd: it lists a project's containers by label filters
(`com.docker.compose.project=...`), which pyctrd refused before API 1.41's filters.
`up` needs the networks API, which comes with its own issue."""

from __future__ import annotations

import os
import subprocess

import pytest

COMPOSE = "/usr/bin/docker-compose"

pytestmark = [pytest.mark.skipif(os.geteuid() != 0, reason="needs root"),
              pytest.mark.skipif(not os.path.exists(COMPOSE), reason="Debian's docker-compose is not installed "
                                 "(scripts/setup.sh installs it)")]

FILE = """\
version: "3.7"
services:
  web:
    image: busybox
    command: sleep 1000
"""


def project_container(daemon, project: str, service: str, number: int) -> str:
    """A container as compose labels the ones it makes."""
    labels = {"com.docker.compose.project": project, "com.docker.compose.service": service,
              "com.docker.compose.oneoff": "False", "com.docker.compose.container-number": str(number),
              "com.docker.compose.version": "1.29.2", "com.docker.compose.config-hash": "0"}
    args = [a for k, v in labels.items() for a in ("--label", f"{k}={v}")]
    return daemon.docker("run", "-d", "--name", f"{project}_{service}_{number}", *args,
                         "busybox", "sleep", "1000").stdout.decode().strip()


def compose(daemon, tmp_path, *args: str) -> subprocess.CompletedProcess:
    (tmp_path / "docker-compose.yml").write_text(FILE)
    env = {**daemon.env(), "COMPOSE_INTERACTIVE_NO_CLI": "1"}
    return subprocess.run([COMPOSE, "-p", "proj", *args], cwd=tmp_path, env=env, capture_output=True,
                          timeout=120)


def test_compose_lists_its_project_by_label(daemon, tmp_path):
    first = project_container(daemon, "proj", "web", 1)
    other = project_container(daemon, "other", "web", 1)
    try:
        listed = compose(daemon, tmp_path, "ps", "-q")
        assert listed.returncode == 0, listed.stderr
        assert listed.stdout.decode().split() == [first]
        table = compose(daemon, tmp_path, "ps")
        assert table.returncode == 0 and b"proj_web_1" in table.stdout and b"Up" in table.stdout
        assert b"other_web_1" not in table.stdout
        top = compose(daemon, tmp_path, "top")
        assert top.returncode == 0 and b"sleep 1000" in top.stdout
        stopped = compose(daemon, tmp_path, "stop", "-t", "1")
        assert stopped.returncode == 0, stopped.stderr
        assert b"Exit 137" in compose(daemon, tmp_path, "ps").stdout
        assert compose(daemon, tmp_path, "rm", "-f").returncode == 0
        assert compose(daemon, tmp_path, "ps", "-q").stdout.split() == []
        assert daemon.client().inspect_container(other)["State"]["Running"]
    finally:
        daemon.docker("rm", "-f", first, other, check=False)
