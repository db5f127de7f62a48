"""What pyctr-shell knows about the daemon without asking it while you type:
containers, images, version and the running count, for completion and the toolbar.

A background thread follows GET /events and, after each burst of events,
refreshes the cache from /containers/json and /images/json (a second thread,
so a slow refresh never holds up reading events). When the daemon is down the
cache says so and the watcher retries. Readers get the last snapshot at once;
the completer (which runs in its own thread) may ask for a fresh one when a
command has run since the last refresh."""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass, field
from typing import Callable

from pyctr.engine.client import Client, ClientError
from pyctr.engine.api.records import ContainerSummary, ImageSummary
from pyctr.engine.client.streams import json_messages

FETCH_TIMEOUT = 5.0  # seconds: a wedged daemon must not wedge completion forever
RETRY_MIN, RETRY_MAX = 0.5, 5.0


@dataclass
class Snapshot:
    reachable: bool | None = None  # None: not asked yet
    version: str = ""
    error: str = ""
    containers: list[ContainerSummary] = field(default_factory=list)
    images: list[ImageSummary] = field(default_factory=list)

    @property
    def running(self) -> int:
        return sum(1 for c in self.containers if c.status.startswith("Up"))


class DaemonState:
    def __init__(self, host_url: str):
        self.host_url = host_url
        self._client = Client(host_url, timeout=FETCH_TIMEOUT)
        self._lock = threading.Lock()
        self._refresh_lock = threading.Lock()
        self._snapshot = Snapshot()
        self._dirty = True
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._listeners: list[Callable[[], None]] = []
        self._events_resp = None
        self._threads: list[threading.Thread] = []

    # --- reading ------------------------------------------------------------

    def snapshot(self) -> Snapshot:
        """The cached state; never does I/O."""
        with self._lock:
            return self._snapshot

    def fresh(self) -> Snapshot:
        """The state, refreshed first if anything may have changed (does I/O)."""
        if self._dirty:
            self.refresh()
        return self.snapshot()

    def mark_dirty(self) -> None:
        self._dirty = True
        self._wake.set()

    def on_change(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)

    # --- refreshing -----------------------------------------------------------

    def refresh(self) -> None:
        with self._refresh_lock:
            self._dirty = False
            old = self.snapshot()
            try:
                version = old.version if old.reachable else self._client.version_info().version
                containers = self._client.containers(all=True)
                images = self._client.images()
            except (ClientError, OSError, ValueError) as exc:
                self._dirty = True
                new = Snapshot(False, "", str(exc) or type(exc).__name__)
            else:
                new = Snapshot(True, version, "", containers, images)
            with self._lock:
                self._snapshot = new
        self._notify()

    def _notify(self) -> None:
        for listener in self._listeners:
            try:
                listener()
            except Exception:  # noqa: BLE001 - a display hook must not kill the watcher
                pass

    # --- background -----------------------------------------------------------

    def start(self) -> None:
        for target, name in ((self._refresher, "pyctr-shell-refresh"),
                             (self._watch_events, "pyctr-shell-events")):
            thread = threading.Thread(target=target, name=name, daemon=True)
            thread.start()
            self._threads.append(thread)
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        resp = self._events_resp
        sock = getattr(getattr(resp, "_conn", None), "sock", None)
        if sock is not None:
            # shutdown, not close: it wakes the watcher's blocked read, while
            # closing the response would wait for the lock that read holds.
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for thread in self._threads:
            thread.join(0.5)

    def _refresher(self) -> None:
        while not self._stop.is_set():
            self._wake.wait()
            if self._stop.is_set():
                return
            self._stop.wait(0.05)  # let a burst of events (create, start) arrive first
            self._wake.clear()
            self.refresh()

    def _watch_events(self) -> None:
        delay = RETRY_MIN
        events_client = Client(self.host_url)  # no timeout: the stream is quiet for long spells
        while not self._stop.is_set():
            try:
                resp = events_client.events()
                self._events_resp = resp
                self.mark_dirty()  # (re)connected: whatever happened meanwhile
                delay = RETRY_MIN
                for _ in json_messages(resp.chunks()):
                    self.mark_dirty()
            except Exception:  # noqa: BLE001 - refused, reset, closed by stop(): all mean retry
                pass
            finally:
                self._events_resp = None
            if self._stop.is_set():
                return
            # The stream ended or never started: the daemon is down (or restarting).
            self.mark_dirty()
            self._stop.wait(delay)
            delay = min(delay * 2, RETRY_MAX)
