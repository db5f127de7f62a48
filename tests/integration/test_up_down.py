"""scripts/up.sh and scripts/down.sh as a user runs them (on paths of the test's own and
a bridge and subnet of its own): up starts pyctrd and says where its state and log are
and how to stop it; a second up finds it running and runs no pip; down stops it with its
containers and leaves no bridge, iptables rule or mount, and keeps the state."""

from __future__ import annotations

import os
import signal
import subprocess

from harness import iptables_lines_about, link_exists, mounts_under, pick_network, remove_network, wait_for

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def script(name: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    result = subprocess.run(["bash", os.path.join(REPO, "scripts", name)], env=env, capture_output=True,
                            text=True, stdin=subprocess.DEVNULL, timeout=300)
    assert result.returncode == 0, f"{name}: {result.returncode}\n{result.stdout}\n{result.stderr}"
    return result


def test_up_then_down_leaves_no_bridge_rule_or_mount(tmp_path):
    bridge, bip = pick_network()
    env = {**{k: v for k, v in os.environ.items() if not k.startswith(("PYCTR", "DOCKER_"))},
           "PYCTR_HOST": f"unix://{tmp_path}/pyctr.sock", "PYCTR_DATA_ROOT": str(tmp_path / "root"),
           "PYCTR_EXEC_ROOT": str(tmp_path / "exec"), "PYCTR_LOG": str(tmp_path / "pyctrd.log"),
           "PYCTR_NO_TUI": "1",
           "PYCTRD_FLAGS": f"--bridge {bridge} --bip {bip} --default-registry none --shutdown-timeout 2"}
    pidfile = tmp_path / "root" / "pyctrd.pid"
    pid = None
    try:
        first = script("up.sh", env)
        pid = int(pidfile.read_text())
        for said in ("starting pyctrd", str(tmp_path / "pyctrd.log"), str(tmp_path / "root"),
                     "bash scripts/down.sh", "busybox"):
            assert said in first.stdout, first.stdout

        pyctr = [os.path.join(REPO, ".venv", "bin", "pyctr")]
        run = subprocess.run([*pyctr, "run", "-d", "-p", "127.0.0.1::80", "busybox", "sleep", "100"],
                             env=env, capture_output=True, text=True, timeout=120)
        assert run.returncode == 0, run.stderr
        assert mounts_under(str(tmp_path)) and link_exists(bridge) and iptables_lines_about(bridge)

        again = script("up.sh", env)
        assert "already answering" in again.stdout and "pip install" not in again.stdout, again.stdout
        assert int(pidfile.read_text()) == pid

        down = script("down.sh", env)
        assert f"stopping pyctrd (pid {pid})" in down.stdout and str(tmp_path / "root") in down.stdout
        assert not os.path.exists(f"/proc/{pid}") or not open(f"/proc/{pid}/cmdline").read()
        assert not mounts_under(str(tmp_path)), mounts_under(str(tmp_path))
        assert not link_exists(bridge) and not iptables_lines_about(bridge), iptables_lines_about(bridge)
        assert not pidfile.exists() and (tmp_path / "root").is_dir()   # the state stays
        pid = None
        assert "no pyctrd running" in script("down.sh", env).stdout
    finally:
        if pid is not None and os.path.exists(f"/proc/{pid}"):
            os.kill(pid, signal.SIGTERM)   # the pyctrd this test started, by its pid: it
            try:                           # stops its containers too
                wait_for(lambda: not os.path.exists(f"/proc/{pid}"), timeout=60)
            except AssertionError:
                os.kill(pid, signal.SIGKILL)
        for point in sorted(mounts_under(str(tmp_path)), key=len, reverse=True):
            subprocess.run(["umount", "-l", point], check=False)
        remove_network(bridge)
