"""Fixtures of the pyctr-shell tests on real ptys: the terminals and the containers
a test makes, closed and removed whatever happens."""

from __future__ import annotations

import pytest

from ptyterm import Terminal, shell_env


@pytest.fixture
def term_for(tmp_path):
    """Start pyctr-shell on a pty against a daemon address (more arguments: a script
    and its arguments); waits for the prompt unless `prompt=False`."""
    terms: list[Terminal] = []

    def start(host: str, *args: str, prompt: bool = True) -> Terminal:
        term = Terminal(list(args), shell_env(host, str(tmp_path / "home")))
        terms.append(term)
        if prompt:
            term.prompt()
        return term

    yield start
    for term in terms:
        term.close()


@pytest.fixture
def cleanup(daemon):
    """Names of containers the test makes: removed (forced) at its end."""
    names: list[str] = []
    yield names
    client = daemon.client()
    for name in names:
        try:
            client.remove_container(name, force=True)
        except Exception:
            pass
