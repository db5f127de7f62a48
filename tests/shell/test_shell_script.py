"""pyctr-shell -c and script files against a real pyctrd: exit codes, set -e/+e,
variables, the py escape, and output identical to the pyctr CLI's."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root and a real kernel")


def shell(daemon, *args: str, input: str | None = None, host: str | None = None,
          timeout: float = 60) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYCTR_", "DOCKER_"))}
    env["PYCTR_HOST"] = host or daemon.host
    return subprocess.run([sys.executable, "-m", "pyctr.shell.repl", *args], input=input,
                          capture_output=True, text=True, env=env, timeout=timeout,
                          stdin=None if input is not None else subprocess.DEVNULL)


def exists(daemon, name: str) -> bool:
    return any("/" + name in c.names for c in daemon.client().containers(all=True))


def test_c_passes_the_exit_code_through(daemon):
    result = shell(daemon, "-c", "run --rm busybox echo hi")
    assert (result.returncode, result.stdout, result.stderr) == (0, "hi\n", "")
    assert shell(daemon, "-c", 'run --rm busybox sh -c "exit 3"').returncode == 3
    assert shell(daemon, "-c", "exit 7").returncode == 7
    assert shell(daemon, "-c", "").returncode == 0
    unknown = shell(daemon, "-c", "frobnicate")
    assert unknown.returncode == 2 and "'frobnicate' is not a pyctr command" in unknown.stderr
    missing = shell(daemon, "-c", "inspect no-such-thing")
    assert missing.returncode == 1 and "No such image or container: no-such-thing" in missing.stderr
    usage = shell(daemon, "-c", "ps --bogus")
    assert usage.returncode == 2 and "flag provided but not defined: --bogus" in usage.stderr
    quotes = shell(daemon, "-c", "echo one; run 'busybox")
    assert quotes.returncode == 2 and quotes.stdout == ""  # nothing runs from a line that does not parse
    assert "unbalanced quotes: the ' at line 1, column 15 is never closed" in quotes.stderr
    assert "Traceback" not in unknown.stderr + missing.stderr + quotes.stderr


AGO = re.compile(r"(Less than a second|About a minute|About an hour|\d+ (seconds?|minutes?|hours?))")


def same_text(a: str) -> str:
    """Output with relative times masked ("3 seconds ago" may tick between two runs)."""
    return re.sub(r"[ \t]+", " ", AGO.sub("TIME", a))


def test_output_is_the_cli_output(daemon, cleanup):
    cleanup.append("shscript-same")
    daemon.pyctr("run", "-d", "--name", "shscript-same", "busybox", "sleep", "100")
    for line, argv in [("images", ["images"]), ("ps -a", ["ps", "-a"]),
                       ("ps -a -q --no-trunc", ["ps", "-a", "-q", "--no-trunc"]),
                       ("inspect -f '{{.Name}} {{.State.Running}}' shscript-same",
                        ["inspect", "-f", "{{.Name}} {{.State.Running}}", "shscript-same"]),
                       ("help run", ["run", "--help"]), ("info", ["info"]),
                       ("rm no-such-one", ["rm", "no-such-one"])]:
        ours = shell(daemon, "-c", line)
        cli = daemon.pyctr(*argv, check=False)
        assert (ours.returncode, same_text(ours.stdout), same_text(ours.stderr)) == \
            (cli.returncode, same_text(cli.stdout.decode()), same_text(cli.stderr.decode())), line


SCRIPT = """\
#!/usr/bin/env pyctr-shell
# make one container, fail, make another
prefix=shscript
run -d --name ${prefix}-a busybox sleep 100   # a comment after a command
run --rm busybox sh -c 'exit 5'
echo "after the failure: status $?"
run -d --name "$prefix-b" busybox sleep 100
"""


def test_script_stops_at_the_first_failure(daemon, cleanup, tmp_path):
    cleanup += ["shscript-a", "shscript-b"]
    path = tmp_path / "deploy.pyctr"
    path.write_text(SCRIPT)
    result = shell(daemon, str(path))
    assert result.returncode == 5
    assert "after the failure" not in result.stdout
    assert exists(daemon, "shscript-a") and not exists(daemon, "shscript-b")


def test_script_goes_on_with_set_plus_e(daemon, cleanup, tmp_path):
    cleanup += ["shscript-a", "shscript-b"]
    path = tmp_path / "deploy.pyctr"
    path.write_text("set +e\n" + SCRIPT)
    result = shell(daemon, str(path))
    assert result.returncode == 0, result.stderr
    assert "after the failure: status 5\n" in result.stdout
    assert exists(daemon, "shscript-a") and exists(daemon, "shscript-b")


def test_script_arguments_variables_and_py(daemon, cleanup, tmp_path):
    cleanup.append("shscript-args")
    path = tmp_path / "loop.pyctr"
    path.write_text("""\
name=$1
run -d --name $name busybox sleep 100
ps
py
    mine = [c for c in result.data if c.names == ["/" + var["name"]]]
    var["found"] = len(mine)
    var["short"] = mine[0].id[:12]
echo "found=$found short=$short arg2=$2 missing=[$3]"
py for n in range(3):
    sh(f"kill -s USR1 {var['name']}")
echo 'single $quotes' "double \\"$name\\"" \\$escaped
set -e
stop -t 1 $name
py result.status
""")
    result = shell(daemon, str(path), "shscript-args", "two")
    assert result.returncode == 0, result.stderr
    short = daemon.client().inspect_container("shscript-args")["Id"][:12]
    lines = result.stdout.splitlines()
    assert f"found=1 short={short} arg2=two missing=[]" in lines
    assert lines.count("shscript-args") == 4  # three kills and the stop echo the name
    assert 'single $quotes double "shscript-args" $escaped' in lines
    assert lines[-1] == "0"


def test_script_errors_are_messages(daemon, tmp_path):
    assert shell(daemon, str(tmp_path / "missing.pyctr")).returncode == 127
    bad = tmp_path / "bad.pyctr"
    bad.write_text("echo start\npy 1 +\necho never\n")
    result = shell(daemon, str(bad))
    assert result.returncode == 1 and result.stdout == "start\n"
    assert "py: SyntaxError" in result.stderr and "Traceback" not in result.stderr
    undefined = shell(daemon, "-c", "echo \"[$nope]\" $nope x")
    assert (undefined.returncode, undefined.stdout) == (0, "[] x\n")  # unset is empty, as in sh
    setbad = shell(daemon, "-c", "set -x")
    assert setbad.returncode == 2 and "unknown option -x" in setbad.stderr


def test_script_from_stdin_and_daemon_down(daemon, tmp_path):
    result = shell(daemon, input="images -q\nexit 6\n")
    assert result.returncode == 6 and len(result.stdout.split()) >= 1
    down = shell(daemon, "-c", "ps", host=f"unix://{tmp_path}/none.sock")
    assert down.returncode == 1
    assert f"Cannot connect to the pyctr daemon at unix://{tmp_path}/none.sock" in down.stderr
    badhost = shell(daemon, "-c", "ps", host="tcp://nohost:notaport")
    assert badhost.returncode == 2 and "Invalid bind address" in badhost.stderr
