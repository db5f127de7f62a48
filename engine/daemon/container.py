"""A container as the running daemon holds it: its persisted record plus what only
exists while pyctrd runs (the monitor task, the output broadcaster, stdin)."""

from __future__ import annotations

import asyncio
import datetime
import functools
import os

from .jsonfile import LogWriter
from .spool import Spool
from .container_record import ContainerRecord, ZERO_TIME
from .streams import Broadcaster, ProcessIO


@functools.lru_cache(maxsize=8192)   # `ps` parses each container's times at every listing
def parse_time(value: str) -> datetime.datetime | None:
    if not value or value == ZERO_TIME:
        return None
    value = value.rstrip("Z")
    if "." in value:  # Python parses at most microseconds
        head, frac = value.split(".", 1)
        value = f"{head}.{frac[:6]}"
    return datetime.datetime.fromisoformat(value).replace(tzinfo=datetime.timezone.utc)


def human_duration(seconds: float) -> str:
    """Docker's wording for `ps` status ("Up 3 minutes", "About an hour")."""
    if seconds < 1:
        return "Less than a second"
    if seconds < 60:
        return "1 second" if int(seconds) == 1 else f"{int(seconds)} seconds"
    minutes = seconds / 60
    if minutes < 60:
        return "About a minute" if int(minutes) == 1 else f"{int(minutes)} minutes"
    hours = minutes / 60
    if hours < 48:
        return "About an hour" if int(hours) == 1 else f"{int(hours)} hours"
    days = hours / 24
    if days < 14:
        return f"{int(days)} days"
    if days < 90:
        return f"{int(days / 7)} weeks"
    if days < 730:
        return f"{int(days / 30)} months"
    return f"{int(days / 365)} years"


class Container:
    def __init__(self, record: ContainerRecord, root: str) -> None:
        self.record = record
        self.root = root                    # <data_root>/containers/<id>
        self.lock = asyncio.Lock()          # start/stop/rm one at a time
        self.output = Broadcaster()
        self.log: LogWriter | None = None
        self.spools: dict[str, Spool] = {}   # its output on the way to the log (spool.py)
        self.io: ProcessIO | None = None    # the streams of the current (or last) run
        self.monitor: asyncio.Task | None = None
        self.stopped = asyncio.Event()      # set whenever not running
        self.started = asyncio.Event()      # set while running (stdin may be written)
        self.stop_requested = False         # a user stop/kill: no restart policy
        self.health_task: asyncio.Task | None = None   # the healthcheck's probes (health.py)
        self.restart_task: asyncio.Task | None = None  # a restart waiting out its back-off
        self.backoff = 0.0                  # the last restart delay, seconds
        self.removed = asyncio.Event()      # set once `rm` has taken it out of the daemon
        if record.state.running:
            self.started.set()
        else:
            self.stopped.set()

    @property
    def id(self) -> str:
        return self.record.id

    @property
    def name(self) -> str:
        return self.record.name

    @property
    def running(self) -> bool:
        return self.record.state.running

    def path(self, *parts: str) -> str:
        return os.path.join(self.root, *parts)

    def status(self, now: datetime.datetime | None = None) -> str:
        """The STATUS column of `ps`."""
        now = now or datetime.datetime.now(datetime.timezone.utc)
        state = self.record.state
        if state.running:
            started = parse_time(state.started_at) or now
            text = f"Up {human_duration((now - started).total_seconds())}"
            if state.paused:
                return text + " (Paused)"
            if state.health is not None:   # as Docker: "(health: starting)", "(healthy)"
                status = state.health.status
                return text + (f" (health: {status})" if status == "starting" else f" ({status})")
            return text
        if state.restarting:
            finished = parse_time(state.finished_at) or now
            return f"Restarting ({state.exit_code}) {human_duration((now - finished).total_seconds())} ago"
        finished = parse_time(state.finished_at)
        if finished is None:
            return ""  # created, never started
        return f"Exited ({state.exit_code}) {human_duration((now - finished).total_seconds())} ago"
