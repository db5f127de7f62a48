"""The `filters` query parameter of the Engine API: one definition for the
server (parsing, validating, matching) and for clients (encoding).

On the wire a filter set is a JSON object from a filter name to its values, in
one of two forms: the list form of the old API (`{"label": ["a=b"]}`) or the map
form that clients send since API 1.22 (`{"label": {"a=b": true}}`). One request
uses one form for all its names, as dockerd decodes it (first as maps, then as
lists); anything else is refused. As in dockerd, a map entry's boolean does not
matter: its key is the value.

Refusals are 400s (`FilterError`) worded as dockerd 20.10 (API 1.41) words them,
where clients match on the text; dockerd answers some bad values with a 500 of
Go's parser errors, which we answer as 400s that name the filter instead.
"""

from __future__ import annotations

import datetime
import json
import re
from dataclasses import dataclass, field
from typing import Iterable, Mapping

from ..errors import BadRequest
from ..pathmatch import PatternError, go_pattern
from .versions import APIVersion

# The filter names each endpoint accepts (dockerd 20.10).
CONTAINER_LIST = frozenset({"ancestor", "before", "expose", "exited", "health", "id", "isolation",
                            "is-task", "label", "name", "network", "publish", "since", "status",
                            "volume"})
IMAGE_LIST = frozenset({"before", "dangling", "label", "reference", "since"})
CONTAINER_PRUNE = frozenset({"label", "label!", "until"})
IMAGE_PRUNE = frozenset({"dangling", "label", "label!", "until"})
NETWORK_LIST = frozenset({"dangling", "driver", "id", "label", "name", "scope", "type"})
NETWORK_PRUNE = frozenset({"label", "label!", "until"})
EVENTS = frozenset({"config", "container", "daemon", "event", "image", "label", "network", "node",
                    "plugin", "scope", "secret", "service", "type", "volume"})

CONTAINER_STATES = ("created", "restarting", "running", "removing", "paused", "exited", "dead")
HEALTH_STATES = ("starting", "healthy", "unhealthy", "none")

# Before API 1.22 the daemon only read the list form.
MAP_FORM_SINCE = APIVersion("1.22")


class FilterError(BadRequest):
    """A filter set that cannot be applied: 400, nothing is changed."""


def _go_kind(value: object) -> str:
    """The JSON kind as Go's decoder names it in its errors."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _go_values(values: Iterable[str]) -> str:
    """A value list as Go's `%s` prints a []string: `[a b]`."""
    return "[" + " ".join(values) + "]"


@dataclass(frozen=True)
class Filters:
    """A parsed filter set: each name's values, in the order given, without repeats."""
    fields: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    # --- building -------------------------------------------------------
    @classmethod
    def of(cls, mapping: Mapping[str, Iterable[str] | str] | None = None, **more: Iterable[str] | str) -> Filters:
        """From Python values: `Filters.of({"label": ["a=b"]}, status="exited")`."""
        fields: dict[str, tuple[str, ...]] = {}
        for name, values in {**(mapping or {}), **more}.items():
            values = [values] if isinstance(values, str) else list(values)
            fields[name] = tuple(dict.fromkeys(str(v) for v in values))
        return cls(fields)

    @classmethod
    def parse(cls, text: str | None) -> Filters:
        """The `filters` query parameter, in either form; an empty one filters nothing."""
        if text is None or not text.strip():
            return cls()
        try:
            raw = json.loads(text)
        except RecursionError:   # a hostile "[[[[..." is a bad request, not a crash
            raise FilterError("invalid filters: not JSON: nested too deeply") from None
        except ValueError as exc:
            raise FilterError(f"invalid filters: not JSON: {exc}") from None
        if raw is None:
            return cls()
        if not isinstance(raw, dict):
            raise FilterError(f"json: cannot unmarshal {_go_kind(raw)} into Go value of type "
                              "map[string]map[string]bool")
        map_error = cls._map_form_error(raw)
        if map_error is None:
            return cls({name: tuple(values or {}) for name, values in raw.items()})
        if all(values is None or (isinstance(values, list) and all(isinstance(v, str) for v in values))
               for values in raw.values()):
            return cls({name: tuple(dict.fromkeys(values or [])) for name, values in raw.items()})
        raise FilterError(map_error)

    @staticmethod
    def _map_form_error(raw: dict) -> str | None:
        for values in raw.values():
            if values is None:
                continue
            if not isinstance(values, dict):
                return f"json: cannot unmarshal {_go_kind(values)} into Go value of type map[string]bool"
            for flag in values.values():
                if not isinstance(flag, bool):
                    return f"json: cannot unmarshal {_go_kind(flag)} into Go value of type bool"
        return None

    # --- encoding (clients) ---------------------------------------------
    def to_json(self, version: APIVersion | str | None = None) -> str:
        """The query parameter: the map form, or the list form for a daemon older than 1.22."""
        if version is not None and APIVersion(str(version)) < MAP_FORM_SINCE:
            return json.dumps({name: list(values) for name, values in self.fields.items()})
        return json.dumps({name: {v: True for v in values} for name, values in self.fields.items()})

    # --- reading --------------------------------------------------------
    def __bool__(self) -> bool:
        return bool(self.fields)

    def __contains__(self, name: str) -> bool:
        return name in self.fields

    def get(self, name: str) -> tuple[str, ...]:
        return self.fields.get(name, ())

    def validate(self, accepted: Iterable[str]) -> Filters:
        """Refuses a name the endpoint does not know (dockerd: "Invalid filter 'x'")."""
        accepted = frozenset(accepted)
        for name in self.fields:
            if name not in accepted:
                raise FilterError(f"Invalid filter '{name}'")
        return self

    def boolean(self, name: str) -> bool | None:
        """A true/false filter (`dangling`, `is-task`); None when absent. Both, neither or
        anything else: "Invalid filter 'dangling=[maybe]'"."""
        if name not in self.fields:
            return None
        values = set(self.get(name))
        is_true, is_false = bool(values & {"true", "1"}), bool(values & {"false", "0"})
        if is_true == is_false or values - {"true", "1", "false", "0"}:
            raise FilterError(f"Invalid filter '{name}={_go_values(self.get(name))}'")
        return is_true

    def one_of(self, name: str, allowed: Iterable[str]) -> tuple[str, ...]:
        """Values that must come from a fixed set (`status`): "Invalid filter 'status=x'"."""
        allowed = tuple(allowed)
        for value in self.get(name):
            if value not in allowed:
                raise FilterError(f"Invalid filter '{name}={value}'")
        return self.get(name)

    def integers(self, name: str) -> tuple[int, ...]:
        values = []
        for value in self.get(name):
            try:
                values.append(int(value, 10))
            except ValueError:
                raise FilterError(f"Invalid filter '{name}={value}': not an integer") from None
        return tuple(values)

    def single(self, name: str) -> str | None:
        """A filter that takes one value (`until`, `before`, `since`)."""
        values = self.get(name)
        if len(values) > 1:
            raise FilterError(f"more than one {name} filter specified")
        return values[0] if values else None

    # --- matching -------------------------------------------------------
    def matches_exactly(self, name: str, value: str) -> bool:
        """True when the filter is absent or one of its values is `value`."""
        values = self.get(name)
        return not values or value in values

    def matches_pattern(self, name: str, *sources: str) -> bool:
        """dockerd's `Match`: an exact value, or a regular expression found anywhere in
        one of `sources` (so `name=web` lists `my-web-1`); absent: True."""
        values = self.get(name)
        if not values:
            return True
        for value in values:
            for source in sources:
                if value == source:
                    return True
                try:
                    if re.search(value, source):
                        return True
                except re.error:
                    continue
        return False

    def matches_labels(self, labels: Mapping[str, str] | None, name: str = "label") -> bool:
        """Every value must hold: `key` (present) or `key=value` (present with that value)."""
        labels = labels or {}
        for wanted in self.get(name):
            key, has_value, value = wanted.partition("=")
            if key not in labels or (has_value and labels[key] != value):
                return False
        return True

    def matches_prune_labels(self, labels: Mapping[str, str] | None) -> bool:
        """Prune's `label` (all must hold) and `label!` (not all of them may hold)."""
        if not self.matches_labels(labels):
            return False
        return not ("label!" in self.fields and self.matches_labels(labels, "label!"))


# --- values of particular filters -------------------------------------------

@dataclass(frozen=True)
class PortFilter:
    """`publish`/`expose` values: a port or a range, with an optional protocol."""
    ports: frozenset[tuple[int, str]]

    @classmethod
    def parse(cls, name: str, values: Iterable[str]) -> PortFilter:
        ports: set[tuple[int, str]] = set()
        for value in values:
            port_text, _, proto = value.partition("/")
            start_text, dash, end_text = port_text.partition("-")
            try:
                start = int(start_text, 10)
                end = int(end_text, 10) if dash else start
            except ValueError:
                raise FilterError(f"error while looking up for {name} {value}: "
                                  "not a port or a port range") from None
            if not (0 < start <= end <= 65535):
                raise FilterError(f"error while looking up for {name} {value}: invalid port range")
            ports.update((p, (proto or "tcp").lower()) for p in range(start, end + 1))
        return cls(frozenset(ports))

    def matches(self, container_ports: Iterable[str]) -> bool:
        """Whether one of Docker's "80/tcp" keys is among the filter's ports."""
        for key in container_ports:
            port, _, proto = key.partition("/")
            if port.isdigit() and (int(port), proto or "tcp") in self.ports:
                return True
        return False


def reference_pattern(pattern: str) -> re.Pattern[str]:
    """A `reference` filter as Go's path.Match reads it (engine/pathmatch.py);
    a malformed one is a 400."""
    try:
        return go_pattern(pattern)
    except PatternError as exc:
        raise FilterError(str(exc)) from None


_DURATION = re.compile(r"([0-9]*\.?[0-9]+)(ns|us|µs|ms|s|m|h)")
_DURATION_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_TIME_FORMATS = ("%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S.%f",
                 "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M", "%Y-%m-%d%z", "%Y-%m-%d")


def _duration_seconds(text: str) -> float | None:
    """Go's time.ParseDuration ("24h", "1h30m", "-10m"); None when it is not one."""
    sign, body = (-1.0, text[1:]) if text.startswith("-") else (1.0, text.lstrip("+"))
    if not body or body == "0":
        return 0.0 if body == "0" else None
    total, pos = 0.0, 0
    for match in _DURATION.finditer(body):
        if match.start() != pos:
            return None
        total += float(match.group(1)) * _DURATION_UNITS[match.group(2)]
        pos = match.end()
    return sign * total if pos == len(body) else None


def timestamp(value: str, now: float) -> float:
    """An `until`/`since` value as Unix seconds, as dockerd reads it: a duration back
    from `now`, Unix seconds ("1500000000.5"), or an RFC 3339 date or time (local
    time when it has no zone)."""
    text = value.strip()
    duration = _duration_seconds(text)
    if duration is not None:
        return now - duration
    if re.fullmatch(r"[0-9]+(\.[0-9]+)?", text):
        return float(text)
    candidate = text[:-1] + "+00:00" if text.endswith("Z") else text
    for fmt in _TIME_FORMATS:
        try:
            parsed = datetime.datetime.strptime(candidate, fmt)
        except ValueError:
            continue
        if parsed.tzinfo is None:
            parsed = parsed.astimezone()  # local time, as dockerd reads a time without a zone
        return parsed.timestamp()
    raise FilterError(f'failed to parse value as time or duration: "{value}"')


def reference_matches(patterns: Iterable[re.Pattern[str]], reference: str) -> bool:
    """dockerd's FamiliarMatch: a pattern matches `name:tag` whole, or its name alone."""
    last = reference.rsplit("/", 1)[-1]
    name = reference[:len(reference) - len(last)] + last.split(":", 1)[0].split("@", 1)[0]
    return any(p.match(reference) or p.match(name) for p in patterns)
