"""The daemon's event stream (`GET /events`): a journal on disk, a ring of recent
events in memory, and live subscribers.

Docker 1.2's events carried status, id, from and time. Today's docker CLI, even
when it speaks v1.14, waits for a container's exit by watching for its `die`
event and reads the exit code from `Actor.Attributes.exitCode` (a v1.22 field),
so every event carries both shapes.

The journal (`<data-root>/events/events.jsonl`, one JSON event a line, exactly
the line `GET /events` sends) is append-only and rotated: when it passes
JOURNAL_SIZE bytes it becomes `events.jsonl.1` (replacing the previous one), so
at most two files' worth is kept and `--since` reaches back that far, also
across daemon restarts. Each event's `timeNano` is unique and increasing: it
orders the journal and the live stream, so a listener never sees an event
twice or misses one between the two.

A listener's queue holds at most LISTENER_BACKLOG events; one that falls that far
behind is dropped (its stream ends) rather than letting memory grow.
"""

from __future__ import annotations

import asyncio
import collections
import json
import logging
import os
import time
from dataclasses import dataclass, field
from typing import Iterator, Mapping

from ..api.codec import from_api
from ..api.messages import Actor, Event, encode_event
from ..tracing import mark

log = logging.getLogger("pyctr.daemon")

JOURNAL_SIZE = 8 << 20
LISTENER_BACKLOG = 10_000
JOURNAL_NAME = "events.jsonl"


@dataclass(frozen=True)
class Published:
    """An event and its wire form (encoded once, for the journal and every listener)."""
    event: Event
    line: bytes      # JSON + "\n"


# GET /events accepts dockerd's filter names (api/filters.py EVENTS): the swarm ones match no event here.
# Actions that carry a command after a colon ("exec_start: sh"): a bare name matches by prefix.
_PREFIXED_ACTIONS = frozenset({"health_status", "exec_create", "exec_start"})


def _strip_tag(image: str) -> str:
    name = image.split("@", 1)[0]
    head, sep, tag = name.rpartition(":")
    return head if sep and "/" not in tag else name


@dataclass(frozen=True)
class EventFilter:
    """The `filters` of GET /events, as dockerd reads them: every named filter must
    match (AND); within one, any of its values (OR). `label` values all must hold."""
    filters: Mapping[str, frozenset[str]] = field(default_factory=dict)

    def _exact(self, key: str, *sources: str) -> bool:
        wanted = self.filters.get(key)
        return not wanted or any(s in wanted for s in sources)

    def _fuzzy(self, key: str, *sources: str) -> bool:
        """Equal, or the source starts with a value (id prefixes)."""
        wanted = self.filters.get(key)
        return not wanted or any(s and any(s.startswith(w) for w in wanted) for s in sources)

    def _by_name(self, key: str, event: Event) -> bool:
        return self._fuzzy(key, event.actor.id, event.actor.attributes.get("name", ""))

    def _image(self, event: Event) -> bool:
        attributes = event.actor.attributes
        name = attributes.get("name" if event.type == "image" else "image", "")
        return self._exact("image", event.actor.id, name, _strip_tag(event.actor.id), _strip_tag(name))

    def _labels(self, attributes: Mapping[str, str]) -> bool:
        for wanted in self.filters.get("label", ()):
            key, has_value, value = wanted.partition("=")
            if key not in attributes or (has_value and attributes[key] != value):
                return False
        return True

    def _action(self, event: Event) -> bool:
        wanted = self.filters.get("event")
        if wanted and wanted & _PREFIXED_ACTIONS:
            return self._fuzzy("event", event.action)
        return self._exact("event", event.action)

    def matches(self, event: Event) -> bool:
        return (self._action(event) and self._exact("type", event.type)
                and self._exact("scope", event.scope)
                and all(self._by_name(key, event) for key in
                        ("daemon", "container", "plugin", "volume", "network", "node", "service",
                         "secret", "config"))
                and self._image(event) and self._labels(event.actor.attributes))


class Listener:
    """One `GET /events` client's queue of live events, bounded."""

    def __init__(self, backlog: int) -> None:
        self.backlog = backlog
        self.dropped = False
        self._items: collections.deque[Published] = collections.deque()
        self._ready = asyncio.Event()

    def put(self, item: Published) -> None:
        if self.dropped:
            return
        if len(self._items) >= self.backlog:
            self.dropped = True
            self._items.clear()
        else:
            self._items.append(item)
        self._ready.set()

    async def get(self) -> Published | None:
        """The next event; None once dropped."""
        while not self._items:
            if self.dropped:
                return None
            self._ready.clear()
            await self._ready.wait()
        return self._items.popleft()


class Journal:
    """Append-only JSON lines under `directory`, rotated at `limit` bytes."""

    def __init__(self, directory: str, limit: int = JOURNAL_SIZE) -> None:
        os.makedirs(directory, exist_ok=True)
        self.path = os.path.join(directory, JOURNAL_NAME)
        self.limit = limit
        self._file = open(self.path, "ab", buffering=0)
        self._size = self._file.seek(0, os.SEEK_END)

    def append(self, line: bytes) -> None:
        if self._size + len(line) > self.limit and self._size:
            self._file.close()
            os.replace(self.path, self.path + ".1")
            self._file = open(self.path, "ab", buffering=0)
            self._size = 0
        self._file.write(line)   # one write per line: a crash tears at most the last
        self._size += len(line)

    def close(self) -> None:
        self._file.close()

    def read(self) -> Iterator[Event]:
        """Every event kept, oldest first (blocking: call it in a thread)."""
        for path in (self.path + ".1", self.path):
            try:
                with open(path, "rb") as f:
                    for line in f:
                        event = _decode(line)
                        if event is not None:
                            yield event
            except FileNotFoundError:
                continue

    def tail(self, count: int) -> list[Event]:
        """The last `count` events, reading only the end of the files."""
        from .jsonfile import tail_offset
        found: list[Event] = []
        for path in (self.path, self.path + ".1"):
            if len(found) >= count:
                break
            try:
                with open(path, "rb") as f:
                    f.seek(tail_offset(f, count - len(found)))
                    found = [e for e in map(_decode, f) if e is not None] + found
            except FileNotFoundError:
                continue
        return found[-count:] if count else []


def _decode(line: bytes) -> Event | None:
    try:
        return from_api(Event, json.loads(line))
    except (ValueError, TypeError):
        return None  # a line torn by a crash


class EventBus:
    def __init__(self, directory: str | None = None, history: int = 1024,
                 backlog: int = LISTENER_BACKLOG) -> None:
        self.journal = Journal(directory) if directory else None
        past = self.journal.tail(history) if self.journal else []
        self.history: collections.deque[Event] = collections.deque(past, maxlen=history)
        self.last_nano = past[-1].time_nano if past else 0
        self.backlog = backlog
        self._listeners: set[Listener] = set()

    def publish(self, status: str, object_id: str, image: str = "", type: str = "container",
                labels: Mapping[str, str] | None = None, **attributes: str) -> Event:
        """`labels` (the object's, as dockerd adds them) go under the named attributes."""
        # Unique and increasing, also when the clock steps back or two come at once.
        now = max(time.time_ns(), self.last_nano + 1)
        self.last_nano = now
        if image:
            attributes.setdefault("image", image)
        if labels:
            attributes = {**labels, **attributes}
        event = Event(status, object_id, image, now // 1_000_000_000, type, status,
                      Actor(object_id, attributes), now, scope="local")
        item = Published(event, encode_event(event))
        mark("event", action=status, id=object_id[:12])
        self.history.append(event)
        if self.journal is not None:
            try:
                self.journal.append(item.line)
            except OSError as exc:  # a full disk must not stop containers
                log.error("cannot write the events journal: %s", exc)
        for listener in self._listeners:
            listener.put(item)
        return event

    def subscribe(self) -> Listener:
        listener = Listener(self.backlog)
        self._listeners.add(listener)
        return listener

    def unsubscribe(self, listener: Listener) -> None:
        self._listeners.discard(listener)

    async def past(self, since_ns: int, until_ns: int) -> list[Event]:
        """Events published with since_ns <= timeNano <= until_ns (up to now), from
        the ring when it reaches back far enough, else from the journal."""
        ring = list(self.history)
        if ring and (ring[0].time_nano < since_ns or len(ring) < (self.history.maxlen or 0)):
            source = ring
        elif self.journal is not None:
            source = await asyncio.to_thread(lambda: [
                e for e in self.journal.read() if since_ns <= e.time_nano <= until_ns])
        else:
            source = ring
        return [e for e in source if since_ns <= e.time_nano <= until_ns]

    @property
    def listeners(self) -> int:
        return len(self._listeners)

    def close(self) -> None:
        if self.journal is not None:
            self.journal.close()
