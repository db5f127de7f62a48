"""Not a byte of output lost or repeated when pyctrd is SIGKILLed while a container floods
its log (issue 17: "never loses a byte of its output").

The daemon reads a container's output from a pipe that the keeper also holds; whatever
a killed daemon had taken from the pipe but not yet put in the log used to be gone (the
CI run of the last stop caught a counter's line 98 missing). Now the daemon moves the
bytes from the pipe to a spool file in one splice(2) and logs from the spool, so a kill
at any instant leaves each byte either in the pipe, or in the spool for the next daemon,
and the log's cursor tells the next daemon which of the spool's bytes it has already.
"""

from __future__ import annotations

import json
import os
import random
import subprocess

import pytest

from harness import DOCKER, wait_for

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")

LIVE = ["--live-restore"]
# Lines as fast as the shell makes them, with a long one now and then (a read then ends
# mid-line: the partial line is what a daemon holds in memory), on both streams.
FLOOD = ('i=0; while :; do echo "$i"; case $i in *37) echo "$i-$(printf %0900d 0)" >&2;; esac; '
         'i=$((i+1)); done')


def _numbers(d, name: str) -> tuple[list[int], list[int]]:
    """The numbers of the stdout lines and of the stderr lines, from one `docker logs`."""
    out = d.docker("logs", name)
    return tuple([int(line.split(b"-")[0]) for line in text.split()] for text in (out.stdout, out.stderr))


def _assert_whole(d, name: str) -> int:
    """The lines run on without a hole or a repeat (from 0, or, once rotated files are
    gone, from the oldest line kept); how far they have come."""
    numbers, long_lines = _numbers(d, name)
    first = numbers[0] if numbers else 0
    assert numbers == list(range(first, first + len(numbers))), _first_gap(numbers)
    # stderr is read apart from stdout: it may be a line behind or ahead, never holed
    if long_lines:
        expected = list(range(long_lines[0], first + len(numbers) + 100, 100))
        assert long_lines == expected[:len(long_lines)] and long_lines[0] % 100 == 37, \
            _first_gap(long_lines)
    return first + len(numbers)


def _first_gap(numbers: list[int]) -> str:
    for i, (a, b) in enumerate(zip(numbers, numbers[1:])):
        if b != a + 1 and not (b - a == 100):
            return f"line {i}: {a} then {b} ({len(numbers)} lines)"
    return f"{len(numbers)} lines"


@pytest.mark.parametrize("log_opts", [[], ["--log-opt", "max-size=300k", "--log-opt", "max-file=3"]],
                         ids=["one-file", "rotated"])
def test_a_flooding_containers_log_survives_sigkills_of_the_daemon(fresh_daemon, log_opts):
    d = fresh_daemon(args=LIVE)
    d.docker("run", "-d", "--name", "flood", *log_opts, "busybox", "sh", "-c", FLOOD)
    rng = random.Random(17)
    seen = 0
    for _ in range(6):
        want = seen + rng.randrange(2000, 20000)
        wait_for(lambda: _assert_whole(d, "flood") > want)
        d.kill()
        d = fresh_daemon(d.workdir, args=LIVE)
        try:
            seen = _assert_whole(d, "flood")
        except AssertionError:
            d.docker("rm", "-f", "flood", check=False)
            raise
    d.docker("kill", "flood")
    wait_for(lambda: not d.client().inspect_container("flood")["State"]["Running"])
    try:
        _assert_whole(d, "flood")
    finally:
        d.docker("rm", "-f", "flood", check=False)


def _start_armed(fresh_daemon, workdir: str, crash_at: str):
    saved = os.environ.get("PYCTR_CRASH_AT")
    os.environ["PYCTR_CRASH_AT"] = crash_at
    try:
        return fresh_daemon(workdir, args=LIVE)
    finally:
        if saved is None:
            os.environ.pop("PYCTR_CRASH_AT", None)
        else:
            os.environ["PYCTR_CRASH_AT"] = saved


def _died_at(d, point: str) -> None:
    d.proc.wait(timeout=120)
    assert d.proc.returncode == 137 and f"PYCTR_CRASH_AT={point}" in d.log(), d.log()[-2000:]


@pytest.mark.parametrize("point", ["output-taken", "log-cursor-written"])
def test_a_daemon_dead_between_the_pipe_and_the_log_loses_and_repeats_nothing(fresh_daemon, point):
    """Killed the instant a chunk left the pipe (output-taken), or when the cursor has
    announced a log write that has not happened (log-cursor-written; the test then tears
    that write half-way, as a kill inside write(2) can): the next daemon logs the chunk
    once, and the log holds no torn line."""
    d = fresh_daemon(args=LIVE)
    workdir = d.workdir
    d.stop()
    d = _start_armed(fresh_daemon, workdir, f"{point}:400")
    d.docker("run", "-d", "--name", "flood", "busybox", "sh", "-c", FLOOD)
    _died_at(d, point)
    log_path = next(os.path.join(root, name) for root, _, names in os.walk(d.root)
                    for name in names if name.endswith("-json.log"))
    if point == "log-cursor-written":
        with open(log_path, "ab") as f:
            f.write(b'{"log":"12345')   # what a write(2) cut short by the kill leaves
    d = fresh_daemon(workdir, args=LIVE)
    try:
        count = _assert_whole(d, "flood")
        assert count > 0
        with open(log_path, "rb") as f:   # the flood goes on: up to its size now
            lines = f.read(os.fstat(f.fileno()).st_size).split(b"\n")[:-1]
        for line in lines:
            json.loads(line)   # not a torn one among them
        d.docker("kill", "flood")
        wait_for(lambda: not d.client().inspect_container("flood")["State"]["Running"])
        assert _assert_whole(d, "flood") >= count
    finally:
        d.docker("rm", "-f", "flood", check=False)


def test_a_follower_and_a_reader_of_a_rotating_log_see_every_line_once(fresh_daemon):
    """`logs -f` reads on into the files rotations start; `logs` of a log rotating while
    it reads sees no file missing or twice (both were wrong before)."""
    d = fresh_daemon()
    d.docker("run", "-d", "--name", "flood", "--log-opt", "max-size=50k", "--log-opt", "max-file=3",
             "busybox", "sh", "-c", FLOOD)
    try:
        follower = subprocess.Popen([DOCKER, "logs", "-f", "--tail", "5", "flood"], env=d.env(),
                                    stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        seen = 0
        for _ in range(20):   # reads while it rotates
            seen = _assert_whole(d, "flood")
        wait_for(lambda: _assert_whole(d, "flood") > seen + 20000)
        d.docker("kill", "flood")
        out, _ = follower.communicate(timeout=120)
        numbers = [int(line.split(b"-")[0]) for line in out.split()]
        assert len(numbers) > 20000 and numbers == list(range(numbers[0], numbers[0] + len(numbers))), \
            _first_gap(numbers)
    finally:
        d.docker("rm", "-f", "flood", check=False)
