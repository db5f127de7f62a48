"""Containers on the real kernel through the docker CLI and the API: the life cycle,
logs, volumes, inspect, and what bad input and crashes must leave behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time

import pytest

from harness import DaemonProcess, cgroup_dirs, container_count, mounts_under
from pyctr.engine.client.errors import APIError

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")


def out(result: subprocess.CompletedProcess) -> str:
    return result.stdout.decode()






def test_run_prints_and_passes_exit_codes(daemon):
    assert out(daemon.docker("run", "busybox", "echo", "hello")) == "hello\n"
    before = container_count(daemon)
    result = daemon.docker("run", "--rm", "busybox", "sh", "-c", "exit 3", check=False)
    assert result.returncode == 3
    assert container_count(daemon) == before  # --rm removed it
    # pid 1 of a pid namespace cannot be killed from inside: the daemon's kill does it.
    cid = out(daemon.docker("run", "-d", "busybox", "sleep", "100")).strip()
    daemon.docker("kill", "-s", "KILL", cid)  # an init ignores signals it has no handler for
    assert out(daemon.docker("wait", cid)).strip() == str(128 + signal.SIGKILL)
    daemon.docker("rm", cid)


def test_unknown_command_is_127_with_message(daemon):
    result = daemon.docker("run", "--rm", "busybox", "nosuchcmd", check=False)
    assert result.returncode == 127
    assert b"nosuchcmd" in result.stderr and b"not found" in result.stderr


def test_detached_life_cycle(daemon):
    cid = out(daemon.docker("run", "-d", "--name", "web", "busybox", "sleep", "1000")).strip()
    try:
        assert len(cid) == 64
        ps = out(daemon.docker("ps"))
        assert "web" in ps and "Up " in ps
        assert cid[:12] in out(daemon.docker("ps", "-a", "-q"))
        assert "web" in out(daemon.docker("ps", "-l"))
        state = daemon.client().inspect_container("web")["State"]
        assert state["Running"] and state["Pid"] > 0
        assert os.path.exists(f"/proc/{state['Pid']}")
        assert cgroup_dirs(cid), "the container has a cgroup while running"

        started = time.monotonic()
        daemon.docker("stop", "-t", "1", "web")  # sleep as pid 1 ignores SIGTERM: SIGKILL after 1s
        assert time.monotonic() - started < 10
        state = daemon.client().inspect_container("web")["State"]
        assert not state["Running"] and state["ExitCode"] == 137
        assert not cgroup_dirs(cid), "a stopped container's cgroup is removed"

        daemon.docker("start", "web")
        assert daemon.client().inspect_container("web")["State"]["Running"]
        first_pid = daemon.client().inspect_container("web")["State"]["Pid"]
        daemon.docker("restart", "-t", "1", "web")
        state = daemon.client().inspect_container("web")["State"]
        assert state["Running"] and state["Pid"] != first_pid
        daemon.docker("kill", "web")
        assert out(daemon.docker("wait", "web")).strip() == "137"
    finally:
        daemon.docker("rm", "-f", "web", check=False)
    assert "web" not in out(daemon.docker("ps", "-a"))
    assert not os.path.exists(os.path.join(daemon.root, "containers", cid))
    assert not cgroup_dirs(cid)


def test_kill_delivers_any_signal(daemon):
    script = "trap 'echo got USR1; exit 7' USR1; echo ready; while true; do sleep 0.1; done"
    daemon.docker("run", "-d", "--name", "trap", "busybox", "sh", "-c", script)
    try:
        deadline = time.monotonic() + 10
        while "ready" not in out(daemon.docker("logs", "trap")) and time.monotonic() < deadline:
            time.sleep(0.05)
        daemon.docker("kill", "-s", "USR1", "trap")
        assert out(daemon.docker("wait", "trap")).strip() == "7"
        assert "got USR1" in out(daemon.docker("logs", "trap"))
        with pytest.raises(APIError) as err:
            daemon.client().kill("trap", "NOSUCHSIGNAL")
        assert err.value.status in (400, 409)
    finally:
        daemon.docker("rm", "-f", "trap", check=False)


def test_logs_json_file_timestamps_and_tail(daemon):
    daemon.docker("run", "--name", "talk", "busybox", "sh", "-c",
                  "echo one; echo two; echo three; echo oops >&2")
    try:
        result = daemon.docker("logs", "talk")
        assert out(result) == "one\ntwo\nthree\n" and result.stderr == b"oops\n"
        stamped = out(daemon.docker("logs", "-t", "talk")).splitlines()
        assert stamped[0].endswith(" one") and stamped[0][:4].isdigit() and "T" in stamped[0]
        tailed = daemon.docker("logs", "--tail", "1", "talk")
        assert (out(tailed) + tailed.stderr.decode()).strip() in ("three", "oops")
        cid = daemon.client().inspect_container("talk")["Id"]
        with open(os.path.join(daemon.root, "containers", cid, f"{cid}-json.log")) as f:
            first = json.loads(f.readline())
        assert first["log"] == "one\n" and first["stream"] == "stdout" and first["time"].endswith("Z")
    finally:
        daemon.docker("rm", "talk", check=False)


def test_create_options_and_inspect_format(daemon):
    daemon.docker("create", "--name", "c1", "-e", "A=1", "-w", "/tmp", "-u", "nobody", "-h", "myhost",
                  "--entrypoint", "/bin/sh", "busybox", "-c", "id -u; pwd; hostname; echo $A")
    try:
        assert out(daemon.docker("inspect", "-f", "{{.State.Running}} {{.Config.Hostname}}", "c1")) == "false myhost\n"
        result = daemon.docker("start", "-a", "c1")
        assert out(result).split() == ["65534", "/tmp", "myhost", "1"]
        assert out(daemon.docker("inspect", "-f", "{{.State.ExitCode}}", "c1")).strip() == "0"
        info = daemon.client().inspect_container("c1")
        assert info["Path"] == "/bin/sh" and info["Args"][0] == "-c" and info["Name"] == "/c1"
        assert "A=1" in info["Config"]["Env"]
    finally:
        daemon.docker("rm", "c1", check=False)


def test_volumes_bind_anonymous_and_rm_v(daemon, tmp_path):
    host_dir = tmp_path / "data"
    host_dir.mkdir()
    (host_dir / "file").write_text("from host\n")
    result = daemon.docker("run", "--name", "vols", "-v", f"{host_dir}:/data:ro", "-v", "/scratch",
                           "busybox", "sh", "-c",
                           "cat /data/file; touch /data/x 2>/dev/null || echo ro; echo kept > /scratch/f")
    try:
        assert out(result) == "from host\nro\n"
        info = daemon.client().inspect_container("vols")
        assert info["Volumes"]["/data"] == str(host_dir) and info["VolumesRW"]["/data"] is False
        anonymous = info["Volumes"]["/scratch"]
        assert anonymous.startswith(os.path.join(daemon.root, "volumes"))
        with open(os.path.join(anonymous, "f")) as f:
            assert f.read() == "kept\n"
        # A restart finds the same volume again.
        daemon.docker("start", "-a", "vols")
        assert daemon.client().inspect_container("vols")["Volumes"]["/scratch"] == anonymous
    finally:
        daemon.docker("rm", "-v", "vols", check=False)
    assert not os.path.exists(anonymous)
    assert os.path.exists(host_dir / "file")  # bind mounts are never deleted


def test_bad_input_leaves_nothing(daemon, tmp_path):
    c = daemon.client()
    before = container_count(daemon)
    containers_dir = os.path.join(daemon.root, "containers")
    dirs_before = set(os.listdir(containers_dir))
    cases = [
        ({"Image": "nosuchimage", "Cmd": ["true"]}, 404),
        ({"Image": "busybox", "Cmd": ["true"], "HostConfig": {"Binds": ["rel/ative:/x"]}}, 400),  # no volume name
        ({"Image": "busybox", "Cmd": ["true"], "HostConfig": {"Binds": ["/tmp:x"]}}, 400),
        ({"Image": "busybox", "Cmd": ["true"], "Volumes": {"relative": {}}}, 400),
        ({"Image": "busybox"}, 400),  # no command
        ({"Image": "busybox", "Cmd": "true", "Memory": "lots"}, 400),
        ({"Image": "busybox", "Cmd": ["true"], "HostConfig": {"RestartPolicy": {"Name": "sometimes"}}}, 400),
    ]
    for body, status in cases:
        with pytest.raises(APIError) as err:
            c.json("POST", "/containers/create", body=body)
        assert err.value.status == status, (body, err.value)
    with pytest.raises(APIError) as err:
        c.json("POST", "/containers/create", {"name": "bad name!"}, body={"Image": "busybox", "Cmd": ["true"]})
    assert err.value.status == 400
    assert container_count(daemon) == before
    assert set(os.listdir(containers_dir)) == dirs_before


def test_conflicts_and_not_modified(daemon):
    c = daemon.client()
    created = c.json("POST", "/containers/create", {"name": "dup"}, body={"Image": "busybox", "Cmd": ["sleep", "100"]})
    try:
        with pytest.raises(APIError) as err:
            c.json("POST", "/containers/create", {"name": "dup"}, body={"Image": "busybox", "Cmd": ["true"]})
        assert err.value.status == 409 and "dup" in err.value.message
        c.start("dup")
        with c.request("POST", "/containers/dup/start") as resp:
            assert resp.status == 304
        with pytest.raises(APIError) as err:
            c.remove_container("dup")
        assert err.value.status == 409
        with pytest.raises(APIError) as err:
            c.inspect_container("nosuchcontainer")
        assert err.value.status == 404
    finally:
        c.remove_container(created["Id"], force=True)
    assert not mounts_under(os.path.join(daemon.root, "graph"))


def test_ps_filters_and_sizes(daemon):
    c = daemon.client()
    ids = []
    try:
        for i in range(3):
            ids.append(out(daemon.docker("run", "-d", "--name", f"ps{i}", "busybox", "sh", "-c",
                                         f"echo x > /f{i}; exit {i}")).strip())
        for cid in ids:
            daemon.docker("wait", cid)
        listed = c.json("GET", "/containers/json", {"all": 1, "limit": 2})
        assert [x["Id"] for x in listed] == [ids[2], ids[1]]
        since = c.json("GET", "/containers/json", {"since": ids[0]})
        assert {x["Id"] for x in since} == {ids[1], ids[2]}
        before = c.json("GET", "/containers/json", {"before": ids[1]})
        assert ids[0] in {x["Id"] for x in before} and ids[2] not in {x["Id"] for x in before}
        sized = c.json("GET", "/containers/json", {"all": 1, "size": 1, "limit": 1})
        assert sized[0]["SizeRw"] >= 2 and sized[0]["SizeRootFs"] > sized[0]["SizeRw"]
        # values are strings in both forms (dockerd refuses [1]: tests/integration/test_list_filters.py)
        exited = c.json("GET", "/containers/json", {"all": 1, "filters": json.dumps({"exited": ["1"]})})
        assert [x["Id"] for x in exited] == [ids[1]]
        assert "Exited (2)" in out(daemon.docker("ps", "-a", "--no-trunc"))
        assert ids[2] in out(daemon.docker("ps", "-a", "--no-trunc"))
    finally:
        for cid in ids:
            c.remove_container(cid, force=True)


def test_top_lists_container_processes(daemon):
    daemon.docker("run", "-d", "--name", "topme", "busybox", "sleep", "1000")
    try:
        result = out(daemon.docker("top", "topme"))
        assert "sleep 1000" in result and "PID" in result
    finally:
        daemon.docker("rm", "-f", "topme")


def test_sigkill_of_daemon_leaves_consistent_state(fresh_daemon):
    first: DaemonProcess = fresh_daemon()
    cid = out(first.docker("run", "-d", "--name", "survivor", "busybox", "sh", "-c",
                           "echo before crash; sleep 1000")).strip()
    deadline = time.monotonic() + 10
    while "before crash" not in out(first.docker("logs", "survivor")) and time.monotonic() < deadline:
        time.sleep(0.05)
    pid = first.client().inspect_container(cid)["State"]["Pid"]
    first.kill()
    second = fresh_daemon(first.workdir)
    state = second.client().inspect_container("survivor")["State"]
    assert not state["Running"] and state["Pid"] == 0
    assert not os.path.exists(f"/proc/{pid}") or _is_zombie(pid)
    assert out(second.docker("logs", "survivor")) == "before crash\n"
    assert "survivor" in out(second.docker("ps", "-a"))
    second.docker("start", "survivor")
    second.docker("rm", "-f", "survivor")


def _is_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] == "Z"
    except FileNotFoundError:
        return True


def test_second_daemon_on_same_root_refuses(fresh_daemon, tmp_path):
    first = fresh_daemon()
    import sys
    result = subprocess.run(
        [sys.executable, "-m", "pyctr.engine.main", "-H", f"unix://{tmp_path}/other.sock",
         "-g", first.root, "--exec-root", str(tmp_path / "exec2")],
        capture_output=True, timeout=30)
    assert result.returncode != 0
    assert b"already running" in result.stderr
    assert first.client().ping() == "OK"


def test_sigterm_stops_containers_and_unmounts(fresh_daemon):
    d = fresh_daemon()
    d.docker("run", "-d", "busybox", "sleep", "1000")
    d.stop(signal.SIGTERM)
    assert not mounts_under(d.workdir)
    assert not d.leftovers()


def test_signals_start_at_their_defaults(daemon):
    """Python ignores SIGPIPE (and a backgrounded daemon SIGINT/SIGQUIT): none of that may
    reach the container, or `yes | head` spins forever."""
    status = out(daemon.docker("run", "--rm", "busybox", "grep", "-E", "SigIgn|SigBlk", "/proc/self/status"))
    assert "SigIgn:\t0000000000000000" in status and "SigBlk:\t0000000000000000" in status
    assert out(daemon.docker("run", "--rm", "busybox", "sh", "-c", "yes | head -c 4 | wc -c", timeout=30)).strip() == "4"


def test_image_volume_becomes_a_seeded_anonymous_volume(daemon):
    dockerfile = b"FROM busybox\nRUN mkdir /data && echo seeded > /data/f\nVOLUME /data\n"
    daemon.docker("build", "-t", "withvol", "-", input=dockerfile, timeout=120)
    cid = out(daemon.docker("run", "-d", "withvol", "sleep", "100")).strip()
    try:
        volume = daemon.client().inspect_container(cid)["Volumes"]["/data"]
        assert volume.startswith(os.path.join(daemon.root, "volumes"))
        with open(os.path.join(volume, "f")) as f:
            assert f.read() == "seeded\n"   # the image's content at that path, copied in
        assert out(daemon.docker("exec", cid, "cat", "/data/f")) == "seeded\n"
    finally:
        daemon.docker("rm", "-f", "-v", cid)
        daemon.docker("rmi", "withvol")
    assert not os.path.exists(volume)
