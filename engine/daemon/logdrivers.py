"""Log drivers (HostConfig.LogConfig): which ones pyctr has, their options, where
they write. Each is honoured or refused with a 400 naming it:

- `json-file` (the default): Docker's JSON lines (jsonfile.py); `max-size` rotates the
  file once it reaches that size, keeping `max-file` files in all (the current one
  and max-file - 1 rotated ones: `<log>.1` newest), gzipped with `compress=true`.
- `local`: the same writer with Docker's `local` defaults (20m, 5 files, compressed),
  under the container's `local-logs/`. Docker's local driver keeps a binary format of
  its own; its files are not an interface, so pyctr keeps JSON lines there too.
- `none`: nothing is kept; `logs` answers as Docker's does (501).
Other drivers (syslog, journald, gelf, fluentd, ...) would send logs off the host, or
need services pyctr does not have: refused at create.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..api.config import LogConfig
from ..errors import BadRequest
from .jsonfile import LogWriter

if TYPE_CHECKING:
    from .container_record import ContainerRecord

DRIVERS = ("json-file", "local", "none")
OPTIONS = ("max-size", "max-file", "compress")
LOCAL_DEFAULTS = {"max-size": "20m", "max-file": "5", "compress": "true"}
NOT_READABLE = "configured logging driver does not support reading"

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgtp]?)(i?b)?\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class LogOptions:
    driver: str = "json-file"
    max_size: int = 0        # bytes; 0 = never rotate
    max_files: int = 1       # files kept in all, the current one included
    compress: bool = False   # gzip the rotated ones

    @property
    def keeps_logs(self) -> bool:
        return self.driver != "none"


def size_in_bytes(value: str) -> int:
    """Docker's RAMInBytes: "10m" is 10 MiB, "512" bytes, "1.5k" 1536."""
    match = _SIZE.match(value)
    if not match:
        raise ValueError(value)
    number, unit = float(match.group(1)), match.group(2).lower()
    return int(number * 1024 ** " kmgtp".index(unit or " "))


def parse(config: LogConfig) -> LogOptions:
    """The options of `config`, or a 400 naming the driver or option that is not honoured."""
    driver = config.type or "json-file"
    if driver not in DRIVERS:
        raise BadRequest(f"logging driver {driver!r} is not supported by pyctr (use json-file, local or none)")
    opts = dict(config.config or {})
    if driver == "none":
        if opts:
            raise BadRequest(f"the none logging driver takes no options (got {', '.join(sorted(opts))})")
        return LogOptions("none")
    for key in opts:
        if key not in OPTIONS:
            raise BadRequest(f"unknown log opt '{key}' for {driver} log driver")
    if driver == "local":
        opts = {**LOCAL_DEFAULTS, **opts}
    try:
        max_size = size_in_bytes(opts["max-size"]) if opts.get("max-size", "-1") != "-1" else 0
    except ValueError:
        raise BadRequest(f"invalid max-size for log driver {driver}: {opts['max-size']!r}") from None
    try:
        max_files = int(opts.get("max-file", "1"))
    except ValueError:
        raise BadRequest(f"invalid max-file for log driver {driver}: {opts['max-file']!r}") from None
    if max_files < 1:
        raise BadRequest("max-file cannot be less than 1")
    if max_files > 1 and not max_size:
        raise BadRequest("max-file cannot be set without max-size")
    value = opts.get("compress", "false").lower()
    if value not in ("true", "false", "1", "0"):
        raise BadRequest(f"invalid compress for log driver {driver}: {opts['compress']!r}")
    compress = value in ("true", "1")
    if compress and (max_files < 2 or not max_size):
        raise BadRequest("compress cannot be true when max-file is less than 2 or max-size is not set")
    return LogOptions(driver, max_size, max_files, compress)


def writer(record: ContainerRecord) -> LogWriter | None:
    """The writer of a container's output, by its log driver (None: none)."""
    options = parse(record.host_config.log_config)
    if not options.keeps_logs or not record.log_path:
        return None
    return LogWriter(record.log_path, options.max_size, options.max_files, options.compress)


def log_path(root: str, container_id: str, options: LogOptions) -> str:
    """Where the container's log goes ("" for none), as Docker lays them out."""
    if options.driver == "none":
        return ""
    if options.driver == "local":
        return os.path.join(root, "local-logs", "container.log")
    return os.path.join(root, f"{container_id}-json.log")
