"""pyctr's verbs of issue 24 against a real pyctrd, side by side with the docker
CLI against the same daemon: `rename`, `stats`, and the "not a TTY" refusal."""

from __future__ import annotations

import json
import os
import re
import select
import shlex
import signal
import subprocess
import sys
import time

import pytest

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")


def names(daemon) -> set[str]:
    return {n.lstrip("/") for c in daemon.client().containers(all=True) for n in c.names}


def container_count(daemon) -> int:
    return len(daemon.pyctr("ps", "-a", "-q").stdout.split())


def exec_count(daemon, name: str) -> int:
    return len(daemon.client().inspect_container(name).get("ExecIDs") or [])


@pytest.fixture
def sleeper(daemon):
    daemon.pyctr("run", "-d", "--name", "vsleep", "busybox", "sleep", "1000")
    try:
        yield "vsleep"
    finally:
        daemon.pyctr("rm", "-f", "vsleep", check=False)
        daemon.pyctr("rm", "-f", "vsleep2", check=False)


def test_rename_as_docker(daemon, sleeper):
    done = daemon.pyctr("rename", "vsleep", "vsleep2")
    assert done.returncode == 0 and done.stdout == b"" and done.stderr == b""
    assert "vsleep2" in names(daemon) and "vsleep" not in names(daemon)
    # the docker CLI renames it back through the same daemon
    daemon.docker("rename", "vsleep2", "vsleep")
    assert "vsleep" in names(daemon)
    assert daemon.pyctr("rename", "nosuch", "x", check=False).returncode == 1

    for argv in (["rename", "nosuch", "other"], ["rename", "vsleep", "bad name!"], ["rename", "vsleep", " "]):
        ours = daemon.pyctr(*argv, check=False)
        theirs = daemon.docker(*argv, check=False)
        assert ours.returncode == theirs.returncode, (argv, ours, theirs)
        if theirs.returncode:
            first = theirs.stderr.decode().splitlines()[0].replace("docker", "pyctr")
            assert ours.stderr.decode().splitlines()[0] == first, (argv, ours.stderr, theirs.stderr)
    assert "vsleep" in names(daemon)


@pytest.mark.parametrize("argv", [["exec", "-it", "vsleep", "sh"], ["exec", "-ti", "vsleep", "true"]])
def test_exec_it_without_a_tty_is_refused(daemon, sleeper, argv):
    before = exec_count(daemon, "vsleep")
    ours = daemon.pyctr(*argv, input=b"", check=False)
    theirs = daemon.docker(*argv, input=b"", check=False)
    assert ours.stderr == b"the input device is not a TTY\n" == theirs.stderr
    assert ours.returncode == theirs.returncode == 1
    assert exec_count(daemon, "vsleep") == before  # nothing made on the daemon
    # -i alone, -t alone and -d are fine without a terminal, as in docker
    assert daemon.pyctr("exec", "-i", "vsleep", "cat", input=b"hi\n").stdout == b"hi\n"
    assert daemon.pyctr("exec", "-t", "vsleep", "true", input=b"").returncode == 0
    assert daemon.pyctr("exec", "-dit", "vsleep", "true", input=b"").returncode == 0
    # a missing container is reported before the terminal, as docker orders them
    missing = daemon.pyctr("exec", "-it", "nosuch", "sh", input=b"", check=False)
    assert missing.returncode == 1 and b"No such container: nosuch" in missing.stderr


def test_run_it_without_a_tty_is_refused_before_creating(daemon):
    before = container_count(daemon)
    ours = daemon.pyctr("run", "-it", "--rm", "busybox", "true", input=b"", check=False)
    theirs = daemon.docker("run", "-it", "--rm", "busybox", "true", input=b"", check=False)
    assert ours.stderr == b"the input device is not a TTY\n" == theirs.stderr
    assert ours.returncode == theirs.returncode
    assert container_count(daemon) == before
    assert daemon.pyctr("run", "-dit", "--name", "vdit", "busybox", "true", input=b"").returncode == 0
    daemon.pyctr("rm", "-f", "vdit")



def stats_rows(result) -> list[dict]:
    return [json.loads(line) for line in result.stdout.decode().splitlines()]


def test_stats_no_stream_as_docker(daemon, sleeper):
    daemon.pyctr("create", "--name", "vstopped", "busybox", "true")
    try:
        for extra in ([], ["vsleep"], ["-a"], ["vsleep", "vstopped"]):
            ours = daemon.pyctr("stats", "--no-stream", *extra)
            theirs = daemon.docker("stats", "--no-stream", *extra)
            # the column widths follow the values (traffic moves NET I/O): the names must agree
            assert re.split(r"\s{2,}", ours.stdout.decode().splitlines()[0]) == \
                re.split(r"\s{2,}", theirs.stdout.decode().splitlines()[0])
            assert len(ours.stdout.splitlines()) == len(theirs.stdout.splitlines())
            assert re.split(r"\s{2,}", ours.stdout.decode().splitlines()[0]) == [
                "CONTAINER ID", "NAME", "CPU %", "MEM USAGE / LIMIT", "MEM %", "NET I/O",
                "BLOCK I/O", "PIDS"]
            mine, docker = (stats_rows(daemon.pyctr("stats", "--no-stream", "--format", "json", *extra)),
                            stats_rows(daemon.docker("stats", "--no-stream", "--format", "json", *extra)))
            assert [sorted(r) for r in mine] == [sorted(r) for r in docker] and mine, extra
            # the fields that do not move between two readings are the same text
            steady = ("Container", "ID", "Name", "PIDs")
            assert sorted(tuple(r[k] for k in steady) for r in mine) == \
                sorted(tuple(r[k] for k in steady) for r in docker), extra
            assert {r["MemUsage"].split(" / ")[1] for r in mine} == \
                {r["MemUsage"].split(" / ")[1] for r in docker}
            if extra == ["-a"]:
                assert len(mine) == 2  # the stopped one too, as zeros
        stopped = daemon.pyctr("stats", "--no-stream", "--format", "json", "vstopped")
        assert stats_rows(stopped) == stats_rows(
            daemon.docker("stats", "--no-stream", "--format", "json", "vstopped"))
        assert "vsleep" in daemon.pyctr("stats", "--no-stream").stdout.decode()
        assert "vstopped" not in daemon.pyctr("stats", "--no-stream").stdout.decode()

        template = ["stats", "--no-stream", "--format", "table {{.Container}}\\t{{.PIDs}}", "vsleep"]
        assert daemon.pyctr(*template).stdout == daemon.docker(*template).stdout == \
            b"CONTAINER   PIDS\nvsleep      1\n"
        plain = ["stats", "--no-stream", "--no-trunc", "--format", "{{.ID}} {{.Name}}", "vsleep"]
        assert daemon.pyctr(*plain).stdout == daemon.docker(*plain).stdout
        assert len(daemon.pyctr(*plain).stdout.split()[0]) == 64

        for argv in (["stats", "--no-stream", "nosuch"], ["stats", "--no-stream", "vsleep", "nosuch"]):
            ours, theirs = daemon.pyctr(*argv, check=False), daemon.docker(*argv, check=False)
            assert (ours.returncode, ours.stderr) == (theirs.returncode, theirs.stderr) == \
                (1, b"Error response from daemon: No such container: nosuch\n"), (ours, theirs)
        bad = daemon.pyctr("stats", "--no-stream", "--format", "{{.Nope", "vsleep", check=False)
        assert bad.returncode != 0 and bad.stdout == b""
    finally:
        daemon.pyctr("rm", "-f", "vstopped", check=False)


def read_until(proc, wanted, timeout: float = 30) -> bytes:
    """Read a live `stats` screen until `wanted(seen)` holds (or fail at the timeout)."""
    seen = b""
    deadline = time.monotonic() + timeout
    os.set_blocking(proc.stdout.fileno(), False)
    while not wanted(seen):
        assert time.monotonic() < deadline, seen[-2000:]
        ready, _, _ = select.select([proc.stdout], [], [], 1)
        if ready:
            chunk = proc.stdout.read()
            assert chunk, (seen[-2000:], proc.stderr.read())
            seen += chunk
    return seen


def test_stats_live_redraws_and_follows_new_containers(daemon, sleeper):
    proc = subprocess.Popen([sys.executable, "-m", "pyctr.shell.cli", "stats"], env=daemon.env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        screen = read_until(proc, lambda seen: seen.count(b"\033[H") >= 2 and b"vsleep " in seen)
        assert screen.startswith(b"\033[2J\033[H") and b"CONTAINER ID   NAME" in screen
        daemon.pyctr("run", "-d", "--name", "vlate", "busybox", "sleep", "1000")
        frames = read_until(proc, lambda seen: b"vlate " in seen.rsplit(b"\033[H", 1)[-1]
                            or b"vlate " in seen.rsplit(b"\033[H", 2)[-2] if seen.count(b"\033[H") > 1
                            else False)
        assert b"vsleep " in frames
        daemon.pyctr("rm", "-f", "vlate")
        # once gone, the next screens no longer show it
        read_until(proc, lambda seen: seen.count(b"\033[H") >= 2 and
                   b"vlate " not in seen.rsplit(b"\033[H", 1)[0].rsplit(b"\033[H", 1)[-1])
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 130
        assert proc.stderr.read() == b""
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        daemon.pyctr("rm", "-f", "vlate", check=False)


def test_stats_live_of_named_containers(daemon, sleeper):
    proc = subprocess.Popen([sys.executable, "-m", "pyctr.shell.cli", "stats", "--format",
                             "{{.Name}} {{.PIDs}}", "vsleep"], env=daemon.env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        screen = read_until(proc, lambda seen: seen.count(b"vsleep 1\033[K\n") >= 3)
        assert b"CONTAINER" not in screen
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 130
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    gone = daemon.pyctr("stats", "nosuch", check=False, timeout=30)
    assert gone.returncode == 1 and b"No such container: nosuch" in gone.stderr


def host_config(daemon, name: str) -> dict:
    return daemon.client().inspect_container(name)["HostConfig"]


def test_update_as_docker(daemon, sleeper):
    done = daemon.pyctr("update", "-m", "64m", "--memory-swap", "128m", "--cpus", "0.5",
                        "--pids-limit", "50", "--cpu-shares", "512", "--restart", "on-failure:3", "vsleep")
    # the name, then the daemon's warnings, as docker prints them
    assert done.stdout.decode().splitlines()[0] == "vsleep" and done.stderr == b"", done
    hc = host_config(daemon, "vsleep")
    assert (hc["Memory"], hc["MemorySwap"], hc["NanoCpus"], hc["PidsLimit"], hc["CpuShares"]) == \
        (64 << 20, 128 << 20, 500_000_000, 50, 512)
    assert hc["RestartPolicy"] == {"Name": "on-failure", "MaximumRetryCount": 3}
    inside = daemon.pyctr("exec", "vsleep", "cat", "/sys/fs/cgroup/memory/memory.limit_in_bytes",
                         "/sys/fs/cgroup/pids/pids.max")
    assert inside.stdout.split() == [str(64 << 20).encode(), b"50"]  # applied, not only recorded
    # what docker's CLI sends for the same flags lands the same way
    same = ["update", "-m", "96m", "--memory-swap", "192m", "--pids-limit", "60",
            "--restart", "unless-stopped", "vsleep"]
    theirs = daemon.docker(*same)
    mine = daemon.pyctr(*same)
    assert mine.stdout == theirs.stdout and mine.stdout.startswith(b"vsleep\n"), (mine, theirs)
    hc = host_config(daemon, "vsleep")
    assert (hc["Memory"], hc["PidsLimit"], hc["RestartPolicy"]["Name"]) == (96 << 20, 60, "unless-stopped")
    assert hc["NanoCpus"] == 500_000_000  # what no flag named stays as it was

    for argv in (["update", "vsleep"], ["update", "-m", "96m", "nosuch"],
                 ["update", "-m", "96m", "vsleep", "nosuch"]):
        ours, theirs = daemon.pyctr(*argv, check=False), daemon.docker(*argv, check=False)
        assert (ours.returncode, ours.stdout, ours.stderr) == \
            (theirs.returncode, theirs.stdout, theirs.stderr), (argv, ours, theirs)
    bad = daemon.pyctr("update", "--cpus", "lots", "vsleep", check=False)
    assert bad.returncode == 125 and b'invalid argument "lots" for "--cpus"' in bad.stderr
    assert daemon.pyctr("update", "-m", "12q", "vsleep", check=False).returncode == 125
    assert host_config(daemon, "vsleep")["Memory"] == 96 << 20



def complete(daemon, script: str, *words: str) -> list[str]:
    """What bash's completion offers for `words` (the last one being completed)."""
    driver = (f"{script}\nCOMP_WORDS=({' '.join(shlex.quote(w) for w in words)})\n"
              f"COMP_CWORD={len(words) - 1}\n_pyctr\nprintf '%s\\n' \"${{COMPREPLY[@]}}\"\n")
    env = {**daemon.env(), "PATH": os.path.dirname(sys.executable) + ":" + os.environ["PATH"]}
    result = subprocess.run(["bash", "--norc", "--noprofile", "-c", driver], capture_output=True,
                            text=True, env=env, check=True, timeout=60)
    return [line for line in result.stdout.splitlines() if line]


def test_bash_completion_from_the_grammar(daemon, sleeper):
    from pyctr.shell import commands

    script = daemon.pyctr("completion", "bash").stdout.decode()
    assert complete(daemon, script, "pyctr", "re") == ["rename", "restart"]
    assert set(complete(daemon, script, "pyctr", "")) >= {"stats", "update", "rename", "completion", "ps"}
    assert complete(daemon, script, "pyctr", "-D", "st") == ["start", "stats", "stop"]
    assert complete(daemon, script, "pyctr", "-H", daemon.host, "upd") == ["update"]
    assert complete(daemon, script, "pyctr", "stats", "--no") == ["--no-stream", "--no-trunc"]
    # every flag of a command's grammar is offered, and nothing else
    for name in ("run", "update", "exec", "ps"):
        offered = set(complete(daemon, script, "pyctr", name, "-"))
        assert offered == {n for f in commands.load(name).flags for n in f.names} | {"--help"}, name
    # a container made a moment before; images for run; nothing for a flag's value
    daemon.pyctr("create", "--name", "vfresh", "busybox", "true")
    try:
        assert complete(daemon, script, "pyctr", "rm", "vf") == ["vfresh"]
        assert complete(daemon, script, "pyctr", "rm", "vfresh", "vs") == ["vsleep"]  # rm takes many
        assert complete(daemon, script, "pyctr", "rename", "vfresh", "vs") == []    # NEW_NAME: free text
        assert complete(daemon, script, "pyctr", "exec", "-u", "root", "vs") == ["vsleep"]
        assert complete(daemon, script, "pyctr", "run", "--rm", "bu") == ["busybox:latest"]
        assert complete(daemon, script, "pyctr", "run", "--name", "") == []
        assert complete(daemon, script, "pyctr", "run", "busybox", "-") == []  # flags end at the image
    finally:
        daemon.pyctr("rm", "vfresh")
    assert complete(daemon, script, "pyctr", "completion", "") == ["bash", "zsh"]
    fish = daemon.pyctr("completion", "fish", check=False)
    assert fish.returncode == 1 and b"unsupported shell 'fish'" in fish.stderr and fish.stdout == b""


def test_volume_verbs_as_docker(daemon):
    try:
        for name, cli in (("vol2", daemon.pyctr), ("vol10", daemon.docker)):
            made = cli("volume", "create", "--label", "team=web", "-o", "type=tmpfs", "-o", "device=tmpfs", name)
            assert made.stdout == f"{name}\n".encode()
        daemon.pyctr("volume", "create", "--name", "vola")
        for argv in (["volume", "ls"], ["volume", "ls", "-q"], ["volume", "ls", "-f", "label=team=web"],
                     ["volume", "ls", "--format", "{{.Name}} {{.Driver}} {{.Labels}}"],
                     ["volume", "ls", "--format", "table {{.Name}}\\t{{.Scope}}"],
                     ["volume", "inspect", "vol2", "vol10"], ["volume", "inspect", "-f", "{{.Name}} {{.Options}}", "vol2"],
                     ["volume", "inspect", "vol2", "nosuch"], ["volume", "rm", "nosuch"],
                     ["volume", "nosuch"]):
            ours, theirs = daemon.pyctr(*argv, check=False), daemon.docker(*argv, check=False)
            assert ours.returncode == theirs.returncode, (argv, ours, theirs)
            assert ours.stdout == theirs.stdout, (argv, ours.stdout.decode(), theirs.stdout.decode())
            if theirs.returncode:
                assert ours.stderr.decode().replace("pyctr", "docker") == theirs.stderr.decode(), \
                    (argv, ours.stderr, theirs.stderr)
        assert daemon.pyctr("volume", "ls", "-q").stdout == b"vol2\nvol10\nvola\n"  # natural order
        bad = daemon.pyctr("volume", "create", "-o", "novalue", "volbad", check=False)
        assert bad.returncode == 125 and b"volbad" not in daemon.pyctr("volume", "ls", "-q").stdout
        daemon.pyctr("run", "--rm", "-v", "vol2:/data", "busybox", "sh", "-c", "echo hi > /data/f")
        assert daemon.pyctr("volume", "rm", "vol2", "vol10").stdout == b"vol2\nvol10\n"
        assert b"vol2" not in daemon.docker("volume", "ls", "-q").stdout
    finally:
        for name in ("vol2", "vol10", "vola"):
            daemon.pyctr("volume", "rm", "-f", name, check=False)


def test_build_with_todays_flags_as_docker(daemon, tmp_path):
    """Several -t, --build-arg, --label, --target, -f from outside the context, and a
    .dockerignore with `**` and an exception: the same image from both CLIs."""
    ctx = tmp_path / "ctx"
    (ctx / "sub").mkdir(parents=True)
    for rel in ("a.txt", "sub/b.tmp", "keep.tmp", "sub/c.txt"):
        (ctx / rel).write_text(rel + "\n")
    (ctx / ".dockerignore").write_text("**/*.tmp\n!keep.tmp\n")
    (ctx / "Dockerfile").write_text("FROM busybox\nRUN false\n")   # not the one used: -f names another
    outside = tmp_path / "elsewhere.Dockerfile"
    outside.write_text("FROM busybox AS base\nARG GREETING=none\nCOPY . /ctx\n"
                       "RUN echo $GREETING > /greeting\nFROM base AS last\nRUN false\n")
    flags = ["--build-arg", "GREETING=hi", "--label", "team=a", "--label", "bare",
             "--target", "base", "-f", str(outside), str(ctx)]

    def built(cli, prefix: str) -> tuple:
        result = cli("build", "-t", f"{prefix}-one", "-t", f"{prefix}-two:v2", *flags)
        assert result.returncode == 0, result.stderr.decode()
        one = daemon.client().inspect_image(f"{prefix}-one")
        assert daemon.client().inspect_image(f"{prefix}-two:v2")["Id"] == one["Id"]
        files = daemon.docker("run", "--rm", f"{prefix}-one", "sh", "-c",
                              "cd /ctx && find . -type f | sort; cat /greeting").stdout.decode()
        return one["Config"]["Labels"], files

    try:
        ours = built(lambda *a: daemon.pyctr(*a, check=False), "pyctr-built")
        theirs = built(lambda *a: daemon.docker(*a, check=False), "docker-built")
    finally:
        for name in ("pyctr-built-one", "pyctr-built-two:v2", "docker-built-one", "docker-built-two:v2"):
            daemon.docker("rmi", "-f", name, check=False)
    assert theirs[0] == {"team": "a", "bare": ""}
    assert ".dockerfile." not in theirs[1] and "./keep.tmp" in theirs[1] and "b.tmp" not in theirs[1]
    assert ours == theirs
