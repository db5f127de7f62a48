"""The daemon's event stream (`GET /events`): a bounded history plus live subscribers.

Docker 1.2's events carried status, id, from and time. Today's docker CLI, even
when it speaks v1.14, waits for a container's exit by watching for its `die`
event and reads the exit code from `Actor.Attributes.exitCode` (a v1.22 field),
so every event carries both shapes.
"""

from __future__ import annotations

import asyncio
import collections
import time
from dataclasses import dataclass, field

from ..codec import api


@dataclass(frozen=True)
class Actor:
    id: str = api("ID", default="")
    attributes: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Event:
    # Docker spells the 1.2 fields in lower case.
    status: str = api("status")    # create, start, die, stop, kill, destroy, untag, delete, ...
    id: str = api("id")
    from_: str = api("from", default="")   # the image, for container events
    time: int = api("time", default=0)
    type: str = "container"
    action: str = ""
    actor: Actor = field(default_factory=Actor)
    time_nano: int = api("timeNano", default=0)


@dataclass(frozen=True)
class EventFilter:
    """The `filters` of GET /events: each key matches when any of its values does."""
    containers: frozenset[str] = frozenset()   # ids, id prefixes or names
    images: frozenset[str] = frozenset()
    actions: frozenset[str] = frozenset()
    types: frozenset[str] = frozenset()

    def matches(self, event: Event) -> bool:
        if self.types and event.type not in self.types:
            return False
        if self.actions and event.status not in self.actions:
            return False
        if self.containers:
            if event.type != "container":
                return False
            name = event.actor.attributes.get("name", "")
            if not any(event.id.startswith(c) or c.lstrip("/") == name for c in self.containers):
                return False
        if self.images:
            image = event.from_ if event.type == "container" else event.id
            if not any(image == i or image.startswith(i) or
                       event.actor.attributes.get("image") == i for i in self.images):
                return False
        return True


class EventBus:
    def __init__(self, history: int = 1024) -> None:
        self.history: collections.deque[Event] = collections.deque(maxlen=history)
        self._subscribers: set[asyncio.Queue[Event]] = set()

    def publish(self, status: str, object_id: str, image: str = "", type: str = "container",
                **attributes: str) -> None:
        now = time.time_ns()
        if image:
            attributes.setdefault("image", image)
        event = Event(status, object_id, image, now // 1_000_000_000, type, status,
                      Actor(object_id, attributes), now)
        self.history.append(event)
        for queue in self._subscribers:
            queue.put_nowait(event)

    def subscribe(self) -> asyncio.Queue[Event]:
        queue: asyncio.Queue[Event] = asyncio.Queue()
        self._subscribers.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[Event]) -> None:
        self._subscribers.discard(queue)

    @property
    def listeners(self) -> int:
        return len(self._subscribers)
