import io
import tempfile

import pytest

from .fakedaemon import FakeDaemon


@pytest.fixture
def daemon():
    # AF_UNIX paths are limited to ~108 bytes: pytest's tmp_path can be longer.
    with tempfile.TemporaryDirectory(prefix="pyctr-cli-") as directory:
        with FakeDaemon(directory) as d:
            yield d


class Result:
    def __init__(self, status, out, err):
        self.status, self.out, self.err = status, out, err

    def __repr__(self):
        return f"Result({self.status!r}, out={self.out!r}, err={self.err!r})"


@pytest.fixture
def pyctr(daemon):
    """Run `pyctr ARGS` in-process against the fake daemon."""
    from pyctr.shell.cli import main

    def run(*args, stdin=b"", environ=None):
        out, err = io.StringIO(), io.StringIO()
        env = {"PYCTR_HOST": daemon.url, "PYCTR_CONFIG": "/nonexistent/pyctrcfg"}
        env.update(environ or {})
        status = main(list(args), stdout=out, stderr=err, stdin=io.BytesIO(stdin), environ=env)
        return Result(status, out.getvalue(), err.getvalue())

    return run
