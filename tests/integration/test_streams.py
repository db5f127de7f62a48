"""Streams on the real kernel: interactive TTYs driven through real pseudo-terminals
(pexpect), stdin, attach (several clients, detach keys, stopped containers, slow and
vanishing readers), logs -f, events (journal across restarts, every verb), top.
Both pyctr's CLI and the real docker CLI are the clients."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import threading
import time

import pexpect
import pytest

from harness import DOCKER, DaemonProcess
from pyctr.engine.client.streams import Demuxer

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")

PROMPT = r"/ # "


def out(result: subprocess.CompletedProcess) -> str:
    return result.stdout.decode()


def cli(daemon: DaemonProcess, which: str) -> list[str]:
    return [sys.executable, "-m", "pyctr.shell.cli"] if which == "pyctr" else [DOCKER]


def spawn(daemon: DaemonProcess, which: str, *args: str, rows: int = 30, cols: int = 100):
    argv = cli(daemon, which) + list(args)
    child = pexpect.spawn(argv[0], argv[1:], env=daemon.env(), timeout=20,
                          dimensions=(rows, cols))
    return child


def finish(child) -> int:
    child.expect(pexpect.EOF)
    child.close()
    return child.exitstatus


def wait_for(predicate, timeout: float = 20, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def read_all(stream, limit: float = 30) -> bytes:
    """Everything a hijacked attach sends until the daemon closes it."""
    stream.sock.settimeout(limit)
    chunks = []
    while data := stream.read(65536):
        chunks.append(data)
    return b"".join(chunks)


def json_log(daemon: DaemonProcess, cid: str) -> str:
    return os.path.join(daemon.root, "containers", cid, f"{cid}-json.log")


def demux(raw: bytes) -> tuple[bytes, bytes]:
    got = {1: [], 2: []}
    for stream, payload in Demuxer().feed(raw):
        got[stream].append(payload)
    return b"".join(got[1]), b"".join(got[2])


# --- interactive TTYs through real pseudo-terminals -------------------------------

@pytest.mark.parametrize("which", ["pyctr", "docker"])
def test_run_it_shell(daemon, which):
    """Line editing, the window size at start and on resize, Ctrl-C reaching the
    container's foreground process, `exit` ending it with its status."""
    child = spawn(daemon, which, "run", "-it", "--name", f"it-{which}", "busybox", "sh")
    try:
        child.expect(PROMPT)
        child.sendline("stty size")
        child.expect("30 100")
        child.setwinsize(42, 123)   # SIGWINCH to the client, which resizes the container's pty
        wait_for(lambda: _stty_size(child) == "42 123", what="the new window size inside")
        child.send("echo abc\x7f\x7fxy\r")   # two backspaces, edited by the container's shell
        child.expect("axy\r\n")
        child.sendline("sleep 1000; echo after-sleep")
        time.sleep(0.5)
        child.sendintr()   # ^C goes through the raw client to the pty: SIGINT for `sleep`
        child.expect(PROMPT)
        assert b"after-sleep" not in child.before
        child.sendline("exit 7")
        assert finish(child) == 7
    finally:
        child.close(force=True)
        daemon.docker("rm", "-f", f"it-{which}", check=False)


def _stty_size(child) -> str:
    child.sendline("stty size")
    child.expect(r"(\d+ \d+)\r\n")
    return child.match.group(1).decode()


def test_raw_mode_is_restored_on_every_exit_path(daemon):
    """After `run -it` ends, by exit, by a command that is not there, or by detaching,
    the user's terminal is back in cooked mode (echo, icanon)."""
    pyctr = " ".join(cli(daemon, "pyctr"))
    for command, status in ((f"{pyctr} run -it --rm busybox sh -c 'exit 3'", "3"),
                            (f"{pyctr} run -it --rm busybox nosuchcommand", "127"),
                            (f"{pyctr} run -it --name rawmode busybox sh", "0")):
        child = pexpect.spawn("/bin/sh", ["-c", f"{command}; echo rc=$?; stty -a"],
                              env=daemon.env(), timeout=30)
        try:
            if "rawmode" in command:
                child.expect(PROMPT)
                child.send("\x10\x11")   # detach
            child.expect(r"rc=(\d+)")
            assert child.match.group(1).decode() == status
            child.expect(pexpect.EOF)
            modes = child.before.decode().split()
            assert "icanon" in modes and "echo" in modes and "-icanon" not in modes
        finally:
            child.close(force=True)
    assert daemon.client().inspect_container("rawmode")["State"]["Running"]
    daemon.docker("rm", "-f", "rawmode")


@pytest.mark.parametrize("which", ["pyctr", "docker"])
def test_detach_with_ctrl_p_ctrl_q_and_reattach(daemon, which):
    name = f"detach-{which}"
    daemon.pyctr("run", "-d", "-it", "--name", name, "busybox", "sh")
    try:
        child = spawn(daemon, which, "attach", name)
        child.sendline("echo hello-$((6*7))")
        child.expect("hello-42")
        child.send("\x10")
        time.sleep(0.2)
        child.send("\x11")   # Ctrl-P Ctrl-Q: the client leaves, the container stays
        finish(child)
        assert daemon.client().inspect_container(name)["State"]["Running"]
        child = spawn(daemon, which, "attach", name)
        child.sendline("echo again-$((2*3))")
        child.expect("again-6")   # the same shell, still there
        child.sendline("exit 5")
        assert finish(child) == 5
        state = daemon.client().inspect_container(name)["State"]
        assert not state["Running"] and state["ExitCode"] == 5
    finally:
        daemon.docker("rm", "-f", name, check=False)


# --- stdin without a TTY, and -a ---------------------------------------------------

@pytest.mark.parametrize("which", ["pyctr", "docker"])
def test_stdin_pipe_reaches_cat_and_eof_ends_it(daemon, which):
    result = subprocess.run(cli(daemon, which) + ["run", "-i", "--rm", "busybox", "cat"],
                            input=b"hi\nthere\n", capture_output=True, env=daemon.env(),
                            timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"hi\nthere\n"


@pytest.mark.parametrize("which", ["pyctr", "docker"])
def test_run_attach_stdout_and_stderr_apart(daemon, which):
    result = subprocess.run(cli(daemon, which) + ["run", "--rm", "-a", "stdout", "-a", "stderr",
                                                  "busybox", "sh", "-c", "echo out; echo err >&2"],
                            capture_output=True, env=daemon.env(), timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout == b"out\n" and result.stderr == b"err\n"
    only_err = subprocess.run(cli(daemon, which) + ["run", "--rm", "-a", "stderr", "busybox", "sh",
                                                    "-c", "echo out; echo err >&2"],
                              capture_output=True, env=daemon.env(), timeout=60)
    assert only_err.stdout == b"" and only_err.stderr == b"err\n"


# --- attach -------------------------------------------------------------------------

def test_start_a_attaches_before_starting(daemon):
    """`start -a` attaches to a stopped container first: no early output is lost."""
    for which in ("pyctr", "docker"):
        name = f"starta-{which}"
        daemon.docker("create", "--name", name, "busybox", "sh", "-c", "echo first; echo second >&2")
        try:
            result = subprocess.run(cli(daemon, which) + ["start", "-a", name], capture_output=True,
                                    env=daemon.env(), timeout=60)
            assert result.stdout == b"first\n" and result.stderr == b"second\n", result
        finally:
            daemon.docker("rm", "-f", name, check=False)


def test_several_attached_clients_get_the_same_bytes(daemon):
    client = daemon.client()
    cid = out(daemon.docker("create", "--name", "multi", "busybox", "sh", "-c",
                            "sleep 1; seq 1 20000; seq 1 100 >&2")).strip()
    try:
        streams = [client.attach(cid, stdout=True, stderr=True) for _ in range(3)]
        results: list[bytes] = [b""] * 3

        def reader(i: int) -> None:
            results[i] = read_all(streams[i])

        threads = [threading.Thread(target=reader, args=(i,)) for i in range(3)]
        for t in threads:
            t.start()
        client.start(cid)
        for t in threads:
            t.join(60)
        expected_out = "".join(f"{i}\n" for i in range(1, 20001)).encode()
        expected_err = "".join(f"{i}\n" for i in range(1, 101)).encode()
        for raw in results:
            assert demux(raw) == (expected_out, expected_err)
        for s in streams:
            s.close()
    finally:
        daemon.docker("rm", "-f", "multi", check=False)


def test_long_line_and_invalid_utf8(daemon):
    """Attach passes bytes through untouched; the json-file log keeps a 1 MB line
    (in bounded entries) and replaces each invalid byte with U+FFFD, as Docker."""
    client = daemon.client()
    script = ("head -c 1048576 /dev/zero | tr '\\0' x; echo; printf '\\377\\376ok\\342\\202\\n';"
              " printf 'no newline at the end'")
    cid = out(daemon.docker("create", "--name", "binary", "busybox", "sh", "-c", script)).strip()
    try:
        stream = client.attach(cid, stdout=True, stderr=True)
        client.start(cid)
        raw_out, _ = demux(read_all(stream))
        stream.close()
        tail = b"\xff\xfeok\xe2\x82\n" + b"no newline at the end"
        assert raw_out == b"x" * 1048576 + b"\n" + tail
        assert client.wait(cid) == 0
        logged = daemon.docker("logs", "binary").stdout
        assert logged == (b"x" * 1048576 + b"\n" + "\ufffd\ufffdok\ufffd\ufffd\n".encode()
                          + b"no newline at the end")
        with open(json_log(daemon, cid), "rb") as f:
            lines = f.read().splitlines()
        assert max(map(len, lines)) < 64 * 1024   # split into bounded entries
        assert all(json.loads(line)["stream"] == "stdout" for line in lines)
    finally:
        daemon.docker("rm", "-f", "binary", check=False)


def test_client_disconnecting_mid_stream(daemon):
    """Attach, logs -f and events clients that vanish leave the daemon working and
    the container running; their subscriptions go away."""
    client = daemon.client()
    cid = out(daemon.docker("run", "-d", "--name", "chatty", "busybox", "sh", "-c",
                            "while true; do echo tick; sleep 0.01; done")).strip()
    try:
        for _ in range(3):
            stream = client.attach(cid, stdout=True, stderr=True)
            assert stream.read(10)
            stream.sock.shutdown(socket.SHUT_RDWR)
            stream.close()
            resp = client.logs(cid, follow=True)
            assert resp.read(10)
            resp.close()
        listeners = [client.events() for _ in range(4)]
        wait_for(lambda: client.info().n_events_listener >= 4, what="4 event listeners")
        for resp in listeners:
            resp.close()
        wait_for(lambda: client.info().n_events_listener == 0, what="the listeners to be gone")
        assert client.inspect_container(cid)["State"]["Running"]
        assert b"tick" in daemon.docker("logs", "--tail", "1", "chatty").stdout
    finally:
        daemon.docker("rm", "-f", "chatty", check=False)


def test_stuck_reader_is_dropped_and_the_log_keeps_everything(daemon):
    """A client attached but not reading cannot hold the container up forever: it
    is dropped after the stall limit and every line is in the json-file log."""
    client = daemon.client()
    lines = 300_000   # ~2 MB: more than the socket buffers and the client's buffer hold
    cid = out(daemon.docker("create", "--name", "stuck", "busybox", "seq", "1", str(lines))).strip()
    try:
        stuck = client.attach(cid, stdout=True, stderr=True)   # never read until the end
        client.start(cid)
        assert client.wait(cid) == 0   # (the harness' 60 s HTTP timeout bounds this)
        logged = daemon.docker("logs", "stuck").stdout
        assert logged == "".join(f"{i}\n" for i in range(1, lines + 1)).encode()
        got, _ = demux(read_all(stuck))   # what was queued before the drop, then EOF
        assert len(got) < len(logged)
        assert logged.startswith(got)
        stuck.close()
    finally:
        daemon.docker("rm", "-f", "stuck", check=False)


def test_100mb_without_reader_keeps_memory_bounded(daemon):
    pid = daemon.proc.pid

    def rss_kb() -> int:
        with open(f"/proc/{pid}/status") as f:
            return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))

    before = rss_kb()
    cid = out(daemon.docker("run", "-d", "--name", "flood", "busybox", "sh", "-c",
                            "seq 1 14500000 | head -c 104857600")).strip()
    peak = before
    try:
        while daemon.client().inspect_container(cid)["State"]["Running"]:
            peak = max(peak, rss_kb())
            time.sleep(0.2)
        assert daemon.client().wait(cid) == 0
        assert os.path.getsize(json_log(daemon, cid)) > 100 * 1024 * 1024
        assert peak - before < 64 * 1024, f"pyctrd grew from {before} kB to {peak} kB"
        tail = daemon.docker("logs", "--tail", "2", "flood").stdout.split(b"\n")
        assert len(tail) == 2 and tail[0].isdigit() and tail[1].isdigit()  # head -c cut the last
    finally:
        daemon.docker("rm", "-f", "flood", check=False)


# --- logs -f -------------------------------------------------------------------------

@pytest.mark.parametrize("which", ["pyctr", "docker"])
def test_logs_follow_tail_timestamps_sees_every_line(daemon, tmp_path, which):
    gate = tmp_path / "gate"
    gate.mkdir()
    name = f"follow-{which}"
    daemon.docker("run", "-d", "--name", name, "-v", f"{gate}:/gate", "busybox", "sh", "-c",
                  "seq 1 50; while [ ! -e /gate/go ]; do sleep 0.05; done; seq 51 3000")
    try:
        wait_for(lambda: b"50\n" in daemon.docker("logs", name).stdout, what="the first 50 lines")
        follower = subprocess.Popen(cli(daemon, which) + ["logs", "-f", "--tail", "10", "-t", name],
                                    stdout=subprocess.PIPE, env=daemon.env())
        watchdog = threading.Timer(60, follower.kill)
        watchdog.start()
        try:
            first = follower.stdout.readline()   # the tail is there before the rest is written
            (gate / "go").touch()
            rest = follower.stdout.read()   # to EOF: it ends by itself when the container stops
        finally:
            watchdog.cancel()
        assert follower.wait() == 0
        lines = (first + rest).decode().splitlines()
        stamps, numbers = zip(*(line.split(" ", 1) for line in lines))
        assert [int(n) for n in numbers] == list(range(41, 3001))
        assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z", s) for s in stamps)
        assert list(stamps) == sorted(stamps)
    finally:
        daemon.docker("rm", "-f", name, check=False)


def test_logs_of_stopped_container_and_stream_selection(daemon):
    daemon.docker("run", "--name", "sel", "busybox", "sh", "-c", "echo o1; echo e1 >&2; echo o2")
    try:
        client = daemon.client()
        with client.logs("sel", stdout=True, stderr=False) as resp:
            assert demux(resp.read()) == (b"o1\no2\n", b"")
        # (no --tail here: stdout and stderr are two pipes, so whether e1 or o2 is the
        # log's last line depends on which the daemon read first, and tail counts both)
        with client.logs("sel", stdout=False, stderr=True) as resp:
            assert demux(resp.read()) == (b"", b"e1\n")
        with client.logs("sel", follow=True, tail="0") as resp:   # stopped: ends at once
            assert resp.read() == b""
    finally:
        daemon.docker("rm", "-f", "sel", check=False)


# --- events ---------------------------------------------------------------------------

def _events(daemon: DaemonProcess, since: str, until: str) -> list[dict]:
    with daemon.client().request("GET", "/events", {"since": since, "until": until}) as resp:
        return [json.loads(line) for line in resp.read().splitlines()]


def test_every_state_change_emits_its_event(daemon):
    client = daemon.client()
    since = f"{time.time():.9f}"
    cid = out(daemon.docker("create", "--name", "verbs", "busybox", "sleep", "1000")).strip()
    daemon.docker("start", "verbs")
    daemon.docker("pause", "verbs")
    daemon.docker("unpause", "verbs")
    daemon.docker("restart", "-t", "0", "verbs")
    daemon.docker("kill", "-s", "USR1", "verbs")
    daemon.docker("stop", "-t", "0", "verbs")
    with client.export(cid) as resp:
        resp.read()
    daemon.docker("rm", "verbs")
    image = client.inspect_image("busybox")["Id"]
    daemon.docker("tag", "busybox", "verbs-image:one")
    daemon.docker("rmi", "verbs-image:one")
    events = _events(daemon, since, f"{time.time():.9f}")
    mine = [e["status"] for e in events if e["id"] == cid]
    assert mine == ["create", "start", "pause", "unpause", "die", "stop", "start", "restart",
                    "kill", "die", "stop", "export", "destroy"]
    images = [e["status"] for e in events if e["id"] == image]
    assert images == ["tag", "untag"]
    assert all(e["from"] == "busybox" for e in events if e["id"] == cid)
    nanos = [e["timeNano"] for e in events]
    assert nanos == sorted(nanos) and len(set(nanos)) == len(nanos)


def test_events_since_until_survive_a_daemon_restart(fresh_daemon):
    first: DaemonProcess = fresh_daemon()
    since = time.time()
    cid = out(first.docker("create", "--name", "journal", "busybox", "true")).strip()
    first.docker("start", "-a", "journal")
    first.docker("rm", "journal")
    until = time.time()
    first.stop()
    second = fresh_daemon(first.workdir)
    for which in ("pyctr", "docker"):
        result = subprocess.run(cli(second, which) + ["events", "--since", str(int(since)),
                                                      "--until", str(int(until) + 1)],
                                capture_output=True, env=second.env(), timeout=30)
        assert result.returncode == 0, result.stderr
        lines = [line for line in out(result).splitlines() if cid in line]
        assert [line.split()[-1] if which == "pyctr" else line.split()[2] for line in lines] == \
            ["create", "start", "die", "destroy"], out(result)
    # durations, as `pyctr events --since 10m --until 0s`
    result = second.pyctr("events", "--since", "10m", "--until", "0s", timeout=30)
    assert out(result).count(cid) == 4
    # nothing outside the window
    assert not [e for e in _events(second, str(int(until) + 2), str(int(until) + 3))
                if e["id"] == cid]
    assert os.path.exists(os.path.join(second.root, "events", "events.jsonl"))


def test_events_live_stream_to_several_listeners(daemon):
    client = daemon.client()
    listeners = [client.events() for _ in range(5)]
    try:
        wait_for(lambda: client.info().n_events_listener >= 5, what="5 listeners")
        cid = out(daemon.docker("create", "busybox", "true")).strip()
        daemon.docker("start", "-a", cid)
        daemon.docker("rm", cid)
        for resp in listeners:
            resp._conn.sock.settimeout(20)
            seen = []
            buffer = b""
            while "destroy" not in seen:
                buffer += resp.read(65536)
                *complete, buffer = buffer.split(b"\n")
                seen += [json.loads(line)["status"] for line in complete
                         if json.loads(line)["id"] == cid]
            assert seen == ["create", "start", "die", "destroy"]
    finally:
        for resp in listeners:
            resp.close()


def test_events_bad_input(daemon):
    result = daemon.docker("events", "--since", "yesterday-ish", check=False)
    assert result.returncode != 0
    with pytest.raises(Exception) as info:
        daemon.client().request("GET", "/events", {"since": "abc"})
    assert getattr(info.value, "status", None) == 400


# --- top --------------------------------------------------------------------------------

def test_top_with_ps_args(daemon):
    daemon.docker("run", "-d", "--name", "topps", "busybox", "sh", "-c", "sleep 1234 & sleep 4321; echo done")
    try:
        wait_for(lambda: "4321" in out(daemon.pyctr("top", "topps")), what="both sleeps")
        table = out(daemon.pyctr("top", "topps", "aux")).splitlines()
        assert table[0].split()[:2] == ["USER", "PID"]
        commands = " ".join(table[1:])
        assert "sleep 1234" in commands and "sleep 4321" in commands
        assert len(table) == 4   # sh, two sleeps: nothing from the host
        table = out(daemon.docker("top", "topps", "-o", "pid,args")).splitlines()
        assert table[0].split() == ["PID", "COMMAND"] and len(table) == 4
        bad = daemon.docker("top", "topps", "-o", "comm", check=False)  # no PID column
        assert bad.returncode != 0 and b"PID" in bad.stderr
    finally:
        daemon.docker("rm", "-f", "topps", check=False)


# --- the parts alone: journal rotation, log entry cuts ------------------------------------

def test_journal_rotates_and_keeps_order_across_reopen(tmp_path):
    import asyncio

    from pyctr.engine.daemon.events import EventBus, Journal

    async def scenario() -> None:
        bus = EventBus(str(tmp_path), history=8)
        bus.journal.close()
        bus.journal = Journal(str(tmp_path), limit=4096)   # small, to rotate often
        for i in range(100):
            bus.publish("tag", f"image{i}", type="image")
        bus.close()
        files = sorted(os.listdir(tmp_path))
        assert files == ["events.jsonl", "events.jsonl.1"]
        assert all(os.path.getsize(tmp_path / f) <= 4096 for f in files)
        reopened = EventBus(str(tmp_path), history=8)   # as after a daemon restart
        kept = list(reopened.journal.read())
        assert [e.id for e in kept] == [f"image{i}" for i in range(100 - len(kept), 100)]
        assert [e.id for e in reopened.history] == [f"image{i}" for i in range(92, 100)]
        later = reopened.publish("untag", "image99", type="image")
        assert later.time_nano > kept[-1].time_nano
        old = await reopened.past(0, kept[-1].time_nano)   # older than the ring: the journal
        assert [e.id for e in old] == [e.id for e in kept]
        reopened.close()

    asyncio.run(scenario())


def test_long_entries_are_cut_on_character_boundaries(tmp_path):
    import asyncio

    from pyctr.engine.daemon import jsonfile as logs

    text = ("ab€" * 20000 + "\n").encode()   # 3-byte characters across every 16K cut

    async def scenario() -> list:
        writer = logs.LogWriter(str(tmp_path / "log"))
        for i in range(0, len(text), 1000):   # arriving in pieces, as from a pipe
            writer.write("stdout", text[i:i + 1000])
        writer.close()
        return [e async for batch in logs.read(open(tmp_path / "log", "rb")) for e in batch]

    entries = asyncio.run(scenario())
    assert len(entries) > 3 and all(len(e.data) <= logs.MAX_ENTRY for e in entries)
    assert b"".join(e.data for e in entries) == text   # no U+FFFD: no character was split
    with open(tmp_path / "log", "rb") as f:
        assert logs.tail_offset(f, 1) > 0
