"""Healthchecks, --init, StopSignal/StopTimeout, restart policies across daemon
restarts and AutoRemove, through the docker CLI and docker-py, asserting effects: the
health state over time, the signal the process got, the argv of pid 1, what a
restarted daemon starts and what it removes. Compared with a private dockerd where
one starts."""

from __future__ import annotations

import io
import json
import os
import subprocess
import tarfile
import time

import pytest

from harness import DOCKER, wait_for
from private_dockerd import private_dockerd

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")

docker_py = pytest.importorskip("docker")


def inspect(daemon, name: str) -> dict:
    return json.loads(daemon.docker("inspect", name).stdout)[0]


def health(daemon, name: str) -> dict | None:
    return inspect(daemon, name)["State"].get("Health")


def events(daemon, since: float, name: str) -> list[str]:
    out = daemon.docker("events", "--since", f"{since:.3f}", "--until", f"{time.time():.3f}",
                        "--filter", f"container={name}", "--format", "{{.Status}}").stdout.decode()
    return out.splitlines()


@pytest.fixture(scope="module")
def dockerd(tmp_path_factory, busybox_tar):
    with private_dockerd(str(tmp_path_factory.mktemp("dockerd-execlife")), busybox_tar) as engine:
        yield engine


def noshell_image_tar() -> bytes:
    """An image with no shell and no libc: one static program, /sleep (busybox's sleep)."""
    with open("/bin/busybox", "rb") as f:
        data = f.read()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo("sleep")
        info.size, info.mode = len(data), 0o755
        tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


# ---- healthchecks -------------------------------------------------------------------

def test_health_over_time_events_filter_and_ps(daemon):
    since = time.time()
    # healthy once /tmp/ok exists (after ~1s), unhealthy once it is gone again
    daemon.docker("run", "-d", "--name", "hc", "--health-cmd", "cat /tmp/ok",
                  "--health-interval", "200ms", "--health-retries", "2", "--health-timeout", "5s",
                  "busybox", "sh", "-c", "sleep 1; echo fine > /tmp/ok; sleep 2; rm /tmp/ok; sleep 1000")
    try:
        state = health(daemon, "hc")
        assert state["Status"] == "starting" and state["FailingStreak"] == 0
        assert daemon.docker("ps", "-q", "--filter", "health=starting").stdout.decode().strip() != ""
        wait_for(lambda: health(daemon, "hc")["Status"] == "healthy", timeout=30)
        state = health(daemon, "hc")
        assert state["Log"][-1]["ExitCode"] == 0 and state["Log"][-1]["Output"] == "fine\n"
        assert "(healthy)" in daemon.docker("ps", "--filter", "name=hc", "--format", "{{.Status}}").stdout.decode()
        cid = inspect(daemon, "hc")["Id"]
        assert daemon.docker("ps", "-q", "--no-trunc", "--filter", "health=healthy").stdout.decode().split() == [cid]
        assert cid not in daemon.docker("ps", "-q", "--no-trunc", "--filter", "health=none").stdout.decode()
        wait_for(lambda: health(daemon, "hc")["Status"] == "unhealthy", timeout=30)
        state = health(daemon, "hc")
        assert state["FailingStreak"] >= 2 and state["Log"][-1]["ExitCode"] == 1
        assert "No such file" in state["Log"][-1]["Output"]
        assert len(state["Log"]) <= 5   # the last five probes, as Docker keeps
        # an event per change of status (2 failures may come before the file): ... healthy, unhealthy
        statuses = [e for e in events(daemon, since, "hc") if e.startswith("health_status")]
        assert statuses[-2:] == ["health_status: healthy", "health_status: unhealthy"]
        assert all(a != b for a, b in zip(statuses, statuses[1:]))
    finally:
        daemon.docker("rm", "-f", "hc")


def test_a_container_without_healthcheck_is_health_none(daemon):
    cid = daemon.docker("run", "-d", "busybox", "sleep", "1000").stdout.decode().strip()
    try:
        assert "Health" not in inspect(daemon, cid)["State"]
        assert cid in daemon.docker("ps", "-q", "--no-trunc", "--filter", "health=none").stdout.decode()
    finally:
        daemon.docker("rm", "-f", cid)


def test_healthcheck_from_the_image_and_no_healthcheck(daemon):
    c = docker_py.APIClient(base_url=daemon.host)
    base = c.create_container("busybox", "sleep 1000")["Id"]
    try:
        # an image whose config has a HEALTHCHECK (as a build or a pull gives one)
        c.commit(base, "withhealth", "latest", conf={
            "Healthcheck": {"Test": ["CMD-SHELL", "echo probe-$((1+1))"], "Interval": 100_000_000,
                            "Retries": 1}})
        cid = daemon.docker("run", "-d", "withhealth", "sleep", "1000").stdout.decode().strip()
        try:
            assert inspect(daemon, cid)["Config"]["Healthcheck"]["Test"] == ["CMD-SHELL", "echo probe-$((1+1))"]
            wait_for(lambda: health(daemon, cid)["Status"] == "healthy", timeout=30)
            assert health(daemon, cid)["Log"][-1]["Output"] == "probe-2\n"
        finally:
            daemon.docker("rm", "-f", cid)
        # the user's interval over the image's; the image's command kept
        cid = daemon.docker("run", "-d", "--health-interval", "150ms", "withhealth", "sleep", "1000").stdout.decode().strip()
        try:
            hc = inspect(daemon, cid)["Config"]["Healthcheck"]
            assert hc["Test"] == ["CMD-SHELL", "echo probe-$((1+1))"] and hc["Interval"] == 150_000_000
        finally:
            daemon.docker("rm", "-f", cid)
        cid = daemon.docker("run", "-d", "--no-healthcheck", "withhealth", "sleep", "1000").stdout.decode().strip()
        try:
            assert inspect(daemon, cid)["Config"]["Healthcheck"]["Test"] == ["NONE"]
            # with the image's healthcheck the state says "starting" from the start on
            assert "Health" not in inspect(daemon, cid)["State"]
        finally:
            daemon.docker("rm", "-f", cid)
    finally:
        c.remove_container(base, force=True)
        daemon.docker("rmi", "withhealth")


def test_a_probe_past_its_timeout_is_killed_and_fails(daemon):
    cid = daemon.docker("run", "-d", "--health-cmd", "sleep 30", "--health-timeout", "200ms",
                        "--health-interval", "100ms", "--health-retries", "1",
                        "busybox", "sleep", "1000").stdout.decode().strip()
    try:
        wait_for(lambda: health(daemon, cid)["Status"] == "unhealthy", timeout=30)
        last = health(daemon, cid)["Log"][-1]
        assert last["ExitCode"] == -1 and last["Output"] == "Health check exceeded timeout (200ms)"
        # the probe was killed, not left behind: only the container's sleep 1000 runs in it
        top = daemon.docker("top", cid).stdout.decode()
        wait_for(lambda: "sleep 30" not in daemon.docker("top", cid).stdout.decode(), timeout=10)
        assert "sleep 1000" in top
    finally:
        daemon.docker("rm", "-f", cid)


def test_start_period_failures_do_not_count(daemon):
    cid = daemon.docker("run", "-d", "--health-cmd", "false", "--health-interval", "100ms",
                        "--health-retries", "1", "--health-start-period", "60s",
                        "busybox", "sleep", "1000").stdout.decode().strip()
    try:
        wait_for(lambda: len(health(daemon, cid)["Log"]) >= 3, timeout=30)
        state = health(daemon, cid)
        assert state["Status"] == "starting" and state["FailingStreak"] == 0
        assert all(entry["ExitCode"] == 1 for entry in state["Log"])
    finally:
        daemon.docker("rm", "-f", cid)


@pytest.mark.parametrize("flag,field", [("--health-interval", "Interval"), ("--health-timeout", "Timeout"),
                                        ("--health-start-period", "StartPeriod")])
def test_a_duration_under_1ms_is_dockers_400_and_creates_nothing(daemon, flag, field):
    before = daemon.docker("ps", "-aq").stdout
    result = daemon.docker("run", "-d", flag, "0.1ms", "busybox", "true", check=False)
    assert result.returncode != 0
    assert f"{field} in Healthcheck cannot be less than 1ms" in result.stderr.decode()
    assert daemon.docker("ps", "-aq").stdout == before
    c = docker_py.APIClient(base_url=daemon.host)
    with pytest.raises(docker_py.errors.APIError) as caught:
        c.create_container("busybox", "true", healthcheck={"Test": ["CMD", "true"], "Retries": -1})
    assert caught.value.status_code == 400 and "Retries in Healthcheck cannot be negative" in str(caught.value)


def test_bad_health_interval_answers_as_docker(daemon, dockerd):
    ours = daemon.docker("run", "-d", "--health-interval", "0.1ms", "busybox", "true", check=False)
    theirs = subprocess.run([DOCKER, "run", "-d", "--network", "none", "--health-interval", "0.1ms",
                             "busybox", "true"], capture_output=True, env=dockerd.env())
    assert theirs.returncode == ours.returncode == 125
    assert ours.stderr.decode().splitlines()[0] == theirs.stderr.decode().splitlines()[0]


def test_health_states_match_docker(daemon, dockerd):
    """The same healthcheck on both engines goes through the same states and log shape."""
    args = ["--health-cmd", "test -e /tmp/ok && echo ok", "--health-interval", "200ms",
            "--health-retries", "1", "busybox", "sh", "-c", "sleep 1; touch /tmp/ok; sleep 1000"]

    def states(run, inspect_of) -> list[str]:
        cid = run(*args)
        seen: list[str] = []
        try:
            def healthy() -> bool:
                status = inspect_of(cid)["State"]["Health"]["Status"]
                if not seen or seen[-1] != status:
                    seen.append(status)
                return status == "healthy"
            wait_for(healthy, timeout=60)
            entry = inspect_of(cid)["State"]["Health"]["Log"][-1]
            return seen + [entry["ExitCode"], entry["Output"], sorted(entry)]
        finally:
            run_rm(cid)

    def run_rm(cid):
        for engine in (daemon, dockerd):
            subprocess.run([DOCKER, "rm", "-f", cid], capture_output=True, env=engine.env())

    ours = states(lambda *a: daemon.docker("run", "-d", *a).stdout.decode().strip(),
                  lambda cid: inspect(daemon, cid))
    theirs = states(lambda *a: dockerd.docker("run", "-d", "--network", "none", *a).stdout.decode().strip(),
                    lambda cid: json.loads(dockerd.docker("inspect", cid).stdout)[0])
    # the first probe may come before or after the file: "starting" (-> "unhealthy") -> "healthy"
    assert ours[0] == theirs[0] == "starting" and ours[-4] == theirs[-4] == "healthy"
    assert ours[-3:] == theirs[-3:]


def test_health_is_kept_and_probed_across_a_live_restore(fresh_daemon):
    d = fresh_daemon(args=["--live-restore"])
    cid = d.docker("run", "-d", "--health-cmd", "date +%s%N", "--health-interval", "200ms",
                   "busybox", "sleep", "1000").stdout.decode().strip()
    wait_for(lambda: health(d, cid)["Status"] == "healthy" and len(health(d, cid)["Log"]) >= 2, timeout=30)
    before = health(d, cid)
    d.stop()   # SIGTERM with live restore: the container runs on
    d2 = fresh_daemon(d.workdir, args=["--live-restore"])
    after = health(d2, cid)
    assert after["Status"] == "healthy" and after["Log"][:len(before["Log"])][0] == before["Log"][0]
    last = before["Log"][-1]["Start"]
    wait_for(lambda: health(d2, cid)["Log"][-1]["Start"] > last, timeout=30)   # probes go on
    assert health(d2, cid)["Status"] == "healthy"
    d2.docker("rm", "-f", cid)


def _in_pid_namespace_of(pid: int) -> list[int]:
    """The host pids of the processes in the pid namespace of process `pid`."""
    ns = os.readlink(f"/proc/{pid}/ns/pid")
    found = []
    for name in os.listdir("/proc"):
        try:
            if name.isdigit() and os.readlink(f"/proc/{name}/ns/pid") == ns:
                found.append(int(name))
        except OSError:   # gone meanwhile
            pass
    return sorted(found)


def test_probes_ended_mid_start_by_restarts_never_keep_a_container_from_dying(fresh_daemon):
    """Probes every millisecond, each killed at its 1ms timeout: a daemon stop (live
    restore) or the rm -f nearly always finds one starting. Whatever a given-up probe started is killed and reaped, so the container's
    init can always finish its exit (an unreaped exec in its pid namespace would keep
    it from ever exiting, and rm -f would hang)."""
    d = fresh_daemon(args=["--live-restore"])
    # Each probe is killed at its 1ms timeout: the daemon is nearly always starting one.
    cid = d.docker("run", "-d", "--health-cmd", "sleep 30", "--health-interval", "1ms",
                   "--health-timeout", "1ms", "busybox", "sleep", "1000").stdout.decode().strip()
    pid = inspect(d, cid)["State"]["Pid"]
    for _ in range(3):
        last = ((health(d, cid) or {}).get("Log") or [{"Start": ""}])[-1]["Start"]
        wait_for(lambda: (health(d, cid)["Log"] or [{"Start": ""}])[-1]["Start"] > last, timeout=30)
        d.stop()   # SIGTERM with live restore, a probe or several under way
        # Nothing of the stopped daemon's probes is left in the container: only its init.
        assert _in_pid_namespace_of(pid) == [pid]
        d = fresh_daemon(d.workdir, args=["--live-restore"])
        assert inspect(d, cid)["State"]["Pid"] == pid   # adopted, the same process
    d.docker("rm", "-f", cid, timeout=30)
    wait_for(lambda: not os.path.exists(f"/proc/{pid}"), timeout=10)


# ---- --init ---------------------------------------------------------------------------

def test_init_runs_tini_as_pid_1_in_an_image_without_a_shell(daemon):
    daemon.docker("import", "-", "noshell:latest", input=noshell_image_tar())
    try:
        cid = daemon.docker("run", "-d", "--init", "noshell", "/sleep", "1000").stdout.decode().strip()
        info = inspect(daemon, cid)
        assert info["HostConfig"]["Init"] is True
        assert info["Path"] == "/sleep" and info["Args"] == ["1000"]   # as Docker shows it
        with open(f"/proc/{info['State']['Pid']}/cmdline", "rb") as f:
            assert f.read().split(b"\0")[:-1] == [b"/sbin/docker-init", b"--", b"/sleep", b"1000"]
        # tini passes SIGTERM on: sleep (not pid 1) dies of it at once, no SIGKILL needed
        daemon.docker("stop", "-t", "30", cid)
        assert inspect(daemon, cid)["State"]["ExitCode"] == 143
        daemon.docker("rm", cid)
        # without --init the same sleep is pid 1, ignores SIGTERM and is killed
        cid = daemon.docker("run", "-d", "noshell", "/sleep", "1000").stdout.decode().strip()
        daemon.docker("stop", "-t", "1", cid)
        assert inspect(daemon, cid)["State"]["ExitCode"] == 137
        daemon.docker("rm", cid)
    finally:
        daemon.docker("rmi", "noshell")


def test_init_through_docker_py(daemon):
    client = docker_py.DockerClient(base_url=daemon.host)
    out = client.containers.run("busybox", ["sh", "-c", "cat /proc/1/cmdline | tr '\\0' ' '; ls -l /sbin/docker-init"],
                                init=True, remove=True)
    assert out.decode().startswith("/sbin/docker-init -- sh -c ")
    assert "-r-x" in out.decode() or "-rwx" in out.decode()
    # read-only in the container
    out = client.containers.run("busybox", ["sh", "-c", "echo x > /sbin/docker-init || echo refused"],
                                init=True, remove=True)
    assert b"refused" in out


def zombie_children(pid: int) -> list[str]:
    found = []
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/children") as f:
            for child in f.read().split():
                try:
                    with open(f"/proc/{child}/stat") as s:
                        if s.read().rsplit(")", 1)[1].split()[0] == "Z":
                            found.append(child)
                except FileNotFoundError:
                    pass
    return found


@pytest.mark.parametrize("init", [True, False])
def test_init_reaps_orphans(daemon, init):
    # The shell leaves an orphan and execs a sleep that never waits: the orphan's exit is
    # reaped by tini as pid 1; without --init it stays a zombie of that sleep.
    cid = daemon.docker("run", "-d", *(["--init"] if init else []), "busybox", "sh", "-c",
                        "(sleep 0.3 &) ; exec sleep 1000").stdout.decode().strip()
    try:
        pid = inspect(daemon, cid)["State"]["Pid"]
        wait_for(lambda: "sleep 0.3" not in daemon.docker("top", cid).stdout.decode(), timeout=30)
        if init:
            wait_for(lambda: not zombie_children(pid), timeout=10)
        else:
            assert zombie_children(pid), "without an init the orphan should stay a zombie"
    finally:
        daemon.docker("rm", "-f", cid)


def test_init_matches_docker(daemon, dockerd):
    script = "cat /proc/1/cmdline | tr '\\0' ' '"
    ours = daemon.docker("run", "--rm", "--init", "busybox", "sh", "-c", script).stdout
    theirs = dockerd.docker("run", "--rm", "--network", "none", "--init", "busybox", "sh", "-c", script).stdout
    assert ours == theirs == b"/sbin/docker-init -- sh -c " + script.encode() + b" "


# ---- StopSignal, StopTimeout ------------------------------------------------------------

TRAPS = "trap 'echo got USR1; exit 7' USR1; trap 'echo got TERM' TERM; while true; do sleep 0.1; done"


def test_stop_signal_is_what_stop_and_restart_send(daemon):
    script = "echo ready; " + TRAPS.replace("while", "echo trapped; while")
    cid = daemon.docker("run", "-d", "--stop-signal", "SIGUSR1", "busybox", "sh", "-c", script).stdout.decode().strip()

    def trapped(times: int) -> bool:   # the traps are set: a signal now finds them
        return daemon.docker("logs", cid).stdout.count(b"trapped") == times
    try:
        assert inspect(daemon, cid)["Config"]["StopSignal"] == "SIGUSR1"
        wait_for(lambda: trapped(1), timeout=30)
        daemon.docker("stop", cid)
        assert inspect(daemon, cid)["State"]["ExitCode"] == 7
        assert daemon.docker("logs", cid).stdout == b"ready\ntrapped\ngot USR1\n"
        daemon.docker("start", cid)
        wait_for(lambda: trapped(2), timeout=30)
        daemon.docker("restart", cid)
        wait_for(lambda: daemon.docker("logs", cid).stdout.count(b"got USR1") == 2, timeout=30)
        assert inspect(daemon, cid)["State"]["Running"] is True
    finally:
        daemon.docker("rm", "-f", cid)


# SIGTERM starts a 3s wind-down that then exits 4: within the wait it exits 4, past it 137.
WIND_DOWN = "trap 'echo got TERM; sleep 3; exit 4' TERM; echo trapped; while true; do sleep 0.1; done"


@pytest.mark.parametrize("flags,exit_code", [
    (["--stop-timeout", "1"], 137),    # the container's 1s, shorter than the wind-down: SIGKILL
    ([], 4),                           # the default 10s: it winds down by itself
    (["--stop-timeout", "-1"], 4),     # -1: wait as long as it takes
])
def test_stop_timeout_of_the_container(daemon, flags, exit_code):
    cid = daemon.docker("run", "-d", *flags, "busybox", "sh", "-c", WIND_DOWN).stdout.decode().strip()
    try:
        expected = int(flags[1]) if flags else None
        assert inspect(daemon, cid)["Config"].get("StopTimeout") == expected
        wait_for(lambda: daemon.docker("logs", cid).stdout == b"trapped\n", timeout=30)
        daemon.docker("stop", cid)   # no -t: the container's StopTimeout decides
        assert inspect(daemon, cid)["State"]["ExitCode"] == exit_code
        assert daemon.docker("logs", cid).stdout == b"trapped\ngot TERM\n"
    finally:
        daemon.docker("rm", "-f", cid)


def test_bad_stop_signal_is_a_400(daemon):
    before = daemon.docker("ps", "-aq").stdout
    result = daemon.docker("create", "--stop-signal", "SIGNOPE", "busybox", "true", check=False)
    assert result.returncode != 0 and "Invalid signal: SIGNOPE" in result.stderr.decode()
    assert daemon.docker("ps", "-aq").stdout == before


def test_the_daemons_shutdown_sends_the_stop_signal(fresh_daemon):
    d = fresh_daemon()
    script = TRAPS.replace("while", "echo trapped; while")
    cid = d.docker("run", "-d", "--stop-signal", "USR1", "busybox", "sh", "-c", script).stdout.decode().strip()
    wait_for(lambda: d.docker("logs", cid).stdout == b"trapped\n", timeout=30)
    d.stop()   # without live restore: every container is stopped with its signal
    d2 = fresh_daemon(d.workdir)
    assert d2.docker("logs", cid).stdout == b"trapped\ngot USR1\n"
    assert inspect(d2, cid)["State"]["ExitCode"] == 7
    d2.docker("rm", "-f", cid)


# ---- restart policies across daemon restarts, AutoRemove ---------------------------

def test_unless_stopped_restarts_unless_the_user_stopped_it(fresh_daemon):
    d = fresh_daemon()
    # it restarts on its own exits, like always
    flaky = d.docker("run", "-d", "--restart", "unless-stopped", "busybox", "sh", "-c", "sleep 0.2; exit 3").stdout.decode().strip()
    wait_for(lambda: inspect(d, flaky)["RestartCount"] >= 2, timeout=30)
    d.docker("stop", flaky)
    kept = d.docker("run", "-d", "--restart", "unless-stopped", "busybox", "sleep", "1000").stdout.decode().strip()
    stopped = d.docker("run", "-d", "--restart", "unless-stopped", "busybox", "sleep", "1000").stdout.decode().strip()
    always = d.docker("run", "-d", "--restart", "always", "busybox", "sleep", "1000").stdout.decode().strip()
    d.docker("stop", stopped)
    d.docker("stop", always)
    assert inspect(d, kept)["HostConfig"]["RestartPolicy"]["Name"] == "unless-stopped"
    assert "HasBeenManuallyStopped" not in inspect(d, stopped)
    d.stop()   # the shutdown stops `kept`, but that is not the user's stop
    d2 = fresh_daemon(d.workdir)
    running = {cid: inspect(d2, cid)["State"]["Running"] for cid in (kept, stopped, always, flaky)}
    # Docker's rule: `always` comes back even when the user stopped it; unless-stopped does not
    assert running == {kept: True, stopped: False, always: True, flaky: False}
    d2.docker("start", stopped)   # a start clears the user's stop
    d2.stop()
    d3 = fresh_daemon(d.workdir)
    assert inspect(d3, stopped)["State"]["Running"] is True
    d3.docker("rm", "-f", kept, stopped, always, flaky)


def test_run_d_rm_is_removed_by_the_daemon(daemon):
    since = time.time()
    cid = daemon.docker("run", "-d", "--rm", "busybox", "sh", "-c", "sleep 0.3").stdout.decode().strip()
    assert inspect(daemon, cid)["HostConfig"]["AutoRemove"] is True
    wait_for(lambda: cid not in daemon.docker("ps", "-aq", "--no-trunc").stdout.decode(), timeout=30)

    def lifecycle() -> list[str]:
        return [line for line in events(daemon, since, cid) if line in ("start", "die", "destroy")]
    wait_for(lambda: "destroy" in lifecycle(), timeout=30)   # published once its files are gone
    assert lifecycle() == ["start", "die", "destroy"]
    assert daemon.docker("run", "--rm", "busybox", "echo", "hi").stdout == b"hi\n"


def test_run_rm_of_a_start_that_fails_leaves_nothing(daemon):
    before = daemon.docker("ps", "-aq").stdout
    result = daemon.docker("run", "--rm", "busybox", "/does-not-exist", check=False, timeout=60)
    assert result.returncode != 0
    wait_for(lambda: daemon.docker("ps", "-aq").stdout == before, timeout=30)


def test_auto_remove_with_a_restart_policy_is_a_400(daemon):
    c = docker_py.APIClient(base_url=daemon.host)   # the CLI refuses this itself
    before = daemon.docker("ps", "-aq").stdout
    with pytest.raises(docker_py.errors.APIError) as caught:
        c.create_container("busybox", "true", host_config={"AutoRemove": True,
                                                           "RestartPolicy": {"Name": "unless-stopped"}})
    assert caught.value.status_code == 400 and "AutoRemove" in str(caught.value)
    assert daemon.docker("ps", "-aq").stdout == before


def test_rm_container_running_at_shutdown_is_removed(fresh_daemon):
    d = fresh_daemon()
    cid = d.docker("run", "-d", "--rm", "busybox", "sleep", "1000").stdout.decode().strip()
    d.stop()
    d2 = fresh_daemon(d.workdir)
    wait_for(lambda: cid not in d2.docker("ps", "-aq", "--no-trunc").stdout.decode(), timeout=30)


def test_healthcheck_and_stopsignal_from_a_dockerfile(daemon, tmp_path):
    (tmp_path / "Dockerfile").write_text(
        "FROM busybox\n"
        "HEALTHCHECK --interval=100ms --timeout=5s --retries=1 CMD echo built-probe\n"
        "STOPSIGNAL SIGUSR1\n")
    daemon.docker("build", "-t", "built/health", str(tmp_path), timeout=120)
    try:
        config = inspect(daemon, "built/health")["Config"]
        # StartPeriod not given: left out, as Go's omitempty leaves it out of Docker's image config
        assert config["Healthcheck"] == {"Test": ["CMD-SHELL", "echo built-probe"], "Interval": 100_000_000,
                                         "Timeout": 5_000_000_000, "Retries": 1}
        assert config["StopSignal"] == "SIGUSR1"
        cid = daemon.docker("run", "-d", "built/health", "sh", "-c", TRAPS).stdout.decode().strip()
        try:
            wait_for(lambda: health(daemon, cid)["Status"] == "healthy", timeout=30)
            assert health(daemon, cid)["Log"][-1]["Output"] == "built-probe\n"
            daemon.docker("stop", cid)   # the image's STOPSIGNAL
            assert inspect(daemon, cid)["State"]["ExitCode"] == 7
        finally:
            daemon.docker("rm", "-f", cid)
        # and through commit --change, as Docker's list of change commands has them
        cid = daemon.docker("create", "busybox", "true").stdout.decode().strip()
        daemon.docker("commit", "-c", "HEALTHCHECK NONE", "-c", "STOPSIGNAL 10", cid, "built/changed")
        changed = inspect(daemon, "built/changed")["Config"]
        assert changed["Healthcheck"]["Test"] == ["NONE"] and changed["StopSignal"] == "10"
        daemon.docker("rm", cid)
        daemon.docker("rmi", "built/changed")
    finally:
        daemon.docker("rmi", "built/health")


def test_bad_healthcheck_in_a_dockerfile_fails_the_build(daemon, tmp_path):
    (tmp_path / "Dockerfile").write_text("FROM busybox\nHEALTHCHECK --interval=soon CMD true\n")
    result = daemon.docker("build", str(tmp_path), check=False, timeout=120)
    assert result.returncode != 0
    assert 'invalid duration "soon"' in (result.stdout + result.stderr).decode()


def _exec_events(engine, since: float, cid: str) -> list[tuple[str, list[str]]]:
    """(action, sorted attribute names) of the container's exec events since `since`."""
    out = engine.docker("events", "--since", f"{since:.3f}", "--until", f"{time.time():.3f}",
                        "--filter", f"container={cid}", "--format", "{{json .}}").stdout.decode()
    seen = []
    for line in out.splitlines():
        event = json.loads(line)
        if event["Action"].startswith("exec_"):
            seen.append((event["Action"], sorted(event["Actor"]["Attributes"])))
    return seen


def test_a_probe_is_an_exec_in_the_events_as_with_docker(daemon, dockerd):
    """Docker's probes are execs with their own ids: exec_create, exec_start and exec_die
    (with its exit code) for each, as a `docker exec` has."""
    def probe_events(engine, network: list[str]) -> list:
        since = time.time()
        cid = engine.docker("run", "-d", *network, "--health-cmd", "exit 3", "--health-interval", "200ms",
                            "busybox", "sleep", "1000").stdout.decode().strip()
        try:
            wait_for(lambda: any(a == "exec_die" for a, _ in _exec_events(engine, since, cid)), timeout=30)
            events = _exec_events(engine, since, cid)
            out = engine.docker("events", "--since", f"{since:.3f}", "--until", f"{time.time():.3f}",
                                "--filter", f"container={cid}", "--filter", "event=exec_die",
                                "--format", "{{.Actor.Attributes.exitCode}}").stdout.decode().split()
        finally:
            engine.docker("rm", "-f", cid)
        first = events.index(next(e for e in events if e[0].startswith("exec_create")))
        return events[first:first + 3] + [out[0]]

    ours = probe_events(daemon, [])
    theirs = probe_events(dockerd, ["--network", "none"])
    assert theirs[0][0] == "exec_create: /bin/sh -c exit 3"
    assert ours == theirs


def test_the_shutdown_stops_every_running_container_and_exits_cleanly(fresh_daemon):
    """Without live restore a SIGTERM stops them all (in parallel), each with its stop
    signal heard and its exit recorded, and the daemon exits 0 with its log written to
    the end (it leaves the interpreter's teardown out: nothing may be lost by that)."""
    d = fresh_daemon()
    script = "trap 'echo got TERM; exit 3' TERM; echo up; while true; do sleep 0.1; done"
    ids = [d.docker("run", "-d", "busybox", "sh", "-c", script).stdout.decode().strip() for _ in range(6)]
    for cid in ids:
        wait_for(lambda: d.docker("logs", cid).stdout == b"up\n", timeout=30)
    d.stop()
    assert d.proc.returncode == 0
    assert d.log().rstrip().endswith("pyctr.main: stopped")
    assert not d.leftovers()
    d2 = fresh_daemon(d.workdir)
    for cid in ids:
        assert d2.docker("logs", cid).stdout == b"up\ngot TERM\n"
        state = inspect(d2, cid)["State"]
        assert (state["Running"], state["ExitCode"]) == (False, 3)
    d2.docker("rm", "-f", *ids)
