"""The Dockerfile parser: forms, continuations, comments, and errors naming their line."""

from __future__ import annotations

import pytest

from pyctr.engine.builder.config_steps import BuildState, apply_changes, apply_config
from pyctr.engine.builder.parser import DockerfileError, parse, parse_line, substitute
from pyctr.engine.api.config import ContainerConfig


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
    assert insts[1].args == ["echo a && echo b"] and not insts[1].json_form
    assert insts[2].args == ["sh", "-c", "echo hi"] and insts[2].json_form
    assert insts[1].text() == "RUN echo a && echo b"


def test_json_form_falls_back_to_shell_form_when_not_a_string_array():
    inst = parse_line(1, 'RUN ["echo", 1]')
    assert not inst.json_form and inst.args == ['["echo", 1]']
    inst = parse_line(1, "ENTRYPOINT [broken")
    assert not inst.json_form and inst.args == ["[broken"]


def test_env_forms():
    assert parse_line(1, "ENV NAME some value here").args == ["NAME=some value here"]
    assert parse_line(1, 'ENV A=1 B="two words"').args == ["A=1", "B=two words"]
    with pytest.raises(DockerfileError, match="line 3: ENV requires two arguments"):
        parse_line(3, "ENV ALONE")


@pytest.mark.parametrize("text, line, message", [
    ("FROM busybox\nRUN true\nFOO bar\n", 3, "Unknown instruction: FOO"),
    ("FROM busybox\n\n# x\nRUN\n", 4, "RUN requires at least one argument"),
    ("FROM busybox\nADD onlyone\n", 2, "ADD requires at least two arguments"),
    ("FROM busybox\nEXPOSE 80 http\n", 2, "Invalid port for EXPOSE: http"),
    ("FROM busybox\nEXPOSE 70000\n", 2, "Invalid port for EXPOSE: 70000"),
    ("FROM a b\n", 1, "FROM requires exactly one argument"),
    ("FROM busybox\nONBUILD ONBUILD RUN x\n", 2, "Chaining ONBUILD"),
    ("FROM busybox\nONBUILD FROM other\n", 2, "FROM isn't allowed as an ONBUILD trigger"),
    ("# only\nRUN echo\n", 2, "Please provide a source image with `FROM` prior to RUN"),
    ("FROM busybox\nUSER a b\n", 2, "USER requires exactly one argument"),
])
def test_errors_name_the_line(text, line, message):
    with pytest.raises(DockerfileError) as info:
        parse(text)
    assert info.value.line == line
    assert f"Dockerfile line {line}: " in str(info.value) and message in str(info.value)


def test_empty_and_binary_dockerfiles():
    with pytest.raises(DockerfileError, match="empty"):
        parse("# nothing\n\n")
    with pytest.raises(DockerfileError, match="NUL"):
        parse("FROM busybox\x00\n")


def test_substitute():
    env = ["A=1", "LONG=x y"]
    assert substitute("$A/${LONG}/$UNSET/\\$A", env) == "1/x y//$A"


def test_config_instructions():
    state = BuildState(config=ContainerConfig(cmd=["sh"]))
    assert apply_config(state, parse_line(1, "ENTRYPOINT /bin/app")) == "ENTRYPOINT [/bin/sh -c /bin/app]"
    assert state.config.cmd is None  # an inherited CMD goes with a new ENTRYPOINT (1.2)
    apply_config(state, parse_line(2, "ENV DIR /srv"))
    apply_config(state, parse_line(3, "WORKDIR $DIR"))
    apply_config(state, parse_line(4, "WORKDIR sub"))
    assert state.config.working_dir == "/srv/sub"
    apply_config(state, parse_line(5, "EXPOSE 80 53/udp"))
    assert state.config.exposed_ports == {"80/tcp": {}, "53/udp": {}}
    apply_config(state, parse_line(6, 'VOLUME ["/data", "/logs"]'))
    assert state.config.volumes == {"/data": {}, "/logs": {}}
    apply_config(state, parse_line(7, "ONBUILD run echo child"))
    assert state.config.on_build == ["RUN echo child"]
    with pytest.raises(DockerfileError, match="must be absolute"):
        apply_config(state, parse_line(8, "VOLUME relative"))


def test_commit_changes():
    config = ContainerConfig(cmd=["sh"], env=["A=1"])
    apply_changes(config, ['CMD ["cat", "/x"]', "ENV A 2", "USER nobody"])
    assert config.cmd == ["cat", "/x"] and config.env == ["A=2"] and config.user == "nobody"
    with pytest.raises(ValueError, match="RUN is not a valid change"):
        apply_changes(config, ["RUN rm -rf /"])
    with pytest.raises(ValueError, match="Unknown instruction"):
        apply_changes(config, ["BOGUS x"])
