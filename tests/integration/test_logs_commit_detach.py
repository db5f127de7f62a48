"""Log drivers (json-file rotation, local, none, refusals), commit in any state and
import with changes, and the interactive side: detach keys for `run -it`, attach and
exec from the flag and from the client's config.json, exec's TTY size, user, workdir,
env and privileges, through the real docker CLI on real ptys (pexpect). Compared with
a private dockerd where one starts."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import time

import pytest

from harness import DOCKER, wait_for
from private_dockerd import private_dockerd

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")

pexpect = pytest.importorskip("pexpect")
docker_py = pytest.importorskip("docker")

LINES = "for i in $(seq 1 100); do echo line $i; done"


def inspect(engine, name: str) -> dict:
    return json.loads(engine.docker("inspect", name).stdout)[0]


@pytest.fixture(scope="module")
def dockerd(tmp_path_factory, busybox_tar):
    with private_dockerd(str(tmp_path_factory.mktemp("dockerd-logs")), busybox_tar) as engine:
        yield engine


def log_files(engine_root: str, cid: str) -> list[str]:
    directory = os.path.join(engine_root, "containers", cid)
    return sorted(n.replace(cid, "ID") for n in os.listdir(directory) if "json.log" in n)


# ---- log drivers -----------------------------------------------------------------------

def test_json_file_rotates_compresses_and_reads_back(daemon):
    cid = daemon.docker("run", "-d", "--log-opt", "max-size=1k", "--log-opt", "max-file=3",
                        "--log-opt", "compress=true", "busybox", "sh", "-c", LINES).stdout.decode().strip()
    try:
        wait_for(lambda: not inspect(daemon, cid)["State"]["Running"], timeout=30)
        wait_for(lambda: log_files(daemon.root, cid) == ["ID-json.log", "ID-json.log.1.gz", "ID-json.log.2.gz"],
                 timeout=30)
        path = inspect(daemon, cid)["LogPath"]
        assert os.path.getsize(path) <= 1024
        with gzip.open(path + ".1.gz") as f:
            newer = [json.loads(line)["log"] for line in f]
        with gzip.open(path + ".2.gz") as f:
            older = [json.loads(line)["log"] for line in f]
        # what was rotated away beyond max-file is gone; the rest is contiguous, in order
        out = daemon.docker("logs", cid).stdout.decode().splitlines()
        numbers = [int(line.split()[1]) for line in out]
        assert numbers == list(range(numbers[0], 101)) and numbers[0] > 1
        assert [f"line {n}\n" for n in numbers[:len(older)]] == older
        assert [f"line {n}\n" for n in numbers[len(older):len(older) + len(newer)]] == newer
        # a tail longer than the current file reaches into the rotated ones
        in_current = sum(1 for _ in open(path))
        tail = daemon.docker("logs", "--tail", str(in_current + 3), cid).stdout.decode().splitlines()
        assert tail == out[-(in_current + 3):]
    finally:
        daemon.docker("rm", "-f", cid)


def test_json_file_rotation_without_compression(daemon):
    cid = daemon.docker("run", "-d", "--log-opt", "max-size=2k", "--log-opt", "max-file=2",
                        "busybox", "sh", "-c", LINES).stdout.decode().strip()
    try:
        wait_for(lambda: not inspect(daemon, cid)["State"]["Running"], timeout=30)
        wait_for(lambda: log_files(daemon.root, cid) == ["ID-json.log", "ID-json.log.1"], timeout=30)
        out = daemon.docker("logs", cid).stdout.decode().splitlines()
        assert out[-1] == "line 100" and len(out) < 100
    finally:
        daemon.docker("rm", "-f", cid)


def test_rotation_names_match_docker(daemon, dockerd):
    flags = ["--log-opt", "max-size=1k", "--log-opt", "max-file=3", "--log-opt", "compress=true"]
    ours = daemon.docker("run", "-d", *flags, "busybox", "sh", "-c", LINES).stdout.decode().strip()
    theirs = dockerd.docker("run", "-d", "--network", "none", *flags, "busybox", "sh", "-c",
                            LINES).stdout.decode().strip()
    try:
        for engine, cid in ((daemon, ours), (dockerd, theirs)):
            wait_for(lambda: not inspect(engine, cid)["State"]["Running"], timeout=30)
        root = os.path.join(dockerd.workdir, "root")
        wait_for(lambda: log_files(daemon.root, ours) == log_files(root, theirs), timeout=30)
        assert daemon.docker("logs", "--tail", "5", ours).stdout == dockerd.docker("logs", "--tail", "5", theirs).stdout
    finally:
        daemon.docker("rm", "-f", ours)
        dockerd.docker("rm", "-f", theirs)


def test_local_driver_keeps_and_reads_logs(daemon):
    cid = daemon.docker("run", "-d", "--log-driver", "local", "busybox", "sh", "-c", LINES).stdout.decode().strip()
    try:
        wait_for(lambda: not inspect(daemon, cid)["State"]["Running"], timeout=30)
        assert daemon.docker("logs", "--tail", "2", cid).stdout == b"line 99\nline 100\n"
        assert inspect(daemon, cid)["HostConfig"]["LogConfig"]["Type"] == "local"
        assert os.path.exists(os.path.join(daemon.root, "containers", cid, "local-logs", "container.log"))
    finally:
        daemon.docker("rm", "-f", cid)


def test_none_driver_keeps_nothing_and_logs_fails_as_docker(daemon, dockerd):
    ours = daemon.docker("run", "--log-driver", "none", "--name", "nolog", "busybox", "echo", "live")
    assert ours.stdout == b"live\n"   # attached output still comes through
    try:
        cid = inspect(daemon, "nolog")["Id"]
        assert not any("json.log" in n for n in os.listdir(os.path.join(daemon.root, "containers", cid)))
        result = daemon.docker("logs", "nolog", check=False)
        theirs = subprocess.run([DOCKER, "run", "--network", "none", "--log-driver", "none", "--name", "nolog",
                                 "busybox", "echo", "live"], capture_output=True, env=dockerd.env())
        assert theirs.stdout == b"live\n"
        docker_logs = subprocess.run([DOCKER, "logs", "nolog"], capture_output=True, env=dockerd.env())
        assert result.returncode == docker_logs.returncode != 0
        assert result.stderr == docker_logs.stderr
    finally:
        daemon.docker("rm", "-f", "nolog")
        subprocess.run([DOCKER, "rm", "-f", "nolog"], capture_output=True, env=dockerd.env())


@pytest.mark.parametrize("flags,message", [
    (["--log-driver", "syslog"], "logging driver 'syslog' is not supported by pyctr"),
    (["--log-driver", "gelf", "--log-opt", "gelf-address=udp://127.0.0.1:1"], "logging driver 'gelf'"),
    (["--log-opt", "tag=x"], "unknown log opt 'tag' for json-file log driver"),
    (["--log-opt", "max-size=lots"], "invalid max-size"),
    (["--log-opt", "max-file=3"], "max-file cannot be set without max-size"),
    (["--log-opt", "max-size=1k", "--log-opt", "compress=true"], "compress cannot be true"),
])
def test_log_configs_not_honoured_are_400_and_create_nothing(daemon, flags, message):
    before = daemon.docker("ps", "-aq").stdout
    result = daemon.docker("create", *flags, "busybox", "true", check=False)
    assert result.returncode != 0 and message in result.stderr.decode()
    assert daemon.docker("ps", "-aq").stdout == before


def test_options_of_the_none_driver_are_400(daemon):
    c = docker_py.APIClient(base_url=daemon.host)   # the CLI refuses them itself
    with pytest.raises(docker_py.errors.APIError) as caught:
        c.create_container("busybox", "true", host_config={"LogConfig": {"Type": "none",
                                                                          "Config": {"max-size": "1k"}}})
    assert caught.value.status_code == 400 and "the none logging driver takes no options" in str(caught.value)


# ---- commit in any state, import with changes ---------------------------------------

def test_commit_in_every_state(daemon):
    c = docker_py.APIClient(base_url=daemon.host)
    images_before = len(c.images(all=True))
    created = c.create_container("busybox", "sh")["Id"]
    running = daemon.docker("run", "-d", "busybox", "sh", "-c", "echo x > /made; sleep 1000").stdout.decode().strip()
    paused = daemon.docker("run", "-d", "busybox", "sleep", "1000").stdout.decode().strip()
    daemon.docker("pause", paused)
    exited = daemon.docker("run", "-d", "busybox", "true").stdout.decode().strip()
    made: list[str] = []
    try:
        wait_for(lambda: not inspect(daemon, exited)["State"]["Running"], timeout=30)
        wait_for(lambda: daemon.docker("exec", running, "cat", "/made", check=False).returncode == 0, timeout=30)
        for cid in (created, running, paused, exited):
            made.append(c.commit(cid)["Id"])
        assert inspect(daemon, paused)["State"]["Paused"] is True   # still paused after
        assert daemon.docker("run", "--rm", made[1], "cat", "/made").stdout == b"x\n"
        # exiting while committed (pause=true): never a 500
        for delay in ("0.05", "0.1", "0.2", "0.3"):
            cid = daemon.docker("run", "-d", "busybox", "sleep", delay).stdout.decode().strip()
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                made.append(c.commit(cid, pause=True)["Id"])
                if not inspect(daemon, cid)["State"]["Running"]:
                    break
            made.append(c.commit(cid, pause=True)["Id"])
            daemon.docker("rm", cid)
    finally:
        daemon.docker("rm", "-f", created, running, paused, exited)
        for image in made:
            c.remove_image(image)
    assert len(c.images(all=True)) == images_before


def test_import_applies_changes_to_the_config(daemon, tmp_path, dockerd):
    tar = tmp_path / "fs.tar"
    cid = daemon.docker("create", "busybox", "sh").stdout.decode().strip()
    with open(tar, "wb") as f:
        f.write(daemon.docker("export", cid).stdout)
    daemon.docker("rm", cid)
    changes = ["-c", 'CMD ["sh", "-c", "echo $GREETING from cmd"]', "-c", "ENV GREETING=hello",
               "-c", "WORKDIR /tmp", "-c", "EXPOSE 8080", "-m", "imported here"]
    daemon.docker("import", *changes, str(tar), "withchanges:1")
    dockerd.docker("import", *changes, str(tar), "withchanges:1")
    try:
        ours, theirs = inspect(daemon, "withchanges:1"), inspect(dockerd, "withchanges:1")
        for key in ("Cmd", "Env", "WorkingDir", "ExposedPorts"):
            assert ours["Config"][key] == theirs["Config"][key], key
        assert ours["Comment"] == theirs["Comment"] == "imported here"
        assert daemon.docker("run", "--rm", "withchanges:1").stdout == b"hello from cmd\n"
    finally:
        daemon.docker("rmi", "withchanges:1")
        dockerd.docker("rmi", "withchanges:1")


def test_import_with_a_bad_change_is_a_400_and_stores_nothing(daemon, tmp_path):
    tar = tmp_path / "fs.tar"
    cid = daemon.docker("create", "busybox", "sh").stdout.decode().strip()
    with open(tar, "wb") as f:
        f.write(daemon.docker("export", cid).stdout)
    daemon.docker("rm", cid)
    before = daemon.docker("images", "-aq").stdout
    result = daemon.docker("import", "-c", "RUN echo no", str(tar), "bad:1", check=False)
    assert result.returncode != 0 and "RUN is not a valid change command" in result.stderr.decode()
    assert daemon.docker("images", "-aq").stdout == before


# ---- detach keys and the interactive exec, on real ptys ----------------------------------

def spawn(daemon, *args: str, config: dict | None = None, rows: int = 24, cols: int = 80):
    env = daemon.env()
    if config is not None:
        env["DOCKER_CONFIG"] = config_dir = os.path.join(daemon.workdir, f"cfg-{time.monotonic_ns()}")
        os.makedirs(config_dir)
        with open(os.path.join(config_dir, "config.json"), "w") as f:
            json.dump(config, f)
    child = pexpect.spawn(DOCKER, list(args), env=env, timeout=30, dimensions=(rows, cols))
    return child


def finish(child) -> int:
    child.expect(pexpect.EOF)
    child.close()
    return child.exitstatus


def shell_prompt(child) -> None:
    """busybox sh asks the terminal where its cursor is (ESC[6n) before reading a line:
    answer as a terminal would."""
    child.expect_exact("\x1b[6n")
    child.send("\x1b[1;1R")


def detached(child) -> None:
    """The CLI says it read the keys and ends (docker attach/exec 28 then exit 1)."""
    child.expect_exact("read escape sequence")
    finish(child)


def test_run_it_detaches_with_the_default_keys(daemon):
    # The CLI watches for the keys itself too (and sends them to the daemon as detachKeys);
    # the daemon's side is what docker-py's tests (tests/compat/test_dockerpy_exec.py) check.
    child = spawn(daemon, "run", "-it", "--name", "dk1", "busybox", "cat")
    try:
        child.send("typed\r")
        child.expect_exact("typed\r\ntyped\r\n")   # the pty's echo, then cat's
        child.send("\x10")          # ctrl-p then another key is not the sequence: passed on
        child.send("a\r")
        child.expect_exact("a\r\n")
        child.send("\x10\x11")      # ctrl-p ctrl-q
        assert finish(child) == 0
        assert inspect(daemon, "dk1")["State"]["Running"] is True   # detached, not stopped
        assert daemon.docker("logs", "dk1").stdout.count(b"typed") == 2
    finally:
        daemon.docker("rm", "-f", "dk1")


def test_attach_and_exec_detach_with_the_flag_and_the_config(daemon):
    daemon.docker("run", "-dit", "--name", "dk2", "busybox", "cat")
    try:
        child = spawn(daemon, "attach", "--detach-keys", "ctrl-x,x", "dk2")
        child.send("attached\r")
        child.expect_exact("attached\r\n")
        child.send("\x18x")
        detached(child)
        # the client's config.json: detachKeys for attach and for exec
        child = spawn(daemon, "attach", "dk2", config={"detachKeys": "ctrl-a"})
        child.send("via-config\r")
        child.expect_exact("via-config\r\n")
        child.send("\x10\x11")      # not the keys now: passed on to cat, still attached
        child.send("\x01")
        detached(child)
        child = spawn(daemon, "exec", "-it", "dk2", "sh", config={"detachKeys": "ctrl-a"})
        shell_prompt(child)
        child.send("echo in-$((1+1))\r")
        child.expect_exact("in-2")
        child.send("\x01")
        detached(child)
        assert inspect(daemon, "dk2")["State"]["Running"] is True
    finally:
        daemon.docker("rm", "-f", "dk2")


def test_bad_detach_keys_are_refused(daemon):
    daemon.docker("run", "-dit", "--name", "dk3", "busybox", "cat")
    try:
        child = spawn(daemon, "attach", "--detach-keys", "ctrl-1", "dk3")
        child.expect("received 400")   # the CLI's words for a refused upgrade
        assert finish(child) != 0
        assert inspect(daemon, "dk3")["State"]["Running"] is True
        c = docker_py.APIClient(base_url=daemon.host)
        with pytest.raises(docker_py.errors.APIError) as caught:
            c.attach_socket("dk3", params={"stdin": 1, "stream": 1, "detachKeys": "ctrl-1"})
        assert caught.value.status_code == 400 and "Invalid detach keys (ctrl-1) provided" in str(caught.value)
    finally:
        daemon.docker("rm", "-f", "dk3")


def test_exec_tty_size_user_workdir_env_and_privileged(daemon):
    daemon.docker("run", "-d", "--name", "ex1", "busybox", "sleep", "1000")
    try:
        # The CLI (API 1.41) sends the terminal's size right after the start: a shell asked
        # for it again until the size has landed (a state, waited for)
        child = spawn(daemon, "exec", "-it", "ex1", "sh", rows=33, cols=111)
        shell_prompt(child)
        for _ in range(50):
            child.send("stty size\r")
            if child.expect_exact(["33 111", "0 0", "standard input"]) == 0:
                break
            shell_prompt(child)
        else:
            raise AssertionError("the exec's terminal never got the client's size")
        shell_prompt(child)
        child.send("exit\r")
        assert finish(child) == 0
        child = spawn(daemon, "exec", "-it", "ex1", "sh", rows=20, cols=70)
        shell_prompt(child)
        child.setwinsize(41, 132)   # a resize after the start
        child.send("stty size\r")
        child.expect_exact("41 132")
        shell_prompt(child)
        child.send("exit\r")
        assert finish(child) == 0
        out = daemon.docker("exec", "-u", "daemon", "-w", "/tmp", "-e", "X=1", "ex1",
                            "sh", "-c", "id -un; pwd; echo $X").stdout
        assert out == b"daemon\n/tmp\n1\n"

        def cap_eff(*flags: str) -> int:
            out = daemon.docker("exec", *flags, "ex1", "grep", "CapEff", "/proc/self/status").stdout
            return int(out.split()[1], 16)
        assert cap_eff("--privileged") & ~cap_eff() != 0   # more capabilities than the container's
        # detached, with the CLI's default config: it runs
        daemon.docker("exec", "-d", "ex1", "sh", "-c", "echo done > /tmp/detached")
        wait_for(lambda: daemon.docker("exec", "ex1", "cat", "/tmp/detached", check=False).stdout == b"done\n",
                 timeout=30)
    finally:
        daemon.docker("rm", "-f", "ex1")


def test_exec_tty_output_is_complete(daemon):
    """A TTY exec that writes and exits at once: every byte reaches the client."""
    daemon.docker("run", "-d", "--name", "ex2", "busybox", "sleep", "1000")
    try:
        for _ in range(10):
            out = daemon.docker("exec", "-t", "ex2", "sh", "-c", "echo hello out; echo hello err >&2").stdout
            assert out == b"hello out\r\nhello err\r\n"
        big = daemon.docker("exec", "ex2", "sh", "-c", "seq 1 20000").stdout
        assert big == b"".join(b"%d\n" % i for i in range(1, 20001))
    finally:
        daemon.docker("rm", "-f", "ex2")
