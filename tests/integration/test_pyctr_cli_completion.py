"""`pyctr completion zsh` run in a real zsh (interactive, on a pty, with compinit), and
the bash script's management groups: verbs, flags and daemon objects offered."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys

import pytest

pexpect = pytest.importorskip("pexpect")

pytestmark = [pytest.mark.skipif(os.geteuid() != 0, reason="needs root"),
              pytest.mark.skipif(shutil.which("zsh") is None, reason="zsh is not installed (scripts/setup.sh adds it)")]


class Zsh:
    """An interactive zsh with the script loaded; reads what Tab did to the line."""

    def __init__(self, daemon, script_path: str):
        env = {**daemon.env(), "PATH": os.path.dirname(sys.executable) + ":" + os.environ["PATH"],
               "HOME": os.path.dirname(script_path), "TERM": "dumb"}
        self.child = pexpect.spawn("zsh", ["-f", "-i"], env=env, encoding="utf-8", timeout=30,
                                   dimensions=(60, 250))
        self.child.sendline(f"PS1='READY> '; autoload -Uz compinit; compinit -u -D; source {shlex.quote(script_path)};"
                            f" unsetopt beep; LISTMAX=0; print LOADED-$((40+2))")
        self.child.expect("LOADED-42")
        self.child.expect("READY> ")

    def line_after_tab(self, text: str) -> str:
        """The command line after typing `text` and Tab (zsh completes it in place; the
        space it adds after a whole word is taken back as the cursor moves on)."""
        self.child.send(text + "\t")
        # Ctrl-A ... Ctrl-E: quote the line into a print instead of running it
        self.child.send("\x01print -r -- \"BUF:\x05\"\r")
        self.child.expect(r"\r\nBUF:(.*?)\r\n")
        line = self.child.match.group(1)
        self.child.expect("READY> ")
        return line

    def listed(self, text: str) -> str:
        """What zsh lists for an ambiguous `text` + Tab."""
        self.child.send(text + "\t")
        self.child.send("\x15print LISTED-$((1+1))\r")  # Ctrl-U clears the line
        self.child.expect(r"\r\nLISTED-2\r\n")
        shown = self.child.before
        self.child.expect("READY> ")
        return shown

    def close(self) -> None:
        self.child.sendline("exit")
        self.child.expect(pexpect.EOF)
        self.child.close()


@pytest.fixture
def zsh(daemon, tmp_path):
    path = tmp_path / "pyctr.zsh"
    path.write_bytes(daemon.pyctr("completion", "zsh").stdout)
    shell = Zsh(daemon, str(path))
    yield shell
    shell.close()


def words(listing: str) -> set[str]:
    return set(re.findall(r"[\w.:/-]+", listing))


def test_zsh_completes_verbs_flags_and_objects(daemon, zsh):
    from pyctr.shell import commands

    assert zsh.line_after_tab("pyctr netw") == "pyctr network"
    assert zsh.line_after_tab("pyctr network disc") == "pyctr network disconnect"
    assert zsh.line_after_tab("pyctr upd") == "pyctr update"
    assert zsh.line_after_tab("pyctr -D upd") == "pyctr -D update"
    assert zsh.line_after_tab("pyctr stats --no-s") == "pyctr stats --no-stream"
    assert zsh.line_after_tab("pyctr system pr") == "pyctr system prune"
    assert zsh.line_after_tab("pyctr system prune --vol") == "pyctr system prune --volumes"
    listing = zsh.listed("pyctr network ")
    assert {"connect", "create", "disconnect", "inspect", "ls", "prune", "rm"} <= words(listing)
    assert "Connect a container to a network" in listing          # the grammar's descriptions
    assert {"rename", "restart"} <= words(zsh.listed("pyctr re"))
    # every flag of a verb's grammar is offered
    offered = words(zsh.listed("pyctr ps -"))
    assert {n for f in commands.load("ps").flags for n in f.names} <= offered
    offered = words(zsh.listed("pyctr network create --"))
    assert {"--subnet", "--gateway", "--ip-range", "--internal", "--label", "--driver"} <= offered
    # a container and a network made a moment before
    daemon.pyctr("create", "--name", "zfresh", "busybox", "true")
    daemon.pyctr("network", "create", "znet")
    try:
        assert zsh.line_after_tab("pyctr rm zfr") == "pyctr rm zfresh"
        assert zsh.line_after_tab("pyctr container rm zfr") == "pyctr container rm zfresh"
        assert zsh.line_after_tab("pyctr network rm zn") == "pyctr network rm znet"
        assert zsh.line_after_tab("pyctr run --rm busyb") == "pyctr run --rm busybox:latest"
        assert zsh.line_after_tab("pyctr run --name zf") == "pyctr run --name zf"   # a flag's value: nothing
        assert zsh.line_after_tab("pyctr run --no-heal") == "pyctr run --no-healthcheck"   # docker 28's flags
        assert zsh.line_after_tab("pyctr create --network-al") == "pyctr create --network-alias"
    finally:
        daemon.pyctr("rm", "zfresh")
        daemon.pyctr("network", "rm", "znet")
    assert zsh.line_after_tab("pyctr completion z") == "pyctr completion zsh"


def complete_bash(daemon, *words_: str) -> list[str]:
    script = daemon.pyctr("completion", "bash").stdout.decode()
    driver = (f"{script}\nCOMP_WORDS=({' '.join(shlex.quote(w) for w in words_)})\n"
              f"COMP_CWORD={len(words_) - 1}\n_pyctr\nprintf '%s\\n' \"${{COMPREPLY[@]}}\"\n")
    env = {**daemon.env(), "PATH": os.path.dirname(sys.executable) + ":" + os.environ["PATH"]}
    result = subprocess.run(["bash", "--norc", "--noprofile", "-c", driver], capture_output=True,
                            text=True, env=env, check=True, timeout=60)
    return [line for line in result.stdout.splitlines() if line]


def test_bash_completes_management_groups(daemon):
    assert complete_bash(daemon, "pyctr", "network", "c") == ["connect", "create"]
    assert complete_bash(daemon, "pyctr", "image", "") == sorted(
        ["build", "history", "import", "inspect", "list", "load", "ls", "prune", "pull", "push", "remove", "rm",
         "save", "tag"])
    assert complete_bash(daemon, "pyctr", "network", "create", "--sub") == ["--subnet"]
    assert set(complete_bash(daemon, "pyctr", "volume", "prune", "-")) == {"-a", "--all", "--filter", "-f", "--force",
                                                                          "--help"}
    daemon.pyctr("volume", "create", "bvol")
    try:
        assert complete_bash(daemon, "pyctr", "volume", "rm", "bv") == ["bvol"]
        assert complete_bash(daemon, "pyctr", "volume", "inspect", "-f", "x", "bv") == ["bvol"]
    finally:
        daemon.pyctr("volume", "rm", "bvol")


def test_bash_offers_docker_28s_run_flags(daemon):
    from pyctr.shell import commands

    assert complete_bash(daemon, "pyctr", "run", "--network-a") == ["--network-alias"]
    assert set(complete_bash(daemon, "pyctr", "create", "--health-")) == {
        "--health-cmd", "--health-interval", "--health-retries", "--health-start-interval",
        "--health-start-period", "--health-timeout"}
    offered = set(complete_bash(daemon, "pyctr", "run", "-"))
    assert {n for f in commands.load("run").flags for n in f.names} <= offered
    assert {"--mount", "--tmpfs", "--ulimit", "--sysctl", "--pull", "--platform", "--detach-keys"} <= offered
    assert "--detach-keys" not in complete_bash(daemon, "pyctr", "create", "--det")   # run's alone
