"""Restart policies: on-failure with a maximum, always (also across a daemon crash),
back-off, and user stops that must not restart."""

from __future__ import annotations

import os
import time

import pytest

from harness import wait_for

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")




def test_on_failure_retries_up_to_the_maximum(daemon):
    c = daemon.client()
    cid = daemon.docker("run", "-d", "--restart", "on-failure:3", "busybox", "sh", "-c", "exit 1").stdout.decode().strip()
    try:
        wait_for(lambda: c.inspect_container(cid)["RestartCount"] == 3
                 and not c.inspect_container(cid)["State"]["Running"]
                 and not c.inspect_container(cid)["State"]["Restarting"])
        time.sleep(1.0)  # back-off would have passed: no fourth run
        info = c.inspect_container(cid)
        assert info["RestartCount"] == 3 and info["State"]["ExitCode"] == 1
        assert daemon.docker("inspect", "-f", "{{.RestartCount}}", cid).stdout.decode().strip() == "3"
    finally:
        c.remove_container(cid, force=True)


def test_on_failure_does_not_restart_success(daemon):
    c = daemon.client()
    cid = daemon.docker("run", "-d", "--restart", "on-failure", "busybox", "true").stdout.decode().strip()
    try:
        daemon.docker("wait", cid)
        time.sleep(0.5)
        assert c.inspect_container(cid)["RestartCount"] == 0
    finally:
        c.remove_container(cid, force=True)


def test_always_restarts_and_user_stop_does_not(daemon):
    c = daemon.client()
    cid = daemon.docker("run", "-d", "--restart", "always", "--name", "always", "busybox", "sleep", "0.2").stdout.decode().strip()
    try:
        wait_for(lambda: c.inspect_container(cid)["RestartCount"] >= 2)
        daemon.docker("stop", "-t", "1", "always")
        count = c.inspect_container(cid)["RestartCount"]
        time.sleep(1.0)
        info = c.inspect_container(cid)
        assert not info["State"]["Running"] and not info["State"]["Restarting"]
        assert info["RestartCount"] == count
    finally:
        c.remove_container(cid, force=True)


def test_backoff_grows(daemon):
    c = daemon.client()
    cid = daemon.docker("run", "-d", "--restart", "on-failure:5", "busybox", "sh", "-c", "exit 2").stdout.decode().strip()
    try:
        events = wait_for(lambda: [e for e in _starts(daemon, cid)] if len(_starts(daemon, cid)) >= 5 else None)
        gaps = [b - a for a, b in zip(events, events[1:])]
        assert gaps[-1] > gaps[0], gaps  # 0.1, 0.2, 0.4, 0.8 s plus run time
    finally:
        c.remove_container(cid, force=True)


def _starts(daemon, cid: str) -> list[float]:
    import json
    with daemon.client().request("GET", "/events", {"since": 1, "until": int(time.time()) + 1,
                                                    "filters": json.dumps({"container": [cid], "event": ["start"]})}) as r:
        lines = [json.loads(line) for line in r.read().splitlines() if line.strip()]
    return [e["timeNano"] / 1e9 for e in lines]


def test_always_comes_back_after_daemon_sigkill(fresh_daemon):
    first = fresh_daemon()
    first.docker("run", "-d", "--restart", "always", "--name", "a", "busybox", "sleep", "1000")
    first.docker("run", "-d", "--name", "b", "busybox", "sleep", "1000")
    first.kill()
    second = fresh_daemon(first.workdir)
    c = second.client()
    assert wait_for(lambda: c.inspect_container("a")["State"]["Running"])
    assert not c.inspect_container("b")["State"]["Running"]
    assert "a" in second.docker("ps").stdout.decode()
    second.docker("rm", "-f", "a", "b")
