"""The Dockerfile parser: directives, forms, continuations, comments, flags, stages, the
word expansion, and errors naming their line, as Docker 20.10's classic builder has them."""

from __future__ import annotations

import pytest

from pyctr.engine.builder.config_steps import (BuildState, apply_changes, apply_config,
                                               go_duration, health_text)
from pyctr.engine.builder.lex import ExpansionError, process_word
from pyctr.engine.builder.parser import DockerfileError, parse, parse_line, stages
from pyctr.engine.api.config import ContainerConfig, HealthConfig


def test_comments_continuations_and_case():
    text = ("# a comment\n"
            "from busybox\n"
            "\n"
            "run echo a \\\n"
            "    && echo b\n"
            "   # indented comment\n"
            "Cmd [\"sh\", \"-c\", \"echo hi\"]\n")
    insts = parse(text)
    assert [(i.line, i.command) for i in insts] == [(2, "FROM"), (4, "RUN"), (7, "CMD")]
    # a continuation keeps its indentation, as Docker's parser joins lines
    assert insts[1].args == ["echo a     && echo b"] and not insts[1].json_form
    assert insts[2].args == ["sh", "-c", "echo hi"] and insts[2].json_form
    assert insts[1].text() == "run echo a     && echo b"


def test_escape_directive():
    text = "# escape=`\nFROM busybox\nRUN echo a `\n b\nCOPY a\\b /c\n"
    insts = parse(text)
    assert insts[1].args == ["echo a  b"]
    assert insts[2].args == ["a\\b", "/c"]
    with pytest.raises(DockerfileError, match="invalid ESCAPE"):
        parse("# escape=x\nFROM busybox\n")
    # a directive after an instruction is a comment
    assert len(parse("FROM busybox\n# escape=`\nRUN a \\\n b\n")) == 2


def test_json_form_falls_back_to_shell_form_when_not_a_string_array():
    inst = parse_line(1, 'RUN ["echo", 1]')
    assert not inst.json_form and inst.args == ['["echo", 1]']
    inst = parse_line(1, "ENTRYPOINT [broken")
    assert not inst.json_form and inst.args == ["[broken"]


def test_env_and_label_forms():
    assert parse_line(1, "ENV NAME some value here").pairs == [("NAME", "some value here")]
    assert parse_line(1, 'ENV A=1 B="two words"').pairs == [("A", "1"), ("B", '"two words"')]
    assert parse_line(1, 'LABEL a.b=c "d e"=f').pairs == [("a.b", "c"), ('"d e"', "f")]
    with pytest.raises(DockerfileError, match="line 3: ENV must have two arguments"):
        parse_line(3, "ENV ALONE")
    with pytest.raises(DockerfileError, match="can't find = in"):
        parse_line(1, "LABEL a=b c")


def test_flags_and_stages():
    text = ("ARG BASE=busybox\nFROM --platform=linux/amd64 ${BASE} AS Build\nRUN true\n"
            "FROM scratch\nCOPY --from=build --chown=1:2 /a /b\n")
    df = stages(parse(text))
    assert [a.pairs for a in df.meta_args] == [[("BASE", "busybox")]]
    assert [(s.base, s.name, s.platform) for s in df.stages] == [
        ("${BASE}", "build", "linux/amd64"), ("scratch", "", "")]
    assert df.stages[1].commands[0].flags == {"from": "build", "chown": "1:2"}
    assert df.total_steps() == 5
    assert df.stage_index("build") == 0 and df.stage_index("1") == 1 and df.stage_index("x") is None


@pytest.mark.parametrize("text, line, message", [
    ("FROM busybox\nRUN true\nFOO bar\n", 3, "unknown instruction: FOO"),
    ("FROM busybox\n\n# x\nRUN\n", 4, "RUN requires at least one argument"),
    ("FROM busybox\nADD onlyone\n", 2, "ADD requires at least two arguments"),
    ("FROM busybox\nEXPOSE 80 http\n", 2, "Invalid containerPort: http"),
    ("FROM busybox\nEXPOSE 70000\n", 2, "Invalid containerPort: 70000"),
    ("FROM a b\n", 1, "FROM requires either one or three arguments"),
    ("FROM busybox\nONBUILD ONBUILD RUN x\n", 2, "Chaining ONBUILD"),
    ("FROM busybox\nONBUILD FROM other\n", 2, "FROM isn't allowed as an ONBUILD trigger"),
    ("# only\nRUN echo\n", 2, "Please provide a source image with `FROM` prior to run"),
    ("FROM busybox\nUSER a b\n", 2, "USER requires exactly one argument"),
    ("FROM busybox\nCOPY --form=x a b\n", 2, "Unknown flag: form"),
    ("FROM busybox\nADD --from=x a b\n", 2, "Unknown flag: from"),
    ("FROM busybox\nRUN --mount=type=cache true\n", 2, "requires BuildKit"),
    ("FROM busybox\nSHELL /bin/bash -c\n", 2, "SHELL requires the arguments to be in JSON form"),
    ("FROM busybox\nHEALTHCHECK --interval=1us CMD true\n", 2, "cannot be less than 1ms"),
    ("FROM busybox\nHEALTHCHECK --retries=-1 CMD true\n", 2, "--retries cannot be negative"),
    ("FROM busybox\nHEALTHCHECK RUN true\n", 2, "Unknown type"),
    ("FROM busybox AS a\nFROM busybox AS A\n", 2, "duplicate name"),
    ("FROM busybox AS 1x\n", 1, "invalid name for build stage"),
    ("FROM busybox\nARG A B\n", 2, "ARG requires exactly one argument"),
])
def test_errors_name_the_line(text, line, message):
    with pytest.raises(DockerfileError) as info:
        stages(parse(text))
    assert info.value.line == line
    assert f"dockerfile parse error line {line}: " in str(info.value) and message in str(info.value)


def test_empty_and_binary_dockerfiles():
    with pytest.raises(DockerfileError, match="empty"):
        parse("# nothing\n\n")
    with pytest.raises(DockerfileError, match="NUL"):
        parse("FROM busybox\x00\n")


def test_word_expansion():
    env = ["A=1", "LONG=x y", "EMPTY="]
    assert process_word("$A/${LONG}/$UNSET/\\$A", env) == "1/x y//$A"
    assert process_word("'$A' \"$A\" \"\\$A\"", env) == "$A 1 $A"
    assert process_word("${UNSET:-dflt} ${A:-no} ${A:+yes} ${UNSET:+no}", env) == "dflt 1 yes "
    assert process_word("${EMPTY:-d} ${EMPTY-d}", env) == "d "
    assert process_word("`$A", env, escape="`") == "$A"
    with pytest.raises(ExpansionError, match="double-quote"):
        process_word('"open', env)


def test_go_formats():
    assert [go_duration(n) for n in (0, 3 * 10**9, 300 * 10**9, 1500 * 10**6, 2 * 10**6, 3600 * 10**9)] == [
        "0s", "3s", "5m0s", "1.5s", "2ms", "1h0m0s"]
    health = HealthConfig(test=["CMD-SHELL", "true"], interval=5 * 10**9, retries=3)
    assert health_text(health) == '&{["CMD-SHELL" "true"] "5s" "0s" "0s" \'\\x03\'}'


def test_config_instructions():
    state = BuildState(config=ContainerConfig(cmd=["sh"]))
    done = apply_config(state, parse_line(1, "ENTRYPOINT /bin/app"))
    assert done.text == 'ENTRYPOINT ["/bin/sh" "-c" "/bin/app"]'
    assert state.config.cmd is None  # an inherited CMD goes with a new ENTRYPOINT
    apply_config(state, parse_line(2, "ENV DIR /srv"))
    apply_config(state, parse_line(3, "WORKDIR $DIR"))
    assert apply_config(state, parse_line(4, "WORKDIR sub")).single_arg
    assert state.config.working_dir == "/srv/sub"
    assert apply_config(state, parse_line(5, "EXPOSE 80 53/udp 90-91")).text == "EXPOSE 53/udp 80 90-91"
    assert state.config.exposed_ports == {"80/tcp": {}, "53/udp": {}, "90/tcp": {}, "91/tcp": {}}
    apply_config(state, parse_line(6, 'VOLUME ["/data", "/logs"]'))
    assert state.config.volumes == {"/data": {}, "/logs": {}}
    apply_config(state, parse_line(7, "ONBUILD run echo child"))
    assert state.config.on_build == ["run echo child"]
    with pytest.raises(DockerfileError, match="must be absolute"):
        apply_config(state, parse_line(8, "VOLUME relative"))
    # ENV pairs of one line see the env before the line, as Docker's
    apply_config(state, parse_line(9, "ENV DIR=/new OTHER=$DIR"))
    assert "OTHER=/srv" in state.config.env and "DIR=/new" in state.config.env
    assert apply_config(state, parse_line(10, 'LABEL "a b"=c d=$DIR')).text == "LABEL a b=c d=/new"
    assert state.config.labels == {"a b": "c", "d": "/new"}
    apply_config(state, parse_line(11, 'SHELL ["/bin/ash", "-e", "-c"]'))
    apply_config(state, parse_line(12, "CMD run"))
    assert state.config.cmd == ["/bin/ash", "-e", "-c", "run"]
    apply_config(state, parse_line(13, "STOPSIGNAL SIGUSR1"))
    assert state.config.stop_signal == "SIGUSR1"
    with pytest.raises(DockerfileError, match="Invalid signal"):
        apply_config(state, parse_line(14, "STOPSIGNAL NOPE"))
    notes: list[str] = []
    apply_config(state, parse_line(15, "HEALTHCHECK --interval=30s --retries=2 CMD [\"check\"]"))
    apply_config(state, parse_line(16, "HEALTHCHECK --timeout=2s CMD check2"), note=notes.append)
    assert state.config.healthcheck == HealthConfig(test=["CMD-SHELL", "check2"], timeout=2 * 10**9)
    assert notes == ["Note: overriding previous HEALTHCHECK: [CMD check]\n"]
    apply_config(state, parse_line(17, "HEALTHCHECK NONE"))
    assert state.config.healthcheck.test == ["NONE"]


def test_commit_changes():
    config = ContainerConfig(cmd=["sh"], env=["A=1"])
    apply_changes(config, ['CMD ["cat", "/x"]', "ENV A 2", "USER nobody", "LABEL k=v"])
    assert config.cmd == ["cat", "/x"] and config.env == ["A=2"] and config.user == "nobody"
    assert config.labels == {"k": "v"}
    with pytest.raises(ValueError, match="RUN is not a valid change"):
        apply_changes(config, ["RUN rm -rf /"])
    with pytest.raises(ValueError, match="unknown instruction"):
        apply_changes(config, ["BOGUS x"])
