"""The pyctr-shell language on real ptys against a real pyctrd: pipes between
pyctr and host commands, redirections, $(...), $VAR, ; && ||, if/for/while,
functions, source, errors with file:line, wait-for, and the issue's automation."""

from __future__ import annotations

import os
import re

import docker
import pytest


pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root and a real kernel")


def script_on_pty(term_for, daemon, path, text: str, *args: str) -> tuple[int, str]:
    """Run a script file under pyctr-shell on a pty: (exit status, what it printed)."""
    path.write_text(text)
    term = term_for(daemon.host, str(path), *args, prompt=False)
    status = term.exit_status()
    return status, term.text.replace("\r\n", "\n")


def make_exited(daemon, cleanup, *names: str, script: str = "exit 0") -> None:
    for name in names:
        cleanup.append(name)
        daemon.pyctr("run", "--name", name, "busybox", "sh", "-c", script, check=False)


def test_pipes_between_pyctr_and_host_commands(daemon, term_for, cleanup):
    make_exited(daemon, cleanup, "shlang-pipe-a", "shlang-pipe-b")
    cleanup.append("shlang-logs")
    daemon.pyctr("run", "--name", "shlang-logs", "busybox", "sh", "-c",
                 "echo INFO one; echo ERROR two; echo INFO three; echo ERROR four >&2")
    client = daemon.client()
    exited = [c.id[:12] for c in client.containers(all=True) if c.status.startswith("Exited")]
    term = term_for(daemon.host)
    out = term.run("ps -a -q --filter status=exited | xargs echo")
    assert out.strip().split() == exited  # one line: xargs got every id from ps
    out = term.run("logs shlang-logs | grep ERROR")
    assert sorted(out.split()) == ["ERROR", "ERROR", "four", "two"] and "INFO" not in out
    out = term.run("logs shlang-logs 2>/dev/null | grep ERROR")
    assert out.split() == ["ERROR", "two"]  # the pipe is stdout only, as in sh
    out = term.run("logs shlang-logs 2>&1 | grep ERROR | wc -l")
    assert out.strip() == "2"
    # A host command feeding a pyctr command's stdin, and a pipe into a loop of ours.
    out = term.run("printf 'hello\\nworld\\n' | run -i --rm busybox tr a-z A-Z")
    assert "HELLO" in out and "WORLD" in out
    out = term.run("ps -a -q --filter status=exited | while read c; do echo got-$c; done")
    assert re.findall(r"got-(\w+)", out) == exited
    # The reader gone first (`| head`) is not an error of ours.
    out = term.run("logs shlang-logs | head -1; echo status=$?")
    assert "INFO one" in out and "status=0" in out and "Traceback" not in out


def test_redirections(daemon, term_for, cleanup, tmp_path):
    make_exited(daemon, cleanup, "shlang-redir")
    term = term_for(daemon.host)
    out_file, err_file = tmp_path / "out.txt", tmp_path / "err.txt"
    assert term.run(f"ps -a -q --no-trunc > {out_file}").strip() == ""
    cid = daemon.client().inspect_container("shlang-redir")["Id"]
    assert cid in out_file.read_text().split()
    term.run(f"echo second >> {out_file}")
    assert out_file.read_text().endswith("second\n") and cid in out_file.read_text()
    term.run(f"inspect no-such-one 2> {err_file}")
    assert "No such image or container: no-such-one" in err_file.read_text()
    term.run(f"inspect no-such-two > {out_file} 2>&1")
    assert "No such image or container: no-such-two" in out_file.read_text()
    (tmp_path / "in.txt").write_text("from-a-file\n")
    out = term.run(f"run -i --rm busybox cat < {tmp_path / 'in.txt'}")
    assert "from-a-file" in out
    out = term.run(f"cat < {tmp_path / 'nope.txt'}; echo status=$?")
    assert "No such file or directory" in out and "status=1" in out


def test_substitution_variables_and_lists(daemon, term_for, cleanup):
    cleanup.append("shlang-subst")
    term = term_for(daemon.host)
    term.run("id=$(run -d --name shlang-subst busybox true)")
    cid = daemon.client().inspect_container("shlang-subst")["Id"]
    assert term.run("echo \"id=[$id]\"").strip() == f"id=[{cid}]"
    assert term.run("echo code=$(wait $id)").strip() == "code=0"
    assert term.run("echo \"[$never_set]\" x${never_set}y").strip() == "[] xy"
    assert term.run("echo \"today $(date +%Y)\"").strip() == f"today {__import__('time').gmtime().tm_year}"
    out = term.run("inspect no-such && echo yes || echo no; echo after")
    assert out.splitlines()[-2:] == ["no", "after"]
    out = term.run("inspect -f '{{.State.Running}}' shlang-subst && echo yes || echo no")
    assert out.split()[-2:] == ["false", "yes"]
    out = term.run("n=$(ps -aq | wc -l); echo \"$n containers\"")
    assert re.search(r"^\d+ containers", out.strip())
    # A host program of a pyctr command's name, through `host`.
    assert term.run("host diff /dev/null /dev/null && echo same").strip() == "same"
    assert "No such container" in term.run("diff no-such-one")  # the pyctr command
    assert "not found on PATH" in term.run("host no-such-program-here")


DEPLOY = """\
#!/usr/bin/env pyctr-shell
# start NAME...: run each one unless it runs already
up() {
    for name in "$@"; do
        if inspect -f '{{.State.Running}}' $name > /dev/null 2>&1; then
            echo "$name exists"
        else
            run -d --name $name busybox sleep 100 > /dev/null && echo "$name started"
        fi
    done
}
source $1
up ${prefix}-a ${prefix}-b
up ${prefix}-a
count=0
while ! inspect ${prefix}-c > /dev/null 2>&1; do
    count=$(echo $count | tr 0 1)
    run -d --name ${prefix}-c busybox true > /dev/null
done
echo "count=$count"
until false; do break; done
stop -t 1 ${prefix}-missing
echo "never here"
"""


def test_control_flow_functions_source_and_file_line_errors(daemon, term_for, cleanup, tmp_path):
    cleanup += ["shlang-ctl-a", "shlang-ctl-b", "shlang-ctl-c"]
    lib = tmp_path / "lib.pyctr"
    lib.write_text("prefix=shlang-ctl\n")
    status, out = script_on_pty(term_for, daemon, tmp_path / "deploy.pyctr", DEPLOY, str(lib))
    lines = out.splitlines()
    assert status == 1, out
    for expected in ["shlang-ctl-a started", "shlang-ctl-b started", "shlang-ctl-a exists",
                     "count=1"]:
        assert expected in lines, out
    assert "never here" not in out
    # set -e stopped it at the failing stop: the file and the line say where.
    assert f"pyctr-shell: {tmp_path / 'deploy.pyctr'}:22: stopped at a command that exited " \
           f"with status 1" in out
    # Errors of the script text and of a sourced file carry file:line too.
    status, out = script_on_pty(term_for, daemon, tmp_path / "bad.pyctr",
                                "echo start\nfor x in a b\n  echo $x\ndone\n")
    assert status == 2 and "start" not in out
    assert f"{tmp_path / 'bad.pyctr'}: line 3: expected ';' or a newline before 'do'" in out or \
        f"{tmp_path / 'bad.pyctr'}: line 3: expected 'do'" in out, out
    (tmp_path / "broken.pyctr").write_text("echo in-broken\nif true; then\n")
    status, out = script_on_pty(term_for, daemon, tmp_path / "outer.pyctr",
                                f"set +e\nsource {tmp_path / 'broken.pyctr'}\necho status=$?\n"
                                f"wait-for nothing x\n")
    assert f"pyctr-shell: {tmp_path / 'broken.pyctr'}: line 3: expected 'fi' at the end" in out, out
    assert "status=2" in out
    assert f"pyctr-shell: {tmp_path / 'outer.pyctr'}:4: wait-for: what to wait for" in out


def test_automation_restart_exited_web_containers(daemon, term_for, cleanup, tmp_path):
    """The issue's automation, "restart every exited container whose name starts
    with web", as a one-liner; in the REPL and as a script, both forms."""
    # Each exits 3 the first time and stays up once started again (its file is still there).
    make_exited(daemon, cleanup, "web-shlang-1", "web-shlang-2", "other-shlang-web",
                script="test -f /once && exec sleep 100; touch /once; exit 3")
    cleanup.append("web-shlang-up")
    daemon.pyctr("run", "-d", "--name", "web-shlang-up", "busybox", "sleep", "100")
    client = daemon.client()

    def running() -> set[str]:
        return {n.lstrip("/") for c in client.containers() for n in c.names}

    term = term_for(daemon.host)
    term.run("for c in $(ps -aq --filter status=exited --filter name=^web); do start $c; done")
    assert {"web-shlang-1", "web-shlang-2", "web-shlang-up"} <= running()
    assert "other-shlang-web" not in running()
    for name in ("web-shlang-1", "web-shlang-2"):
        client.kill(name)
        assert client.wait(name) == 137
    status, out = script_on_pty(
        term_for, daemon, tmp_path / "restart-web.pyctr",
        "restart -t 1 $(ps -aq --filter status=exited --filter name=^web)\n")
    assert status == 0, out
    assert {"web-shlang-1", "web-shlang-2"} <= running() and "other-shlang-web" not in running()


def test_wait_for_healthy_log_and_port(daemon, term_for, cleanup):
    api = docker.DockerClient(base_url=daemon.host, version="1.41")
    cleanup += ["shlang-healthy", "shlang-never", "shlang-srv"]
    api.containers.run("busybox", ["sh", "-c", "touch /tmp/ok; sleep 100"], name="shlang-healthy",
                       detach=True, healthcheck={"test": ["CMD", "test", "-f", "/tmp/ok"],
                                                 "interval": 100_000_000, "retries": 1})
    api.containers.run("busybox", ["sleep", "100"], name="shlang-never", detach=True,
                       healthcheck={"test": ["CMD", "false"], "interval": 100_000_000})
    term = term_for(daemon.host)
    assert term.run("wait-for healthy shlang-healthy --timeout 30; echo status=$?").strip() == "status=0"
    out = term.run("wait-for healthy shlang-never --timeout 1; echo status=$?")
    assert re.search(r"pyctr-shell: wait-for healthy: shlang-never was still (starting|unhealthy) "
                     r"after 1s", out) and "status=1" in out
    term.run("run -d --name shlang-srv busybox sh -c "
             "'httpd -f -p 8080 & echo server ready; exec sleep 100'")
    assert term.run("wait-for log shlang-srv 'server ready' --timeout 30; echo status=$?").strip() \
        == "status=0"
    assert term.run("wait-for port shlang-srv 8080 --timeout 30; echo status=$?").strip() == "status=0"
    out = term.run("wait-for port shlang-srv 8081 --timeout 0.5; echo status=$?")
    assert "nothing accepted connections on shlang-srv port 8081 after 0.5s" in out and "status=1" in out
    out = term.run("wait-for log shlang-srv 'never said' -t 500ms; echo status=$?")
    assert "'never said' not in the logs of shlang-srv after 0.5s" in out and "status=1" in out
    out = term.run("wait-for log no-such-container x; echo status=$?")
    assert "No such container" in out and "status=1" in out
    out = term.run("wait-for port shlang-srv notaport; echo status=$?")
    assert "invalid port 'notaport'" in out and "status=2" in out
    # Ctrl-C ends a wait and gives the prompt back.
    term.line("wait-for log shlang-srv 'never said' --timeout 600")
    term.wait(lambda: b"\x1b[?2004l" in term.raw[term.rpos:], "the line to be accepted")
    term.rpos = term.raw.index(b"\x1b[?2004l", term.rpos) + 1
    # prompt-toolkit hands the terminal (and SIGINT) back once the line is accepted:
    # press Ctrl-C when the wait is under way, as a user does, not during that handover.
    term.pump(0.5)
    assert b"\x1b[?2004h" not in term.raw[term.rpos:], "the wait ended by itself"
    term.interrupt()
    term.prompt()
    assert term.run("echo $?").strip() == "130"


LONG_RUNNING = [
    "events",
    "stats",
    "stats shlang-long",
    "wait shlang-long",
    "logs -f shlang-long",
    "logs -f shlang-long | grep not-printed",
    "attach shlang-long",
    "attach --sig-proxy=false shlang-long",
    "exec shlang-long sleep 100",
    "run --rm --name shlang-rm busybox sleep 100",  # sleep, pid 1, ignores the ^C it is sent
    "sleep 100",
    "for i in 1 2 3; do sleep 100; echo never-$i; done",
    "while true; do wait shlang-long; done",
    "ps -q | while read c; do sleep 100; done",
]


def test_ctrl_c_ends_every_long_running_command(daemon, term_for, cleanup):
    cleanup += ["shlang-long", "shlang-rm"]
    daemon.pyctr("run", "-d", "--name", "shlang-long", "busybox", "sh", "-c",
                 "trap 'exit 130' INT; while true; do echo tick; sleep 1; done")
    term = term_for(daemon.host)
    for line in LONG_RUNNING:
        term.line(line)
        term.wait(lambda: b"\x1b[?2004l" in term.raw[term.rpos:], f"{line!r} to be accepted")
        term.rpos = term.raw.index(b"\x1b[?2004l", term.rpos) + 1
        # Started: give it the moment a user would (the command is on its way, not done).
        term.pump(0.5)
        assert b"\x1b[?2004h" not in term.raw[term.rpos:], f"{line!r} ended by itself\n{term.dump()}"
        term.interrupt()
        if "shlang-rm" in line:  # proxied to the container, which ignores it
            term.expect("shlang-rm")
            term.pump(0.5)
            assert b"\x1b[?2004h" not in term.raw[term.rpos:], f"{line!r} ended by itself"
            term.interrupt()  # the second one leaves
            term.expect(r"Detached from \w+: the first Ctrl-C went to it")
        term.prompt(timeout=20)
        assert "never-1" not in term.text and "Traceback" not in term.text, line
        status = term.run("echo status=$?").strip()
        assert status == "status=130", (line, status)
        if "attach shlang-long" == line:  # the sig-proxy took the ^C to the container: it ended
            daemon.pyctr("start", "shlang-long")


def test_long_results_are_paged_short_ones_are_not(daemon, term_for, cleanup):
    cleanup += ["shlang-long-log", "shlang-short-log"]
    daemon.pyctr("run", "--name", "shlang-long-log", "busybox", "sh", "-c",
                 "i=1; while [ $i -le 100 ]; do echo line-$i; i=$((i+1)); done")
    daemon.pyctr("run", "--name", "shlang-short-log", "busybox", "echo", "just-one-line")
    term = term_for(daemon.host)  # 30 rows
    term.line("logs shlang-long-log")
    # less shows the first screenful and waits: line 100 is not there yet.
    term.screen_has(r"^line-25$")
    term.screen_has(r"^:")
    assert not any(line.startswith(("line-100", "pyctr>")) for line in term.display), term.dump()
    term.type(" ")  # a page further
    term.screen_has(r"^line-5\d$")
    term.type("q")  # q leaves it: the prompt is back
    term.prompt()
    assert term.run("echo status=$?").strip() == "status=0"
    # What fits is written as it is, no pager in between.
    out = term.run("logs shlang-short-log")
    assert out.strip() == "just-one-line"
    assert term.display[term.screen.cursor.y].startswith("pyctr>")
    # Not paged when it goes elsewhere, nor for a follow.
    out = term.run("logs shlang-long-log | wc -l")
    assert out.strip() == "100"


def test_prompt_on_a_fresh_line_after_a_detach(daemon, term_for, cleanup):
    cleanup.append("shlang-detach")
    term = term_for(daemon.host)
    term.line("run -it --name shlang-detach busybox sh")
    term.screen_has(r"^/ # $|^/ #$")
    term.type("echo in-the-container\r")
    term.screen_has(r"^in-the-container$")
    term.type("\x10\x11")  # Ctrl-P Ctrl-Q: detach, the container's prompt "/ # " unfinished
    term.prompt()
    row = term.screen.cursor.y
    assert term.display[row].startswith("pyctr>"), term.dump()
    assert term.display[row - 1].startswith("/ #"), term.dump()  # its own line, not glued
    assert daemon.client().inspect_container("shlang-detach")["State"]["Running"]


def test_multi_line_editing(daemon, term_for):
    term = term_for(daemon.host)
    # Enter inside an unfinished for/if/function continues the text; the end runs it whole.
    term.line("for i in 1 2 3; do")
    term.screen_has(r"^\.{3,}")
    term.line("    if [ $i != 2 ]; then echo item-$i; fi")
    out = term.run("done")
    assert re.findall(r"^item-\d", out, re.M) == ["item-1", "item-3"]
    term.line("greet() {")
    term.line('echo "hello, $1"')
    term.run("}")
    assert term.run("greet world").strip() == "hello, world"
    term.line("ps -q |")
    out = term.run("wc -l")
    assert out.strip().isdigit()
    # The whole construct is one history entry: Up brings it back, Enter runs it again.
    term.type("\x1b[A")
    term.screen_has(r"pyctr> ps -q \|")
    assert term.run("").strip().isdigit()


def test_completion_on_the_pty_names_with_ids_and_fuzzy(daemon, term_for, cleanup):
    cleanup += ["shlang-comp-alpha", "shlang-comp-beta"]
    term = term_for(daemon.host)
    # Made from the prompt a moment before: offered at once.
    term.run("run -d --name shlang-comp-alpha busybox sleep 100 > /dev/null")
    term.run("run -d --name shlang-comp-beta busybox sleep 100 > /dev/null")
    ids = {name: daemon.client().inspect_container(name)["Id"][:12]
           for name in ("shlang-comp-alpha", "shlang-comp-beta")}
    term.type("logs shlang-comp-\t")
    # The menu: one row per container, its name with its short id beside it.
    for name, short in ids.items():
        term.screen_has(rf"{name}\s+{short}")
    rows = [line for line in term.display if "shlang-comp-" in line and "pyctr>" not in line]
    assert len(rows) == 2, term.dump()
    term.type("\x1b\x15")  # Esc closes the menu, Ctrl-U clears the line
    term.type("stop cmpbet\t")  # no name starts so: fuzzy
    term.screen_has(r"pyctr> stop shlang-comp-beta")
    term.type("\x15wait-for he\t")
    term.screen_has(r"pyctr> wait-for healthy")
    term.type(" shlang-comp-al\t")
    term.screen_has(r"pyctr> wait-for healthy shlang-comp-alpha")
    term.type("\x15")


def test_ctrl_c_ends_a_script(daemon, term_for, tmp_path):
    path = tmp_path / "loop.pyctr"
    path.write_text("while true; do ps -q > /dev/null; echo started; sleep 100; done\n"
                    "echo never-reached\n")
    term = term_for(daemon.host, str(path), prompt=False)
    term.expect("started")
    term.pump(0.5)  # into the loop's sleep, as a user would be
    term.interrupt()
    assert term.exit_status() == 130
    assert "never-reached" not in term.text and "Traceback" not in term.text
