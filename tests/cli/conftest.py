import io

import pytest

from harness import DaemonProcess


class Result:
    def __init__(self, status, out, err):
        self.status, self.out, self.err = status, out, err

    def __repr__(self):
        return f"Result({self.status!r}, out={self.out!r}, err={self.err!r})"


@pytest.fixture
def pyctr(daemon: DaemonProcess):
    """Run `pyctr ARGS` in-process (pyctr's main() with captured streams) against the
    module's real pyctrd (tests/conftest.py's `daemon`, busybox imported)."""
    from pyctr.shell.cli import main

    def run(*args, stdin=b"", environ=None):
        out, err = io.StringIO(), io.StringIO()
        env = {"PYCTR_HOST": daemon.host, "PYCTR_CONFIG": "/nonexistent/pyctrcfg"}
        env.update(environ or {})
        status = main(list(args), stdout=out, stderr=err, stdin=io.BytesIO(stdin), environ=env)
        return Result(status, out.getvalue(), err.getvalue())

    return run
