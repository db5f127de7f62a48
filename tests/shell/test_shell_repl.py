"""pyctr-shell at its prompt, driven through a real pseudo-terminal against a real pyctrd."""

from __future__ import annotations

import os
import socket
import threading

import pytest

from harness import DaemonProcess

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root and a real kernel")


def test_completes_a_container_created_in_the_session(daemon, term_for, cleanup):
    cleanup.append("shtest-web")
    term = term_for(daemon.host)
    term.run("run -d --name shtest-web busybox sh -c 'echo hello-$((6*7)); sleep 100'")
    term.type("logs shtest-w")
    term.type("\t")
    term.screen_has(r"pyctr> logs shtest-web\b")  # the name was completed, not typed
    term.type("\r")
    term.expect(r"hello-42")
    term.prompt()
    # Flags and commands complete too.
    term.type("ps --no-t\t")
    term.screen_has(r"pyctr> ps --no-trunc")
    term.type("\x15")  # Ctrl-U: clear the line
    term.type("insp\t")
    term.screen_has(r"pyctr> inspect")
    term.type("\x15")
    term.eof()
    assert term.exit_status() == 0


def test_toolbar_follows_events_without_typing(daemon, term_for, cleanup):
    client = daemon.client()
    running = sum(1 for c in client.containers())
    term = term_for(daemon.host)
    version = client.version_info().version
    term.wait(lambda: f"pyctrd {version}  {running} running" in term.toolbar(), "the toolbar")
    assert daemon.host in term.toolbar()
    cleanup.append("shtest-toolbar")
    from pyctr.engine.api.config import ContainerConfig

    cid, _ = client.create_container(ContainerConfig(image="busybox", cmd=["sleep", "100"]),
                                     name="shtest-toolbar")
    client.start(cid)  # from another client: only the events stream can tell the REPL
    term.wait(lambda: f"{running + 1} running" in term.toolbar(), "the toolbar to count it")
    client.remove_container(cid, force=True)
    term.wait(lambda: f"{running} running" in term.toolbar(), "the toolbar to drop it")


def test_run_it_round_trip_gives_the_terminal_back(daemon, term_for):
    term = term_for(daemon.host)
    term.line("run -it --rm busybox sh")
    term.expect(r"/ # ")
    term.line("[ -t 0 ] && echo tty-$((6*7))")
    term.expect(r"tty-42")  # stdin is a terminal inside the container
    term.line("exit 3")
    term.prompt()
    # Back at the prompt: raw mode undone, no keystroke lost to a stale stdin reader.
    out = term.run("echo status=$?")
    assert "status=3" in out
    term.type("py 'ab' * 2\r")
    term.expect(r"'abab'")
    term.prompt()
    term.eof()
    assert term.exit_status() == 0  # Ctrl-D leaves with $?, here py's


def test_ctrl_c_interrupts_a_follow_and_returns_to_the_prompt(daemon, term_for, cleanup):
    cleanup.append("shtest-follow")
    term = term_for(daemon.host)
    term.run("run -d --name shtest-follow busybox sh -c 'while true; do echo tick-$((1+1)); sleep 1; done'")
    term.line("logs -f shtest-follow")
    term.expect(r"tick-2")
    term.interrupt()
    term.prompt()
    assert "status=130" in term.run("echo status=$?")
    assert "still-here" in term.run("x=here; echo still-$x")


def test_py_escape_with_client_and_last_result(daemon, term_for, cleanup):
    cleanup.append("shtest-py")
    term = term_for(daemon.host)
    term.run("run -d --name shtest-py busybox sleep 100")
    term.run("ps")
    out = term.run("py [n for c in result.data for n in c.names if 'shtest-py' in n]")
    assert "['/shtest-py']" in out
    # A multi-line block: Enter continues after ':', a blank line runs it.
    term.line("py for c in client.containers(all=True):")
    term.line("if c.names == ['/shtest-py']:")
    term.line("print('found', c.status.split()[0], len(c.id))")
    term.type("\r")
    term.expect(r"found Up 64")
    term.prompt()
    # py can set shell variables; `sh` runs pyctr lines from Python.
    term.run("py var['cid'] = sh('inspect -f {{.Id}} shtest-py').stdout.strip()[:12]")
    out = term.run("echo short=$cid")
    assert "short=" + daemon.client().inspect_container("shtest-py")["Id"][:12] in out
    out = term.run("py undefined_name + 1")
    assert "py: NameError: name 'undefined_name' is not defined" in out
    assert "Traceback" not in term.text


def test_bad_input_is_a_message_and_the_repl_goes_on(daemon, term_for):
    term = term_for(daemon.host)
    out = term.run("nosuchcmd --flag")
    assert "'nosuchcmd' is not a pyctr command" in out
    # An open quote continues the line on Enter (as sh's PS2); Ctrl-C drops it.
    term.line("run --name 'unclosed busybox true")
    term.screen_has(r"^\.{3,}$")  # the continuation line
    term.interrupt()
    term.prompt()
    term.type("echo one; run 'busybox\x1b")
    out = term.run("")  # Esc-Enter runs it as it is
    assert "unbalanced quotes" in out and "one" not in out
    out = term.run("ps --bogus")
    assert "flag provided but not defined: --bogus" in out
    out = term.run("rm no-such-container-here")
    assert "No such container" in out or "no such" in out.lower()
    out = term.run("echo [$nosuchvar]")
    assert "[]" in out  # unset is empty, as in sh
    out = term.run("exit notanumber")
    assert "numeric argument required" in out
    assert "ok-42" in term.run("py print('ok-' + str(6*7))")
    assert "Traceback" not in term.text
    term.line("exit 4")
    assert term.exit_status() == 4


def test_daemon_down_then_back(tmp_path, term_for):
    workdir = str(tmp_path / "d")
    d = DaemonProcess(workdir, ["--shutdown-timeout", "2"]).start()
    try:
        term = term_for(d.host)
        term.wait(lambda: "pyctrd" in term.toolbar(), "the toolbar to show the daemon")
        d.stop()
        term.wait(lambda: "daemon unreachable" in term.toolbar(), "the toolbar to notice")
        out = term.run("ps")
        assert "Cannot connect to the pyctr daemon" in out and "Is pyctrd running?" in out
        assert "alive" in term.run("py 'alive'")
        d.start()
        term.wait(lambda: "pyctrd" in term.toolbar(), "the toolbar to reconnect", timeout=90)
        assert "CONTAINER ID" in term.run("ps")
        term.eof()
        assert term.exit_status() == 0
    finally:
        d.stop()
        d.cleanup_by_force()


def test_no_daemon_at_all(tmp_path, term_for):
    term = term_for(f"unix://{tmp_path}/nothing-here.sock")
    term.wait(lambda: "daemon unreachable" in term.toolbar(), "the toolbar")
    out = term.run("images")
    assert "Cannot connect to the pyctr daemon" in out
    term.type("logs \t")  # completion with no daemon: no names, no crash
    term.type("\x15")
    assert "fine" in term.run("py 'fine'")
    term.eof()
    assert term.exit_status() == 0  # $? of the last line (py)


def test_history_file_and_history_builtin(daemon, term_for, tmp_path):
    term = term_for(daemon.host)
    term.run("version")
    term.run("images -q")
    out = term.run("history")
    assert "version" in out and "images -q" in out
    term.eof()
    term.exit_status()
    path = tmp_path / "home" / ".config" / "pyctr" / "history"
    assert "images -q" in path.read_text()
    # `history IMAGE` is still the image command.
    term = term_for(daemon.host)
    assert "IMAGE" in term.run("history busybox")
    term.eof()
    assert term.exit_status() == 0


class StallingRegistry:
    """A 'registry' on 127.0.0.1 that accepts connections, reads, and never answers:
    a pull from it hangs until the user gives up."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.conns: list[socket.socket] = []
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)

    def close(self) -> None:
        self.sock.close()
        for conn in self.conns:
            conn.close()
        self.thread.join(5)


def test_ctrl_c_interrupts_a_pull(daemon, term_for):
    registry = StallingRegistry()
    try:
        term = term_for(daemon.host)
        term.line(f"pull 127.0.0.1:{registry.port}/stalled/image")
        term.wait(lambda: registry.conns, "the daemon to reach the registry")
        term.interrupt()
        term.prompt()
        assert "status=130" in term.run("echo status=$?")
        assert "REPOSITORY" in term.run("images")  # the daemon and the REPL are both fine
    finally:
        registry.close()
    tags = [t for i in daemon.client().images() for t in i.repo_tags]
    assert not any("stalled/image" in t for t in tags)
