"""Another pyctrd and a dead one's bridge (issue 17: "another pyctrd took the dead one's
bridge lock, and the old bridge and 11 iptables rules stayed behind").

- While containers of the dead daemon still run on the bridge (live restore), no other
  daemon may take it: daemons racing for it all fail with the reason, and leave the
  veths and rules alone; the dead one's own daemon, restarted, adopts them.
- Once none of them runs, the bridge is free: of daemons racing for it exactly one wins,
  cleans what the dead one left (its containers' rules and veths), and its clean stop
  leaves nothing (no bridge, rule, or lock file). The dead one's daemon then starts fine.
"""

from __future__ import annotations

import fcntl
import http.client
import os
import signal
import threading
import urllib.request

import pytest

from harness import DaemonProcess, bridge_lock_files, iptables_lines_about, link_exists, wait_for

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")

LIVE = ["--live-restore"]
WEB = "mkdir -p /www && echo up > /www/index.html && exec httpd -f -p 80 -h /www"


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):   # gone between the open and the read
        return False


def _veths(bridge: str) -> set[str]:
    return set(os.listdir(f"/sys/class/net/{bridge}/brif")) if link_exists(bridge) else set()


def _get(port: int) -> bytes:
    """The page, or b"" while the server is not up yet (the proxy closes at once then)."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as r:
            return r.read()
    except (OSError, http.client.HTTPException):
        return b""


def _port(d, name: str) -> int:
    return int(d.client().inspect_container(name)["NetworkSettings"]["Ports"]["80/tcp"][0]["HostPort"])


def _race(tmp_path, first, count: int = 2) -> tuple[list[DaemonProcess], list[str]]:
    """`count` daemons of other data roots started at once on `first`'s bridge: the ones
    that answer, and the errors of the others."""
    rivals = [DaemonProcess(str(tmp_path / f"rival{i}"),
                            ["--shutdown-timeout", "1", "--bridge", first.bridge, "--bip", first.bip])
              for i in range(count)]
    started, errors = [], []
    gate = threading.Barrier(count)

    def go(d: DaemonProcess) -> None:
        gate.wait()
        try:
            d.start(timeout=60)
            started.append(d)
        except RuntimeError as exc:
            errors.append(str(exc))

    threads = [threading.Thread(target=go, args=(d,)) for d in rivals]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return started, errors


def _rival_left_nothing(d: DaemonProcess) -> None:
    wait_for(lambda: not d.keeper_alive())   # a keeper with no daemon and no container leaves
    assert not d.leftovers(), d.leftovers()


def test_no_daemon_takes_a_bridge_with_a_dead_daemons_containers_running(fresh_daemon, tmp_path):
    first = fresh_daemon(args=LIVE)
    first.docker("run", "-d", "--name", "web", "-p", "127.0.0.1::80", "busybox", "sh", "-c", WEB)
    port = _port(first, "web")
    wait_for(lambda: _get(port) == b"up\n")
    pid = first.client().inspect_container("web")["State"]["Pid"]
    veths, rules = _veths(first.bridge), set(iptables_lines_about(first.bridge))
    assert len(veths) == 1 and any("DNAT" in r for r in rules)
    first.kill()

    started, errors = _race(tmp_path, first)
    try:
        assert started == [] and len(errors) == 2, errors
        for error in errors:
            assert f"bridge {first.bridge} still carries 1 running container" in error, error
    finally:
        for d in started:
            d.stop()
    assert _alive(pid)
    assert _veths(first.bridge) == veths and set(iptables_lines_about(first.bridge)) == rules

    again = fresh_daemon(first.workdir, args=LIVE)   # its own daemon adopts it, network and all
    state = again.client().inspect_container("web")["State"]
    assert state["Running"] and state["Pid"] == pid
    assert _port(again, "web") == port and _get(port) == b"up\n"
    assert _veths(first.bridge) == veths
    again.docker("rm", "-f", "web")
    again.stop()
    for i in range(2):
        _rival_left_nothing(DaemonProcess(str(tmp_path / f"rival{i}"), ["--bridge", first.bridge]))


def test_a_dead_daemons_bridge_is_taken_over_and_cleaned_once_nothing_of_it_runs(fresh_daemon, tmp_path):
    first = fresh_daemon(args=LIVE)
    first.docker("run", "-d", "--name", "web", "-p", "127.0.0.1::80", "busybox", "sh", "-c", WEB)
    port = _port(first, "web")
    wait_for(lambda: _get(port) == b"up\n")
    pid = first.client().inspect_container("web")["State"]["Pid"]
    first.kill()
    os.kill(pid, signal.SIGKILL)   # its container ends while no daemon runs
    wait_for(lambda: not _alive(pid))
    left_rules = set(iptables_lines_about(first.bridge))
    assert any("DNAT" in r for r in left_rules), left_rules   # what the dead daemon left

    started, errors = _race(tmp_path, first)
    assert len(started) == 1 and len(errors) == 1, errors
    assert "used by another running pyctrd" in errors[0], errors[0]
    winner = started[0]
    try:
        assert "taking it over from the pyctrd of" in winner.log()
        rules = set(iptables_lines_about(first.bridge))
        assert not any("DNAT" in r for r in rules), rules   # the dead one's port rules are gone
        assert _veths(first.bridge) == set()
    finally:
        winner.stop()
    # The winner made none of it, but took it over: its clean stop removes it all.
    assert not link_exists(first.bridge)
    assert iptables_lines_about(first.bridge) == []
    assert [p for p in bridge_lock_files(first.bridge) if os.path.exists(p)] == []
    for i in range(2):
        _rival_left_nothing(DaemonProcess(str(tmp_path / f"rival{i}"), ["--bridge", first.bridge]))

    again = fresh_daemon(first.workdir, args=LIVE)   # the dead one's data root starts fine
    # The kill left a zombie that the keeper may not have reaped yet: the daemon adopts it
    # and records its exit once the keeper reports it.
    wait_for(lambda: not again.client().inspect_container("web")["State"]["Running"])
    state = again.client().inspect_container("web")["State"]
    assert state["ExitCode"] == 137
    try:
        again.docker("start", "web")
        port = _port(again, "web")
        wait_for(lambda: _get(port) == b"up\n")
    finally:
        again.docker("rm", "-f", "web")


def test_a_bridge_lock_held_for_a_moment_is_waited_for_not_taken_for_a_running_daemon(fresh_daemon, tmp_path):
    """A rival starting at the same instant holds the lock only while it checks the bridge
    (the CI run caught one daemon reporting the other's check as "a running pyctrd")."""
    first = fresh_daemon()
    bridge, bip = first.bridge, first.bip
    first.stop()
    lock = bridge_lock_files(bridge)[0]
    fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
    fcntl.flock(fd, fcntl.LOCK_EX)
    let_go = threading.Timer(1.0, os.close, args=(fd,))   # as a rival's check would, soon
    let_go.start()
    d = DaemonProcess(str(tmp_path / "patient"), ["--bridge", bridge, "--bip", bip])
    try:
        d.start(timeout=60)
        assert d.client().json("GET", "/version")["ApiVersion"]   # opened: it holds the bridge
    finally:
        let_go.join()
        d.stop()
    _rival_left_nothing(d)
