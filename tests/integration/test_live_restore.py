"""Live restore: containers outlive pyctrd (SIGKILL or a clean SIGTERM) and the next
daemon on the same root adopts them: same pids, exit codes (also of one that exited
while no daemon ran), logs without a gap, attach, exec, stats, published ports, stop.
`--live-restore=false` is Docker 1.2: a SIGTERM stops every container."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from harness import DaemonProcess, wait_for

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")

LIVE = ["--live-restore"]
COUNTER = "i=0; while true; do echo $i; i=$((i+1)); usleep 2000; done"


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def _keeper_pid(d) -> int:
    with open(os.path.join(d.workdir, "exec", "keeper.pid")) as f:
        return int(f.read())


def _counter_numbers(d, name: str) -> list[int]:
    out = d.docker("logs", name).stdout.decode().split()
    return [int(x) for x in out]


def _get(port: int) -> bytes:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as r:
        return r.read()


def _host_port(c, name: str) -> int:
    return int(c.inspect_container(name)["NetworkSettings"]["Ports"]["80/tcp"][0]["HostPort"])


def _start_all(d) -> dict[str, int]:
    d.docker("run", "-d", "--name", "counter", "busybox", "sh", "-c", COUNTER)
    d.docker("run", "-d", "--name", "web", "-p", "127.0.0.1::80", "busybox", "sh", "-c",
             "mkdir -p /www && echo hello-from-web > /www/index.html && exec httpd -f -p 80 -h /www")
    d.docker("run", "-d", "--name", "seven", "busybox", "sh", "-c",
             "while [ ! -e /go ]; do usleep 20000; done; echo bye-seven; exit 7")
    d.docker("run", "-d", "-i", "--name", "cat", "busybox", "cat")
    d.docker("run", "-d", "--name", "sleeper", "--restart", "always", "busybox", "sleep", "1000")
    c = d.client()
    wait_for(lambda: _get(_host_port(c, "web")) == b"hello-from-web\n")
    wait_for(lambda: len(_counter_numbers(d, "counter")) > 20)
    return {n: c.inspect_container(n)["State"]["Pid"] for n in ("counter", "web", "seven", "cat", "sleeper")}


def _finish(d, names) -> None:
    d.docker("rm", "-f", *names)
    keeper = _keeper_pid(d)
    d.stop()
    assert not d.leftovers(), d.leftovers()
    wait_for(lambda: not _alive(keeper))   # with nothing to hold, the keeper leaves too


def test_sigkill_then_adopt_everything(fresh_daemon):
    first = fresh_daemon(args=LIVE)
    pids = _start_all(first)
    keeper = _keeper_pid(first)
    port = _host_port(first.client(), "web")
    first.kill()
    # The port stays held while no daemon runs: a connection waits instead of being refused.
    waiting = socket.create_connection(("127.0.0.1", port), timeout=60)
    waiting.sendall(b"GET / HTTP/1.0\r\n\r\n")
    # While no daemon runs: everything still runs, and "seven" exits with 7.
    assert all(_alive(pid) for pid in pids.values())
    open(f"/proc/{pids['seven']}/root/go", "w").close()
    wait_for(lambda: not _alive(pids["seven"]))
    time.sleep(0.5)   # the counter writes on with nobody reading: it must lose nothing

    second = fresh_daemon(first.workdir, args=LIVE)
    c = second.client()
    assert _keeper_pid(second) == keeper
    for name in ("counter", "web", "cat", "sleeper"):
        state = c.inspect_container(name)["State"]
        assert state["Running"] and state["Pid"] == pids[name], (name, state)
        assert _alive(pids[name])
    seven = wait_for(lambda: (s := c.inspect_container("seven")["State"]) and not s["Running"] and s)
    assert seven["ExitCode"] == 7
    assert any("Exited (7)" in line and "seven" in line
               for line in second.docker("ps", "-a").stdout.decode().splitlines())
    assert second.docker("wait", "seven").stdout.decode().strip() == "7"
    assert second.docker("logs", "seven").stdout.decode() == "bye-seven\n"   # written while no daemon ran

    # Logs: one sequence from 0 with no number missing across the dead time.
    before = len(_counter_numbers(second, "counter"))
    numbers = wait_for(lambda: (n := _counter_numbers(second, "counter")) and len(n) > before + 50 and n)
    assert numbers == list(range(len(numbers)))

    # The published port answers again (the userland proxy is back), the waiting one too.
    assert _host_port(c, "web") == port and _get(port) == b"hello-from-web\n"
    reply = b""
    while chunk := waiting.recv(65536):
        reply += chunk
    waiting.close()
    assert reply.startswith(b"HTTP/1.") and reply.endswith(b"hello-from-web\n")

    # exec, stats and attach on adopted containers.
    assert second.docker("exec", "sleeper", "echo", "in-adopted").stdout.decode() == "in-adopted\n"
    with c.request("GET", "/containers/sleeper/stats", {"stream": 0}) as r:
        stats = json.loads(r.read())
    assert stats["memory_stats"]["usage"] > 0 and stats["pids_stats"]["current"] >= 1
    attached = c.attach("cat", stdin=True, stdout=True, stderr=True)
    try:
        attached.send(b"through-the-restore\n")
        got = b""
        deadline = time.monotonic() + 30
        while b"through-the-restore" not in got and time.monotonic() < deadline:
            got += attached.read()
        assert b"through-the-restore" in got
    finally:
        attached.close()

    # stop works, and the restart policy is still honoured after an adoption.
    second.docker("stop", "-t", "1", "cat")
    assert not c.inspect_container("cat")["State"]["Running"] and not _alive(pids["cat"])
    os.kill(pids["sleeper"], signal.SIGKILL)
    wait_for(lambda: (s := c.inspect_container("sleeper")["State"])["Running"] and s["Pid"] != pids["sleeper"])
    _finish(second, ["counter", "web", "seven", "cat", "sleeper"])


def test_sigterm_with_live_restore_leaves_containers_running(fresh_daemon):
    first = fresh_daemon(args=LIVE)
    first.docker("run", "-d", "--name", "web", "-p", "127.0.0.1::80", "busybox", "sh", "-c",
                 "mkdir -p /www && echo up > /www/index.html && exec httpd -f -p 80 -h /www")
    first.docker("run", "-d", "--name", "counter", "busybox", "sh", "-c", COUNTER)
    c = first.client()
    port = _host_port(c, "web")
    wait_for(lambda: _get(port) == b"up\n")
    pids = {n: c.inspect_container(n)["State"]["Pid"] for n in ("web", "counter")}
    first.stop()   # SIGTERM
    assert all(_alive(pid) for pid in pids.values())

    second = fresh_daemon(first.workdir, args=LIVE)
    c = second.client()
    for name, pid in pids.items():
        state = c.inspect_container(name)["State"]
        assert state["Running"] and state["Pid"] == pid
    assert _host_port(c, "web") == port and _get(port) == b"up\n"
    numbers = wait_for(lambda: (n := _counter_numbers(second, "counter")) and len(n) > 100 and n)
    assert numbers == list(range(len(numbers)))
    second.docker("stop", "-t", "1", "web")
    assert not _alive(pids["web"])
    _finish(second, ["web", "counter"])


def test_live_restore_false_stops_containers_on_sigterm(fresh_daemon):
    d = fresh_daemon(args=["--live-restore=false"])
    d.docker("run", "-d", "--name", "s", "busybox", "sleep", "1000")
    pid = d.client().inspect_container("s")["State"]["Pid"]
    keeper = _keeper_pid(d)
    d.stop()
    assert not _alive(pid)
    assert not d.leftovers(), d.leftovers()
    wait_for(lambda: not _alive(keeper))
    again = fresh_daemon(d.workdir, args=["--live-restore=false"])
    assert not again.client().inspect_container("s")["State"]["Running"]
    again.docker("rm", "s")


def test_live_restore_false_kills_what_a_crash_left(fresh_daemon):
    d = fresh_daemon(args=["--live-restore=false"])
    d.docker("run", "-d", "--name", "s", "busybox", "sleep", "1000")
    pid = d.client().inspect_container("s")["State"]["Pid"]
    d.kill()
    assert _alive(pid)   # nothing kills it while no daemon runs
    again = fresh_daemon(d.workdir, args=["--live-restore=false"])
    state = again.client().inspect_container("s")["State"]
    assert not state["Running"] and state["ExitCode"] == 137
    assert not _alive(pid)
    again.docker("rm", "s")


def test_output_beyond_a_pipe_while_the_daemon_is_down_blocks_and_is_kept(fresh_daemon):
    """More than a pipe holds (64 KiB) written while no daemon reads: the container
    blocks in write() until the next daemon reads on, and no line is lost."""
    first = fresh_daemon(args=LIVE)
    first.docker("run", "-d", "--name", "burst", "busybox", "sh", "-c",
                 "while [ ! -e /go ]; do usleep 20000; done; seq 1 60000; echo done; exec sleep 1000")
    pid = first.client().inspect_container("burst")["State"]["Pid"]
    first.kill()
    open(f"/proc/{pid}/root/go", "w").close()
    second = fresh_daemon(first.workdir, args=LIVE)
    lines = wait_for(lambda: (out := second.docker("logs", "burst").stdout.decode().split())
                     and out[-1] == "done" and out)
    assert lines[:-1] == [str(i) for i in range(1, 60001)]
    _finish(second, ["burst"])


def test_live_restore_is_the_default(fresh_daemon, tmp_path):
    """pyctrd started with no --live-restore flag at all (the harness always gives one):
    a SIGTERM leaves its container running, and the next daemon adopts it."""
    first = fresh_daemon(args=LIVE)   # busybox imported; stopped at once, nothing runs yet
    first.stop()
    plain = DaemonProcess(first.workdir)
    os.makedirs(plain.workdir, exist_ok=True)
    with open(plain.log_path, "ab") as log:
        plain.proc = subprocess.Popen(
            [sys.executable, "-m", "pyctr.engine.main", "-H", plain.host, "-g", plain.root,
             "--exec-root", os.path.join(plain.workdir, "exec"), "--bridge", plain.bridge,
             "--bip", plain.bip, "--default-registry", "none", "--shutdown-timeout", "1"],
            stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_for(lambda: plain.proc.poll() is not None or _pings(plain))
        plain.docker("run", "-d", "--name", "s", "busybox", "sleep", "1000")
        pid = plain.client().inspect_container("s")["State"]["Pid"]
        assert "Live Restore Enabled: true" in plain.docker("info").stdout.decode()
        plain.stop()   # SIGTERM
        assert _alive(pid)
    finally:
        plain.kill()
    again = fresh_daemon(first.workdir, args=LIVE)
    state = again.client().inspect_container("s")["State"]
    assert state["Running"] and state["Pid"] == pid
    _finish(again, ["s"])


def _pings(d) -> bool:
    try:
        return d.client().ping() == "OK"
    except Exception:
        return False
