"""What a command runs with: the streams, the API client, and the one place that
turns errors into text and exit codes."""

from __future__ import annotations

import io
import os
import sys
TYPE_CHECKING = False  # typing costs ~5 ms at start-up; annotations only need it for checkers
if TYPE_CHECKING:
    from typing import Any, Callable, Iterable, Mapping, TextIO

from pyctr.engine.client.frontend.flags import PROG, UsageError


class CLIError(Exception):
    """A client-side failure with a message for stderr (exit 1 unless `status`)."""

    def __init__(self, message: str, status: int = 1):
        super().__init__(message)
        self.message = message
        self.status = status


class StatusExit(Exception):
    """Exit quietly with `status`: a container's exit code, or errors already printed."""

    def __init__(self, status: int):
        super().__init__(status)
        self.status = status


def describe(exc: BaseException) -> str:
    """The stderr line for an error.

    Daemon errors read "Error response from daemon: <message>", as today's docker
    prints them (Docker 1.2 printed the bare response body)."""
    from pyctr.engine.client.errors import APIError

    if isinstance(exc, APIError):
        return f"Error response from daemon: {exc.message}"
    if isinstance(exc, CLIError):
        return exc.message
    return str(exc) or type(exc).__name__


def exit_status(exc: BaseException) -> int:
    if isinstance(exc, (CLIError, StatusExit, UsageError)):
        return exc.status
    return 1


class BinaryOut:
    """Bytes to a text stream's buffer, or decoded into a plain text stream (tests)."""

    def __init__(self, text: TextIO):
        self._text = text
        self._buffer = getattr(text, "buffer", None)

    def write(self, data: bytes) -> int:
        if self._buffer is not None:
            self._text.flush()
            self._buffer.write(data)
        else:
            self._text.write(data.decode("utf-8", "replace"))
        return len(data)

    def flush(self) -> None:
        (self._buffer or self._text).flush()


def _isatty(stream: Any) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


class Context:
    def __init__(self, host: str | None = None, debug: bool = False, stdin: Any = None,
                 stdout: TextIO | None = None, stderr: TextIO | None = None,
                 environ: Mapping[str, str] | None = None, tls: Any = None):
        self.host = host
        self.tls = tls          # a client TLSConfig, or None for plain HTTP
        self.debug = debug
        self.stdin = sys.stdin if stdin is None else stdin
        self.stdout = sys.stdout if stdout is None else stdout
        self.stderr = sys.stderr if stderr is None else stderr
        self.environ = os.environ if environ is None else environ
        self._client = None

    @property
    def client(self):
        if self._client is None:
            from pyctr.engine.client import Client
            from pyctr.engine.client.hosts import resolve

            self._client = Client(resolve(self.host, self.environ), tls=self.tls)
        return self._client

    # --- output -------------------------------------------------------------

    def out(self, text: str) -> None:
        self.stdout.write(text)
        self.stdout.flush()

    def err(self, text: str) -> None:
        self.stderr.write(text)
        self.stderr.flush()

    def report(self, exc: BaseException) -> None:
        self.err(describe(exc) + "\n")

    @property
    def out_bytes(self) -> BinaryOut:
        return BinaryOut(self.stdout)

    @property
    def err_bytes(self) -> BinaryOut:
        return BinaryOut(self.stderr)

    # --- input --------------------------------------------------------------

    @property
    def stdin_bytes(self) -> Any:
        """A binary reader of stdin (its buffer, or stdin itself if already binary)."""
        if isinstance(self.stdin, (io.RawIOBase, io.BufferedIOBase)):
            return self.stdin
        buffer = getattr(self.stdin, "buffer", None)
        if buffer is not None:
            return buffer
        if isinstance(self.stdin, io.StringIO):
            return io.BytesIO(self.stdin.getvalue().encode())
        return self.stdin

    def stdin_fd(self) -> int | None:
        try:
            return self.stdin.fileno()
        except (AttributeError, ValueError, io.UnsupportedOperation):
            return None

    def stdout_fd(self) -> int | None:
        try:
            return self.stdout.fileno()
        except (AttributeError, ValueError, io.UnsupportedOperation):
            return None

    @property
    def stdin_is_tty(self) -> bool:
        return _isatty(self.stdin)

    @property
    def stdout_is_tty(self) -> bool:
        return _isatty(self.stdout)

    # --- helpers ------------------------------------------------------------

    def for_each(self, names: Iterable[str], action: Callable[[str], Any],
                 echo: bool = True) -> int:
        """Apply `action` to each name as docker does for `rm a b c`: report each
        failure, go on, and exit 1 at the end if any failed."""
        failed = False
        for name in names:
            try:
                action(name)
            except Exception as exc:  # noqa: BLE001 - every failure is reported the same way
                if not _reportable(exc):
                    raise
                self.report(exc)
                failed = True
            else:
                if echo:
                    self.out(f"{name}\n")
        return 1 if failed else 0


def _reportable(exc: BaseException) -> bool:
    from pyctr.engine.client.errors import ClientError

    return isinstance(exc, (ClientError, CLIError, OSError, ValueError))


def usage_hint(command: str) -> str:
    return f"See '{PROG} {command} --help'." if command else f"See '{PROG} --help'."
