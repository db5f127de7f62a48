"""The parts of pyctr-shell one by one: the lexer, the completer's reading of a
half-typed line (with the CLI's own flag table), the completer against a real
pyctrd, the highlighter, and the py-block continuation rule."""

from __future__ import annotations

import os

import pytest
from prompt_toolkit.completion import CompleteEvent
from prompt_toolkit.document import Document

from pyctr.shell.completion import PyctrCompleter, analyse
from pyctr.shell.daemonstate import DaemonState
from pyctr.shell.highlight import ShellLexer
from pyctr.shell.lexer import Command, ScriptError, lex
from pyctr.shell.repl import needs_more, next_indent


def words(text: str, **variables: str) -> list[list[str]]:
    def substitute(inner: str) -> str:
        return f"<{inner}>"

    return [[v for w in s.words for v in w.fields(lambda name: variables.get(name, ""), substitute)]
            for s in lex(text).statements if isinstance(s, Command)]


def test_lexer_quoting_and_variables():
    assert words("run -d --name 'a b' busybox echo \"x $v\" $v '$v' \\$v", v="1 2") == \
        [["run", "-d", "--name", "a b", "busybox", "echo", "x 1 2", "1", "2", "$v", "$v"]]
    assert words("a;b ; c # d ; e\nf") == [["a"], ["b"], ["c"], ["f"]]
    assert words('echo "a;b" \'#c\' d#e') == [["echo", "a;b", "#c", "d#e"]]
    assert words('echo "" $empty x', empty="") == [["echo", "", "x"]]  # "" stays, bare $empty goes
    assert words("echo ${v}x $?", v="y", **{"?": "3"}) == [["echo", "yx", "3"]]
    assert words("echo one \\\n two") == [["echo", "one", "two"]]
    for bad, message in [("echo 'open", "the ' at line 1, column 6"),
                         ('ps\necho "open', 'the " at line 2, column 6'),
                         ("echo ${bad name}", "bad variable reference")]:
        with pytest.raises(ScriptError, match=message):
            lex(bad)
    # As in sh: an unset variable is empty, an unquoted expansion is split at whitespace.
    assert words('echo $nope "[$nope]" x$nope') == [["echo", "[]", "x"]]
    assert words('echo $(ps -q) "$(a b)" x$(c)y', ) == [["echo", "<ps", "-q>", "<a b>", "x<c>y"]]
    assert words('echo " $v " a${v}b', v=" 1  2 ") == [["echo", "  1  2  ", "a", "1", "2", "b"]]


def test_lexer_operators():
    script = lex("ps -q|xargs echo 2>&1 >> f && a || b; c < in > out &>all")
    ops = [t.value for t in script.tokens if type(t).__name__ == "Op"]
    assert ops == ["|", "2>&", ">>", "&&", "||", ";", "<", ">", "&>"]
    # Redirection targets are not arguments (completion and highlighting see the command only).
    assert words("ps -q|xargs echo 2>&1 >> f && a || b; c < in > out") == \
        [["ps", "-q"], ["xargs", "echo"], ["a"], ["b"], ["c"]]
    assert words("echo '|' \"a && b\" \\>") == [["echo", "|", "a && b", ">"]]
    with pytest.raises(ScriptError, match="the \\$\\( at line 1, column 6 is never closed"):
        lex("echo $(ps")


def test_lexer_py_blocks():
    script = lex("py x = 1; y = 'a # b'\nps\npy for i in x:\n    print(i)\n\n    pass\nimages\npy\n  z = 2\n")
    kinds = [type(s).__name__ for s in script.statements]
    assert kinds == ["PyBlock", "Command", "PyBlock", "Command", "PyBlock"]
    assert script.statements[0].code == "x = 1; y = 'a # b'"  # py owns the rest of its line
    assert script.statements[2].code == "for i in x:\n    print(i)\n\n    pass"
    assert script.statements[4].code == "z = 2"
    assert isinstance(lex("python3 x").statements[0], Command)  # only the word `py`


def test_py_block_continuation_rule():
    assert not needs_more("ps -a")
    assert not needs_more("py 1 + 1")
    assert needs_more("py for c in x:")
    assert needs_more("py")
    assert needs_more("py for c in x:\n    print(c)")
    assert not needs_more("py for c in x:\n    print(c)\n    ")
    assert next_indent("py for c in x:") == "    "
    assert next_indent("py for c in x:\n    if c:") == "        "
    assert next_indent("py for c in x:\n    f(c)") == "    "


def test_analyse_uses_the_cli_flag_table():
    assert analyse([], "").kind == "command"
    assert analyse(["logs"], "").kind == "positional"
    assert analyse(["logs"], "-").kind == "flag"
    # --tail takes a value, so the word after it is not the container.
    pos = analyse(["logs", "--tail"], "")
    assert (pos.kind, pos.flag.dest) == ("value", "tail")
    assert analyse(["logs", "--tail", "5"], "").index == 0
    pos = analyse(["run", "-d", "-v", "/a:/b", "--name", "x", "-it"], "busy")
    assert (pos.kind, pos.index) == ("positional", 0)
    # Flags stop at the first positional: `-l` belongs to ls.
    pos = analyse(["run", "busybox", "ls"], "-l")
    assert (pos.kind, pos.index) == ("positional", 2)
    pos = analyse(["kill", "-s"], "")
    assert (pos.kind, pos.flag.dest) == ("value", "signal")
    pos = analyse(["kill"], "--signal=K")
    assert (pos.kind, pos.flag.dest) == ("value=", "signal")
    assert analyse(["frobnicate"], "").kind == "none"


def test_highlighting_marks_commands_flags_strings_and_python():
    def styles(text: str) -> dict[str, str]:
        line = ShellLexer().lex_document(Document(text))(0)
        found: dict[str, str] = {}
        for style, ch in line:
            found.setdefault(style, "")
            found[style] += ch
        return found

    found = styles("run -d --name 'a b' busybox echo $x # note")
    assert found["class:command"] == "run"
    assert found["class:flag"] == "-d--name"
    assert found["class:string"] == "'a b'"
    assert found["class:variable"] == "$x"
    assert found["class:comment"] == "# note"
    assert styles("frobnicate now")["class:unknown"] == "frobnicate"
    assert styles("echo 'unclosed")["class:string"] == "'unclosed"  # partial: still coloured
    py = styles("py for c in x: pass")
    assert py["class:builtin"] == "py"
    assert any("keyword" in style for style in py)


pytestmark_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root and a real kernel")


def complete(completer: PyctrCompleter, text: str) -> list[str]:
    return [c.text for c in completer.get_completions(Document(text), CompleteEvent(True))]


@pytestmark_root
def test_completer_against_the_daemon(daemon):
    client = daemon.client()
    from pyctr.engine.api.config import ContainerConfig

    state = DaemonState(daemon.host)
    completer = PyctrCompleter(state, lambda: ["name", "nine", "other"])
    cid, _ = client.create_container(ContainerConfig(image="busybox", cmd=["sleep", "100"]),
                                     name="shparts-run")
    stopped, _ = client.create_container(ContainerConfig(image="busybox", cmd=["true"]),
                                         name="shparts-stopped")
    try:
        client.start(cid)
        assert set(complete(completer, "log")) == {"logs", "login", "logout"}
        assert "shparts-run" in complete(completer, "logs shparts-")
        assert set(complete(completer, "stop shparts-")) == {"shparts-run"}  # running only
        assert set(complete(completer, "start shparts-")) == {"shparts-stopped"}
        # One entry per container: its name; typing its id offers the name too.
        by_id = complete(completer, "inspect " + cid[:6])
        assert "shparts-run" in by_id and cid[:12] not in by_id
        assert complete(completer, "logs shparts-").count("shparts-run") == 1
        assert "busybox:latest" in complete(completer, "run -d --name x busy")
        assert complete(completer, "run busybox ls busy") == []  # the container's command
        assert "KILL" in complete(completer, "kill -s K")
        assert "--signal=KILL" in complete(completer, "kill --signal=K")
        assert set(complete(completer, "ps --no")) == {"--no-trunc"}
        assert complete(completer, "echo $n") == ["$name", "$nine"]
        assert "logs" in complete(completer, "ps; lo")
        assert complete(completer, "py client.con") == []  # Python is not ours to complete
        assert "run" in complete(completer, "help ru")
        # A container made after the last refresh shows once a command has run (mark_dirty).
        client.create_container(ContainerConfig(image="busybox", cmd=["true"]), name="shparts-late")
        state.mark_dirty()
        assert "shparts-late" in complete(completer, "rm shparts-l")
    finally:
        for name in ("shparts-run", "shparts-stopped", "shparts-late"):
            try:
                client.remove_container(name, force=True)
            except Exception:
                pass


@pytestmark_root
def test_completer_one_entry_per_container_and_fuzzy(daemon):
    client = daemon.client()
    from pyctr.engine.api.config import ContainerConfig

    completer = PyctrCompleter(DaemonState(daemon.host), lambda: [])
    cid, _ = client.create_container(ContainerConfig(image="busybox", cmd=["true"]),
                                     name="shparts-web")
    client.tag("busybox", "shparts-web")  # an image of the same name as the container
    image_id = client.inspect_image("busybox")["Id"]
    try:
        found = [(c.text, c.display_meta_text) for c in completer.get_completions(
            Document("inspect shparts-we"), CompleteEvent(True))]
        # The container, described by its own id: not the image's id, and not twice.
        assert [t for t, _ in found].count("shparts-web") == 1
        meta = dict(found)["shparts-web"]
        assert meta.startswith(cid[:12]) and image_id.split(":")[-1][:12] not in meta
        assert "shparts-web:latest" in dict(found)  # the image by its tag
        # Fuzzy: no name starts with it, so names containing it or its letters in order.
        assert complete(completer, "logs rts-w") == ["shparts-web"]
        assert complete(completer, "logs shpweb") == ["shparts-web"]
        assert complete(completer, "insp") == ["inspect"]
        assert complete(completer, "ispct") == ["inspect"]
        assert complete(completer, "logs zzqq") == []
    finally:
        client.remove_container("shparts-web", force=True)
        client.remove_image("shparts-web")


@pytestmark_root
def test_completer_offers_a_containers_ports(daemon):
    client = daemon.client()
    from pyctr.engine.api.config import ContainerConfig, HostConfig, PortBinding

    config = ContainerConfig(image="busybox", cmd=["sleep", "100"],
                             exposed_ports={"8080/tcp": {}})
    host = HostConfig(port_bindings={"8080/tcp": [PortBinding("127.0.0.1", "")]})
    cid, _ = client.create_container(config, host, name="shparts-port")
    try:
        client.start(cid)
        completer = PyctrCompleter(DaemonState(daemon.host), lambda: [])
        assert complete(completer, "port shparts-port ") == ["8080/tcp"]
    finally:
        client.remove_container(cid, force=True)


def test_completer_with_no_daemon(tmp_path):
    completer = PyctrCompleter(DaemonState(f"unix://{tmp_path}/none.sock"), lambda: [])
    assert complete(completer, "logs ") == []
    assert "logs" in complete(completer, "lo")


def test_parser_structure_and_refusals():
    from pyctr.shell.parser import For, FunctionDef, If, Incomplete, Pipeline, Sequence, parse

    tree = parse("f() { ps -q | wc -l; }\nfor x in a $b; do if f; then echo $x; fi; done")
    assert isinstance(tree, Sequence) and [type(n) for n in tree.items] == [FunctionDef, For]
    body = tree.items[0].body.body.items[0]
    assert isinstance(body, Pipeline) and len(body.commands) == 2
    assert isinstance(tree.items[1].body.items[0], If)
    assert parse("echo done fi then").items[0].words[1].literal == "done"  # reserved only first
    for unfinished in ("for x in a; do", "if true; then", "ps |", "ps &&", "f() {", "while true"):
        with pytest.raises(Incomplete):
            parse(unfinished)
    for refused, message in [("sleep 1 &", "background jobs"), ("(ps)", "unexpected '\\('"),
                             ("echo $((1+2))", "arithmetic expansion"), ("fi", "unexpected 'fi'"),
                             ("echo > ", "expected a file name"), ("ps 3> f", "0, 1 and 2"),
                             ("ps 2>&x", "needs 0, 1 or 2")]:
        with pytest.raises(ScriptError, match=message):
            parse(refused)
        assert not needs_more(refused), refused  # Enter reports these, it does not wait for more
