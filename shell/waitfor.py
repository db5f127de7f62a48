"""`wait-for`: a pyctr-shell builtin that waits until a container is ready.

    wait-for healthy CONTAINER [--timeout DURATION]     its healthcheck says healthy
    wait-for log CONTAINER TEXT [--timeout DURATION]    TEXT appears in its output (stdout or stderr)
    wait-for port CONTAINER PORT [--timeout DURATION]   something in it accepts TCP on PORT

Exit status 0 once it holds, 1 with a message when the timeout passes or the
container stops first (it can no longer become ready), 2 for bad usage.
DURATION is seconds (`30`, `1.5`) or a Go duration (`500ms`, `30s`, `2m`);
the default is 60s. Ctrl-C ends the wait (status 130)."""

from __future__ import annotations

import re
import socket
import time
from typing import Any

from pyctr.engine.client.api import MODERN_API_VERSION
from pyctr.engine.client.endpoints import quote_name
from pyctr.engine.client.errors import ClientError

USAGE = ("Usage: wait-for healthy CONTAINER [--timeout DURATION]\n"
         "       wait-for log CONTAINER TEXT [--timeout DURATION]\n"
         "       wait-for port CONTAINER PORT [--timeout DURATION]\n")
DEFAULT_TIMEOUT = 60.0
POLL = 0.1  # between two looks at the container's state (inspect, a connect)
_DURATION = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ms|s|m|h)?")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, None: 1.0}


class WaitFailed(Exception):
    pass


def parse_duration(text: str) -> float:
    match = _DURATION.fullmatch(text)
    if not match:
        raise ValueError(f"invalid duration {text!r} (seconds, or like 500ms, 30s, 2m)")
    return float(match.group(1)) * _UNITS[match.group(2)]


def wait_for(shell: Any, args: list[str], streams: Any) -> int:
    positional: list[str] = []
    timeout = DEFAULT_TIMEOUT
    rest = list(args)
    try:
        while rest:
            arg = rest.pop(0)
            if arg in ("-h", "--help"):
                shell.out(USAGE, streams)
                return 0
            if arg == "--timeout" or arg == "-t":
                if not rest:
                    raise ValueError(f"{arg} needs a duration")
                timeout = parse_duration(rest.pop(0))
            elif arg.startswith("--timeout="):
                timeout = parse_duration(arg.partition("=")[2])
            elif arg.startswith("-") and arg != "-":
                raise ValueError(f"unknown flag {arg}")
            else:
                positional.append(arg)
        needed = {"healthy": 2, "log": 3, "port": 3}
        if not positional or positional[0] not in needed:
            raise ValueError("what to wait for: healthy, log or port")
        if len(positional) != needed[positional[0]]:
            raise ValueError(f"'{positional[0]}' takes {needed[positional[0]] - 1} argument(s)")
        if positional[0] == "port" and not (positional[2].isdigit() and 0 < int(positional[2]) < 65536):
            raise ValueError(f"invalid port {positional[2]!r}")
    except ValueError as exc:
        shell.error(f"wait-for: {exc}", None, streams)
        shell.err(USAGE, streams)
        return 2
    client = shell.ctx.plain_client
    deadline = time.monotonic() + timeout
    what, name = positional[0], positional[1]
    try:
        if what == "healthy":
            _healthy(client, name, deadline)
        elif what == "log":
            _log(client, name, positional[2], deadline)
        else:
            _port(client, name, int(positional[2]), deadline)
    except WaitFailed as exc:
        shell.error(f"wait-for {what}: {exc}", None, streams)
        return 1
    except ClientError as exc:
        from .context import describe

        shell.err(describe(exc) + "\n", streams)
        return 1
    return 0


def _inspect(client: Any, name: str) -> dict:
    # Asked at v1.41: State.Health is younger than the client's default version.
    return client.json("GET", f"/containers/{quote_name(name)}/json", version=MODERN_API_VERSION) or {}


def _seconds(timeout_at: float, started: float) -> str:
    return f"{round(timeout_at - started, 3):g}s"


def _healthy(client: Any, name: str, deadline: float) -> None:
    started = time.monotonic()
    while True:
        state = _inspect(client, name).get("State") or {}
        health = state.get("Health")
        if health is None:
            raise WaitFailed(f"{name} has no healthcheck")
        if health.get("Status") == "healthy":
            return
        if not state.get("Running"):
            raise WaitFailed(f"{name} is not running (exit code {state.get('ExitCode', 0)})")
        if time.monotonic() >= deadline:
            raise WaitFailed(f"{name} was still {health.get('Status') or 'starting'} "
                             f"after {_seconds(deadline, started)}")
        time.sleep(min(POLL, max(0.0, deadline - time.monotonic())))


def _log(client: Any, name: str, text: str, deadline: float) -> None:
    """Follow the logs from the start; the socket's timeout is what is left of the wait."""
    from pyctr.engine.client.streams import Demuxer

    started = time.monotonic()
    tty = bool((_inspect(client, name).get("Config") or {}).get("Tty"))
    needle = text.encode()
    with client.logs(name, follow=True) as resp:
        sock = resp._conn.sock
        demuxer = Demuxer()
        seen = {1: b"", 2: b""}
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise WaitFailed(f"{text!r} not in the logs of {name} after {_seconds(deadline, started)}")
            sock.settimeout(left)
            try:
                data = resp.read(32768)
            except (socket.timeout, TimeoutError):
                continue
            if not data:
                raise WaitFailed(f"{name} stopped without logging {text!r}")
            pieces = [(1, data)] if tty else demuxer.feed(data)
            for stream, payload in pieces:
                key = 2 if stream == 2 else 1
                seen[key] = seen[key][-len(needle):] + payload  # the text may span two reads
                if needle in seen[key]:
                    return


def _addresses(info: dict) -> list[str]:
    settings = info.get("NetworkSettings") or {}
    found = [n.get("IPAddress") for n in (settings.get("Networks") or {}).values()]
    found.append(settings.get("IPAddress"))
    mode = (info.get("HostConfig") or {}).get("NetworkMode") or ""
    if mode == "host":
        found.append("127.0.0.1")
    return [a for i, a in enumerate(found) if a and a not in found[:i]]


def _port(client: Any, name: str, port: int, deadline: float) -> None:
    """Connect to the container's own address (its bridge IP), as a client in
    another container would; a host-network container is reached on 127.0.0.1."""
    started = time.monotonic()
    while True:
        info = _inspect(client, name)
        state = info.get("State") or {}
        if not state.get("Running"):
            raise WaitFailed(f"{name} is not running (exit code {state.get('ExitCode', 0)})")
        addresses = _addresses(info)
        if not addresses:
            raise WaitFailed(f"{name} has no address to connect to (network mode "
                             f"{(info.get('HostConfig') or {}).get('NetworkMode') or 'none'})")
        for address in addresses:
            try:
                with socket.create_connection((address, port), timeout=max(0.05, min(
                        1.0, deadline - time.monotonic()))):
                    return
            except OSError:
                pass
        if time.monotonic() >= deadline:
            raise WaitFailed(f"nothing accepted connections on {name} port {port} "
                             f"after {_seconds(deadline, started)}")
        time.sleep(min(POLL, max(0.0, deadline - time.monotonic())))
