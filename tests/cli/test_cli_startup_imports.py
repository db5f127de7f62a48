"""The CLI's start-up import budget (issue 24): `pyctr --version`, `--help` of a
command and a usage error load the grammar alone, never the HTTP client, TLS or the
wire model behind it. Not a timing: the modules that must not be imported, and a
bound on how many of pyctr's own are. The wall times are in bench/cli_startup.py."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

# Each costs milliseconds to tens of them, and none is needed before a daemon is asked.
FORBIDDEN = ["http", "ssl", "email", "certifi", "socket", "dataclasses", "datetime", "platform",
             "pyctr.engine.client.api", "pyctr.engine.client.connection", "pyctr.engine.client.models",
             "pyctr.engine.api", "pyctr.shell.render", "pyctr.shell.context"]
MAX_OWN_MODULES = 8  # 6 when this test was written: cli, flags, text and their packages

PROBE = """
import io, json, sys
from pyctr.shell import cli
out, err = io.StringIO(), io.StringIO()
code = cli.main(json.loads(sys.argv[1]), stdout=out, stderr=err)
print(json.dumps({"code": code, "out": out.getvalue(), "modules": sorted(sys.modules)}))
"""


def probe(argv: list[str], extra: str = "", env: dict | None = None) -> dict:
    import os

    result = subprocess.run([sys.executable, "-c", PROBE.replace("print(", extra + "\nprint(", 1),
                             json.dumps(argv)], capture_output=True, text=True, check=True,
                            env={**os.environ, **(env or {})})
    return json.loads(result.stdout)


def interpreter_modules() -> set[str]:
    """What the bare interpreter has loaded (site hooks of this environment), not ours to cut."""
    result = subprocess.run([sys.executable, "-c", "import json, sys; print(json.dumps(sorted(sys.modules)))"],
                            capture_output=True, text=True, check=True)
    return set(json.loads(result.stdout))


def eager(modules: list[str]) -> list[str]:
    baseline = interpreter_modules()
    return [m for m in modules if m not in baseline
            and any(m == f or m.startswith(f + ".") for f in FORBIDDEN)]


@pytest.mark.parametrize("argv", [["--version"], ["-v"], ["--nosuchflag"]])
def test_version_flag_stays_within_budget(argv):
    seen = probe(argv)
    assert seen["code"] == (0 if argv != ["--nosuchflag"] else 2)
    assert eager(seen["modules"]) == [], f"imported for pyctr {argv}: {eager(seen['modules'])}"
    own = [m for m in seen["modules"] if m.startswith("pyctr.")]
    assert len(own) <= MAX_OWN_MODULES, own


def test_the_budget_catches_an_eager_import():
    """The probe sees what a module drags in: making a client shows up."""
    seen = probe(["--version"], extra="from pyctr.engine.client import Client")
    assert "http.client" in seen["modules"] and "pyctr.engine.client.api" in eager(seen["modules"])


def test_the_client_package_still_exports_its_names():
    import pyctr.engine.client as client

    assert client.Client.__name__ == "Client" and client.API_VERSION == "1.14"
    assert issubclass(client.APIError, client.ClientError)
    with pytest.raises(AttributeError):
        client.NoSuchName  # noqa: B018


# `pyctr version` asks the daemon: over a unix socket it does so without http.client,
# ssl, the wire model, and without typing, json's pure-Python half (re, enum) or socket.py.
VERSION_FORBIDDEN = [m for m in FORBIDDEN if m != "pyctr.shell.context"] + [  # a command runs in a Context
    "typing", "json", "re", "enum", "socket", "pyctr.engine.client.endpoints"]


def test_version_against_a_daemon_stays_within_budget(daemon):
    """Against a real pyctrd: the server's lines, asked without the client's modules."""
    seen = probe(["version"], env={"PYCTR_HOST": daemon.host})
    assert seen["code"] == 0, seen
    server = daemon.client().json("GET", "/version")
    assert seen["out"].startswith("Client version: ")
    assert f"Server version: {server['Version']}\nServer API version: {server['ApiVersion']}\n" in seen["out"]
    baseline = interpreter_modules()
    eager_ones = [m for m in seen["modules"] if m not in baseline
                  and any(m == f or m.startswith(f + ".") for f in VERSION_FORBIDDEN)]
    assert eager_ones == [], f"imported for pyctr version: {eager_ones}"


def test_version_falls_back_to_the_client_for_its_errors(tmp_path):
    """What the short path does not take (here a socket nobody listens on) is asked again
    through Client, which reports it as every verb does."""
    import socket

    path = str(tmp_path / "dead.sock")
    with socket.socket(socket.AF_UNIX) as s:
        s.bind(path)   # a socket file that refuses connections: a daemon that went away
    seen = probe(["version"], env={"PYCTR_HOST": f"unix://{path}"})
    assert seen["code"] == 1 and seen["out"].startswith("Client version: ")
    assert "pyctr.engine.client.api" in seen["modules"]   # the full client answered
