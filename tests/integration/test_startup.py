"""Start-up: the socket answers at once, and what comes while the daemon still opens
behind it (graph, bridge, sweep, restoring containers) waits and then answers in
full: never an error, never a half-restored list."""

from __future__ import annotations

import os
import threading

from harness import DaemonProcess, wait_for


def test_requests_right_after_the_socket_appears_wait_for_the_opening(fresh_daemon):
    d = fresh_daemon()
    client = d.client()
    body = {"Image": "busybox", "Cmd": ["sleep", "1000"], "HostConfig": {"NetworkMode": "none"}}
    ids = {client.json("POST", "/containers/create", body=body)["Id"] for _ in range(25)}
    running = client.json("POST", "/containers/create", body=body)["Id"]
    client.call("POST", f"/containers/{running}/start")
    ids.add(running)
    d.stop()

    again = DaemonProcess(d.workdir, ["--shutdown-timeout", "2"])
    started = threading.Thread(target=again.start)
    started.start()
    try:
        wait_for(lambda: os.path.exists(again.socket), timeout=60, interval=0.002)
        listed = again.client().json("GET", "/containers/json", {"all": 1})
        ps = again.docker("ps", "-aq", "--no-trunc")
        version = again.docker("version", "--format", "{{.Server.APIVersion}}")
        started.join()
        assert {c["Id"] for c in listed} == ids
        assert set(ps.stdout.decode().split()) == ids
        assert version.stdout.decode().strip() == "1.41"
        # the running one was stopped with its daemon (no live restore): restored as exited
        assert again.client().inspect_container(running)["State"]["Running"] is False
        run = again.docker("run", "--rm", "--net=none", "busybox", "echo", "up")
        assert run.stdout == b"up\n"
    finally:
        started.join()
        again.stop()
        left = again.leftovers()
        again.cleanup_by_force()
    assert not left, left
