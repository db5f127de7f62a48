"""Healthchecks (Config.Healthcheck, the image's HEALTHCHECK, `--health-*`): a probe
run inside the running container every interval, as an exec of its own; its results
make `State.Health` (status, failing streak, the last five probes) and, when the
status changes, a `health_status: <status>` event. As Docker:

- `starting` until the first success; failures inside the start period do not
  count, after it `retries` failures in a row make it `unhealthy`;
- a probe that outlives its timeout is killed and counts as a failure;
- the health is part of the container's record, so it survives a daemon restart,
  and a live-restored container's probes go on with the new daemon.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
import signal
import time
from typing import TYPE_CHECKING

from ..api.config import ContainerConfig, HealthConfig
from ..errors import BadRequest
from ..execdriver.driver import ExecError, ProcessConfig, StartedProcess, Stdio
from ..graph.graph import now_rfc3339
from . import security
from .container_record import Health, HealthResult

if TYPE_CHECKING:
    from .container import Container
    from .daemon import Daemon

log = logging.getLogger("pyctr.daemon")

SECOND = 1_000_000_000
DEFAULT_INTERVAL = 30 * SECOND
DEFAULT_TIMEOUT = 30 * SECOND
DEFAULT_RETRIES = 3
MINIMUM = 1_000_000            # 1ms, Docker's MinimumDuration
KEPT_RESULTS = 5               # probes kept in State.Health.Log
MAX_OUTPUT = 4096              # bytes of a probe's output kept

STARTING, HEALTHY, UNHEALTHY = "starting", "healthy", "unhealthy"

# The probes under way, by container id (stop() ends them).
_probes: dict[str, set[asyncio.Future]] = {}


def check(config: ContainerConfig) -> None:
    """Docker's 400s for a healthcheck it would not run."""
    hc = config.healthcheck
    if hc is None:
        return
    for name, value in (("Interval", hc.interval), ("Timeout", hc.timeout), ("StartPeriod", hc.start_period)):
        if value and value < MINIMUM:
            raise BadRequest(f"{name} in Healthcheck cannot be less than 1ms")
    if (hc.retries or 0) < 0:
        raise BadRequest("Retries in Healthcheck cannot be negative")
    test = hc.test or []
    if test and test[0] not in ("NONE", "CMD", "CMD-SHELL"):
        raise BadRequest(f"unknown Healthcheck type {test[0]!r} (use NONE, CMD or CMD-SHELL)")
    if test and test[0] in ("CMD", "CMD-SHELL") and len(test) < 2:
        raise BadRequest(f"Healthcheck {test[0]} needs a command")


def merge(user: HealthConfig | None, image: HealthConfig | None) -> HealthConfig | None:
    """The user's healthcheck over the image's: what the user left zero comes from it."""
    if image is None:
        return user
    if user is None:
        return HealthConfig(test=list(image.test or []) or None, interval=image.interval,
                            timeout=image.timeout, retries=image.retries, start_period=image.start_period)
    return HealthConfig(test=user.test or image.test, interval=user.interval or image.interval,
                        timeout=user.timeout or image.timeout, retries=user.retries or image.retries,
                        start_period=user.start_period or image.start_period)


def probe_argv(hc: HealthConfig | None) -> list[str] | None:
    """The probe's argv, or None when the container has no healthcheck."""
    test = (hc.test or []) if hc is not None else []
    if not test or test[0] == "NONE":
        return None
    if test[0] == "CMD-SHELL":
        return ["/bin/sh", "-c", " ".join(test[1:])]
    return list(test[1:])


def status_of(container: Container) -> str:
    """The `health` filter's value: "none" without a healthcheck."""
    health = container.record.state.health
    return health.status if health is not None else "none"


def started(daemon: Daemon, container: Container, previous: Health | None) -> None:
    """The container runs (a start, or a restart): health `starting` again, the old
    probes' log kept, and the probe loop on."""
    if probe_argv(container.record.config.healthcheck) is None:
        container.record.state.health = None
        return
    container.record.state.health = Health(STARTING, 0, list(previous.log) if previous else [])
    resume(daemon, container)


def resume(daemon: Daemon, container: Container) -> None:
    """Run the probes of a running container (also one adopted by a new daemon, whose
    health is the old daemon's)."""
    hc = container.record.config.healthcheck
    if probe_argv(hc) is None or container.record.state.health is None:
        return
    stop(container)
    container.health_task = asyncio.create_task(_probe_loop(daemon, container))


def stop(container: Container) -> list[asyncio.Future]:
    """No more probes; one under way is ended too (its exec killed), so that nothing of
    it is left in the cgroup the container's exit is about to remove. Returns what was
    cancelled, for a caller that must see it done (a daemon leaving)."""
    cancelled = []
    task = getattr(container, "health_task", None)
    if task is not None:
        task.cancel()
        cancelled.append(task)
        container.health_task = None
    for probe in _probes.pop(container.id, set()):
        probe.cancel()
        cancelled.append(probe)
    return cancelled


async def _probe_loop(daemon: Daemon, container: Container) -> None:
    hc = container.record.config.healthcheck
    assert hc is not None
    interval = (hc.interval or DEFAULT_INTERVAL) / SECOND
    timeout = (hc.timeout or DEFAULT_TIMEOUT) / SECOND
    retries = hc.retries or DEFAULT_RETRIES
    start_period = (hc.start_period or 0) / SECOND
    began = time.monotonic()
    try:
        while container.running:
            await asyncio.sleep(interval)
            if not container.running:
                return
            if container.record.state.paused:
                continue   # as Docker: no probe of a frozen container
            result = await _probe(daemon, container, probe_argv(hc) or [], timeout)
            if not container.running:
                return
            _record(daemon, container, result, retries, time.monotonic() - began < start_period)
    except asyncio.CancelledError:
        raise
    except Exception:  # a broken probe loop must not take the daemon with it
        log.exception("healthcheck of %s failed", container.id[:12])


def _record(daemon: Daemon, container: Container, result: HealthResult, retries: int,
            in_start_period: bool) -> None:
    health = container.record.state.health
    if health is None:
        return
    before = health.status
    health.log = (health.log + [result])[-KEPT_RESULTS:]
    if result.exit_code == 0:
        health.status, health.failing_streak = HEALTHY, 0
    elif not (in_start_period and health.status == STARTING):
        health.failing_streak += 1
        if health.failing_streak >= retries:
            health.status = UNHEALTHY
    daemon.save(container)
    if health.status != before:
        daemon.container_event(container, f"health_status: {health.status}")


async def _probe(daemon: Daemon, container: Container, argv: list[str], timeout: float) -> HealthResult:
    """One probe: an exec in the container with its output (stdout and stderr, as one)
    captured; killed after `timeout`."""
    config = container.record.config
    env = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", *(config.env or [])]
    process = ProcessConfig(args=argv, env=env, cwd=config.working_dir or "/", user=config.user)
    command = security.exec_command(container.id, container.record.host_config, process)
    read_end, write_end = os.pipe2(os.O_CLOEXEC)
    result = HealthResult(start=now_rfc3339())
    pid: list[int] = []
    # A probe is an exec, and says so in the events as Docker's do (an id of its own).
    exec_id, label = secrets.token_hex(32), " ".join(argv)
    daemon.container_event(container, f"exec_create: {label}", execID=exec_id)

    probe_runs = asyncio.Event()

    def on_started(p: StartedProcess) -> None:
        pid.append(p.pid)
        probe_runs.set()
        daemon.container_event(container, f"exec_start: {label}", execID=exec_id)
        os.close(write_end)   # the probe has it now: EOF once it and its children are gone

    output = bytearray()
    loop = asyncio.get_running_loop()
    os.set_blocking(read_end, False)
    eof = loop.create_future()

    def readable() -> None:
        try:
            data = os.read(read_end, 65536)
        except BlockingIOError:
            return
        if not data:
            loop.remove_reader(read_end)
            eof.done() or eof.set_result(None)
            return
        if len(output) < MAX_OUTPUT:
            output.extend(data[:MAX_OUTPUT - len(output)])

    loop.add_reader(read_end, readable)
    running = asyncio.ensure_future(
        daemon.execdriver.exec(command, Stdio(stdout=write_end, stderr=write_end), on_started))
    _probes.setdefault(container.id, set()).add(running)
    running.add_done_callback(lambda done: _probes.get(container.id, set()).discard(done))
    try:
        try:
            status = await asyncio.wait_for(asyncio.shield(running), timeout)
            result.exit_code = status.exit_code
            await asyncio.wait_for(eof, 1)   # what is left in the pipe
        except asyncio.TimeoutError:
            if not running.done():
                # A start slower than the timeout (a loaded host): kill it once it runs.
                runs = asyncio.ensure_future(probe_runs.wait())
                await asyncio.wait([runs, running], return_when=asyncio.FIRST_COMPLETED)
                runs.cancel()
                for p in pid:
                    try:
                        os.kill(p, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                await asyncio.gather(running, return_exceptions=True)
                result.exit_code = -1
                output[:] = f"Health check exceeded timeout ({_seconds(timeout)})".encode()
    except ExecError as exc:
        result.exit_code = -1
        output[:] = f"healthcheck could not run: {exc}".encode()
    finally:
        if not pid:
            try:
                os.close(write_end)
            except OSError:
                pass
        loop.remove_reader(read_end)
        os.close(read_end)
    if pid and running.done() and not running.cancelled() and running.exception() is None:
        daemon.container_event(container, "exec_die", execID=exec_id,
                               exitCode=str(running.result().exit_code))
    result.end = now_rfc3339()
    result.output = output.decode(errors="replace")
    return result


def _seconds(value: float) -> str:
    """A duration as Go prints it ("30s", "1.5s", "500ms")."""
    if value >= 1:
        return f"{value:g}s"
    return f"{value * 1000:g}ms"
