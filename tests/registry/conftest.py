"""Real registries for the registry tests: one open, one with htpasswd (Basic) auth, one
with token (Bearer) auth behind our token server. Each is stopped at the end."""

from __future__ import annotations

import pytest

from registry.regserver import RegistryProcess
from registry.tokenserver import TokenServer

USERS = {"alice": "secret"}


@pytest.fixture(scope="session")
def open_registry(tmp_path_factory):
    reg = RegistryProcess(str(tmp_path_factory.mktemp("registry-open"))).start()
    yield reg
    reg.stop()


@pytest.fixture(scope="session")
def basic_registry(tmp_path_factory):
    reg = RegistryProcess(str(tmp_path_factory.mktemp("registry-basic")), users=dict(USERS)).start()
    yield reg
    reg.stop()


@pytest.fixture(scope="session")
def token_registry(tmp_path_factory):
    work = tmp_path_factory.mktemp("registry-token")
    with TokenServer(str(work / "token"), dict(USERS)) as tokens:
        reg = RegistryProcess(str(work / "registry"), token=tokens.registry_auth()).start()
        reg.tokens = tokens
        yield reg
        reg.stop()
