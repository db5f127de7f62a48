"""What the TUI holds about containers: one `ContainerRow` per container, built
from a `GET /containers/json` summary at (re)connection, then kept current one
container at a time from `inspect` as events arrive — never by re-listing."""

from __future__ import annotations

import datetime
import time
from dataclasses import dataclass, field

from pyctr.engine.api.records import ContainerSummary, PortSummary
from pyctr.engine.client.frontend.text import display_ports, human_duration

ZERO_TIME = "0001-01-01T00:00:00Z"
PROJECT_LABEL = "com.docker.compose.project"
SERVICE_LABEL = "com.docker.compose.service"
# Events that change nothing the list shows (the rest make it re-read one container).
QUIET_EVENTS = {"attach", "detach", "resize", "commit", "export", "top", "exec_create",
                "exec_start", "exec_die", "copy"}


def parse_time(value: str) -> float:
    """An RFC 3339 time from inspect as unix seconds (0 for Go's zero time)."""
    if not value or value.startswith("0001-01-01"):
        return 0.0
    value = value.rstrip("Z")
    head, _, frac = value.partition(".")
    plain = head.split("+")[0]
    stamp = datetime.datetime.fromisoformat(plain).replace(tzinfo=datetime.timezone.utc)
    return stamp.timestamp() + (float("0." + frac[:9]) if frac.isdigit() else 0.0)


_UNITS = {"second": 1, "minute": 60, "hour": 3600, "day": 86400, "week": 7 * 86400,
          "month": 30 * 86400, "year": 365 * 86400}


def duration_of(text: str) -> float:
    """Seconds from Docker's human duration ("3 minutes", "About an hour"): the
    inverse of `human_duration`, as exact as the words allow."""
    text = text.replace("About a minute", "1 minute").replace("About an hour", "1 hour")
    words = text.replace("Less than a", "0").split()
    if len(words) >= 2 and words[0].isdigit():
        unit = words[1].rstrip("s")
        return int(words[0]) * _UNITS.get(unit, 1)
    return 0.0


@dataclass
class ContainerRow:
    id: str
    name: str
    image: str
    command: str
    created: int
    state: str              # running, paused, restarting, exited, created
    since: float = 0.0      # started (running) or finished (exited) at, unix seconds
    exit_code: int = 0
    ports: str = ""
    tty: bool | None = None  # None: not known yet (summaries do not say)
    cpu: list[float] = field(default_factory=list)   # recent CPU %, newest last
    memory: int = 0
    labels: dict[str, str] = field(default_factory=dict)
    port_urls: list[str] = field(default_factory=list)   # http://IP:PORT of published TCP ports

    @property
    def project(self) -> str:
        """The compose project (docker-compose's label), "" for a container of none."""
        return self.labels.get(PROJECT_LABEL, "")

    @property
    def service(self) -> str:
        return self.labels.get(SERVICE_LABEL, "")

    @property
    def short_id(self) -> str:
        return self.id[:12]

    @property
    def running(self) -> bool:
        return self.state in ("running", "paused")

    def status(self, now: float | None = None) -> str:
        """The STATUS column of `ps`, worked out now (so it never goes stale)."""
        now = time.time() if now is None else now
        ago = human_duration(max(0.0, now - self.since))
        if self.state == "running":
            return f"Up {ago}"
        if self.state == "paused":
            return f"Up {ago} (Paused)"
        if self.state == "restarting":
            return f"Restarting ({self.exit_code}) {ago} ago"
        if self.state == "exited":
            return f"Exited ({self.exit_code}) {ago} ago"
        return ""

    def matches(self, text: str) -> bool:
        text = text.lower()
        return not text or any(text in s.lower() for s in
                               (self.id[:12], self.name, self.image, self.command, self.state))

    @classmethod
    def from_summary(cls, summary: ContainerSummary, now: float | None = None) -> "ContainerRow":
        now = time.time() if now is None else now
        status, exit_code = summary.status, 0
        if status.startswith("Up"):
            state = "paused" if "(Paused)" in status else "running"
            since = now - duration_of(status[3:].replace("(Paused)", ""))
        elif status.startswith(("Restarting", "Exited")):
            state = "restarting" if status.startswith("Restarting") else "exited"
            code, _, rest = status.partition("(")[2].partition(")")
            exit_code = int(code) if code.lstrip("-").isdigit() else 0
            since = now - duration_of(rest.strip().removesuffix("ago"))
        else:
            state, since = "created", 0.0
        names = [n.lstrip("/") for n in summary.names if n.count("/") == 1]
        return cls(summary.id, names[0] if names else "", summary.image, summary.command,
                   summary.created, state, since, exit_code, display_ports(summary.ports),
                   labels=dict(summary.labels or {}), port_urls=port_urls(summary.ports))

    @classmethod
    def from_inspect(cls, data: dict) -> "ContainerRow":
        s = data.get("State") or {}
        config = data.get("Config") or {}
        finished = parse_time(s.get("FinishedAt", ""))
        if s.get("Running"):
            state = "paused" if s.get("Paused") else "running"
            since = parse_time(s.get("StartedAt", ""))
        elif s.get("Restarting"):
            state, since = "restarting", finished
        elif finished:
            state, since = "exited", finished
        else:
            state, since = "created", 0.0
        command = " ".join([data.get("Path") or ""] + list(data.get("Args") or [])).strip()
        ports = []
        for spec, bindings in ((data.get("NetworkSettings") or {}).get("Ports") or {}).items():
            number, _, proto = spec.partition("/")
            for b in bindings or [{}]:
                ports.append(PortSummary(int(number) if number.isdigit() else 0, type=proto or "tcp",
                                         ip=b.get("HostIp") or "", public_port=int(b.get("HostPort") or 0)))
        return cls(data.get("Id") or "", (data.get("Name") or "").lstrip("/"),
                   config.get("Image") or "", command, int(parse_time(data.get("Created", ""))),
                   state, since, int(s.get("ExitCode") or 0), display_ports(ports),
                   tty=bool(config.get("Tty")), labels=dict(config.get("Labels") or {}),
                   port_urls=port_urls(ports))


def port_urls(ports: list[PortSummary]) -> list[str]:
    """The URL of each published TCP port, as a browser on this host would open it
    (a wildcard binding is reachable at localhost)."""
    urls = []
    for port in ports:
        if port.public_port and (port.type or "tcp") == "tcp":
            host = port.ip if port.ip and port.ip not in ("0.0.0.0", "::") else "localhost"
            host = f"[{host}]" if ":" in host else host
            url = f"http://{host}:{port.public_port}"
            if url not in urls:
                urls.append(url)
    return urls


SPARK = "▁▂▃▄▅▆▇█"


def sparkline(values: list[float], width: int = 8, top: float = 100.0) -> str:
    """The last `width` values as block characters, scaled to `top` (or the max)."""
    values = values[-width:]
    if not values:
        return ""
    scale = max(top, max(values)) or 1.0
    return "".join(SPARK[min(len(SPARK) - 1, int(v / scale * (len(SPARK) - 1) + 0.5))]
                   for v in values).rjust(width)
