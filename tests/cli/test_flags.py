import pytest

from pyctr.shell import commands
from pyctr.engine.client.frontend.flags import Command, Flag, HelpRequested, UsageError


def cmd(**kw):
    return Command("x", "[OPTIONS]", "test", [
        Flag("-a", "--all", default=False), Flag("-q", default=False),
        Flag("-n", default=-1), Flag("-e", "--env", default=[]),
        Flag("--name", default=""), Flag("--sig-proxy", default=True),
    ], max_args=None, **kw)


def test_flags_stop_at_first_positional():
    opts, args = cmd().parse(["-a", "busybox", "ls", "-l", "-a"])
    assert opts.all is True
    assert args == ["busybox", "ls", "-l", "-a"]


def test_combined_short_bools_and_values():
    opts, args = cmd().parse(["-aq", "-n5", "-eA=1", "-e", "B=2", "--env=C=3", "img"])
    assert (opts.all, opts.q, opts.n, opts.env, args) == (True, True, 5, ["A=1", "B=2", "C=3"], ["img"])


def test_go_style_bool_values():
    opts, _ = cmd().parse(["--sig-proxy=false", "-a=true", "-q=0"])
    assert (opts.sig_proxy, opts.all, opts.q) == (False, True, False)
    with pytest.raises(UsageError, match='invalid boolean value "maybe"'):
        cmd().parse(["--sig-proxy=maybe"])


def test_value_forms_and_terminators():
    opts, args = cmd().parse(["--name", "web", "-n=3", "--", "-a"])
    assert (opts.name, opts.n, args) == ("web", 3, ["-a"])
    _, args = cmd().parse(["-", "x"])
    assert args == ["-", "x"]
    opts, _ = cmd().parse(["-n", "-1"])
    assert opts.n == -1


def test_errors():
    with pytest.raises(UsageError, match="flag provided but not defined: --nope"):
        cmd().parse(["--nope"])
    with pytest.raises(UsageError, match="flag needs an argument: --name"):
        cmd().parse(["--name"])
    with pytest.raises(UsageError, match="not an integer"):
        cmd().parse(["-n", "x"])
    with pytest.raises(HelpRequested):
        cmd().parse(["--help"])
    with pytest.raises(UsageError, match='"pyctr rm" requires at least 1 argument.'):
        commands.load("rm").parse([])


def test_run_h_is_hostname_not_help():
    opts, args = commands.load("run").parse(["-h", "box.example.com", "busybox"])
    assert opts.hostname == "box.example.com" and args == ["busybox"]


def test_every_command_has_help_and_unique_flags():
    from pyctr.shell.management import GroupCommand

    for command in commands.all_commands():
        text = command.help_text()
        if isinstance(command, GroupCommand):  # docker 28's layout, then each verb's own
            assert text.startswith(f"Usage:  pyctr {command.name} COMMAND\n"), command.name
            for verb, sub in command.group.verbs.items():
                assert f"Usage: pyctr {command.name} " in sub.help_text() and sub.name.startswith(command.name)
                names = [n for f in sub.flags for n in f.names]
                assert len(names) == len(set(names)), sub.name
            continue
        assert f"Usage: pyctr {command.name}" in text
        names = [n for f in command.flags for n in f.names]
        assert len(names) == len(set(names)), command.name


def test_help_layout_matches_mflag():
    text = commands.load("stop").help_text()
    assert text == (
        "\nUsage: pyctr stop [OPTIONS] CONTAINER [CONTAINER...]\n\n"
        "Stop a running container by sending SIGTERM and then SIGKILL after a grace period\n\n"
        "  -t, --time=10      Number of seconds to wait for the container to stop before "
        "killing it. Default is 10 seconds.\n")
