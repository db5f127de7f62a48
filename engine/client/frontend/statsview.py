"""`stats` as the docker CLI shows it: one row per container reading, with the
CLI's own arithmetic (CPU % from the pre-reading, memory without the inactive
page cache) and its units, as pure functions the CLI (and later the TUI) share."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Sequence


HEADERS = {"ID": "CONTAINER ID", "Container": "CONTAINER", "Name": "NAME", "CPUPerc": "CPU %",
           "MemUsage": "MEM USAGE / LIMIT", "MemPerc": "MEM %", "NetIO": "NET I/O",
           "BlockIO": "BLOCK I/O", "PIDs": "PIDS"}
DEFAULT_TABLE = "table {{.ID}}\t{{.Name}}\t{{.CPUPerc}}\t{{.MemUsage}}\t{{.MemPerc}}\t{{.NetIO}}\t{{.BlockIO}}\t{{.PIDs}}"

_BINARY = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"]
_DECIMAL = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"]


def _scaled(size: float, base: float, units: Sequence[str], digits: int) -> str:
    # go-units' CustomSize: divide while >= base, then %.<digits>g
    i = 0
    while size >= base and i < len(units) - 1:
        size /= base
        i += 1
    return f"{size:.{digits}g}{units[i]}"


def bytes_size(size: float) -> str:
    """go-units BytesSize: binary units, 4 significant digits ("376KiB", "7.681GiB")."""
    return _scaled(size, 1024.0, _BINARY, 4)


def human_size3(size: float) -> str:
    """go-units HumanSizeWithPrecision(size, 3): decimal units ("1.23kB", "0B")."""
    return _scaled(size, 1000.0, _DECIMAL, 3)


@dataclass(frozen=True)
class StatsRow:
    """The fields `--format` may name, with docker's names and text."""
    Container: str
    ID: str
    Name: str
    CPUPerc: str
    MemUsage: str
    MemPerc: str
    NetIO: str
    BlockIO: str
    PIDs: str


def _num(value: Any) -> float:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else 0.0


def cpu_percent(reading: Mapping[str, Any]) -> float:
    cpu = reading.get("cpu_stats") or {}
    pre = reading.get("precpu_stats") or {}
    cpu_delta = _num((cpu.get("cpu_usage") or {}).get("total_usage")) - \
        _num((pre.get("cpu_usage") or {}).get("total_usage"))
    system_delta = _num(cpu.get("system_cpu_usage")) - _num(pre.get("system_cpu_usage"))
    online = _num(cpu.get("online_cpus")) or float(len((cpu.get("cpu_usage") or {}).get("percpu_usage") or []))
    if system_delta > 0 and cpu_delta > 0:
        return cpu_delta / system_delta * online * 100.0
    return 0.0


def memory_used(memory: Mapping[str, Any]) -> float:
    """Usage without the inactive page cache (cgroup v1 total_inactive_file, v2 inactive_file)."""
    usage = _num(memory.get("usage"))
    stats = memory.get("stats") or {}
    for key in ("total_inactive_file", "inactive_file"):
        if key in stats:
            inactive = _num(stats[key])
            return usage - inactive if inactive < usage else usage
    return usage


def row(container: str, reading: Mapping[str, Any]) -> StatsRow:
    """The row for one reading; `container` is the name or id the user gave (or the id)."""
    memory = reading.get("memory_stats") or {}
    used, limit = memory_used(memory), _num(memory.get("limit"))
    rx = sum(_num(n.get("rx_bytes")) for n in (reading.get("networks") or {}).values())
    tx = sum(_num(n.get("tx_bytes")) for n in (reading.get("networks") or {}).values())
    read = write = 0.0
    for entry in (reading.get("blkio_stats") or {}).get("io_service_bytes_recursive") or []:
        op = str(entry.get("op", "")).lower()
        if op == "read":
            read += _num(entry.get("value"))
        elif op == "write":
            write += _num(entry.get("value"))
    name = str(reading.get("name") or "")
    return StatsRow(
        Container=container, ID=str(reading.get("id") or ""),
        Name=name[1:] if len(name) > 1 else "--",
        CPUPerc=f"{cpu_percent(reading):.2f}%",
        MemUsage=f"{bytes_size(used)} / {bytes_size(limit)}",
        MemPerc=f"{(used / limit * 100.0 if limit else 0.0):.2f}%",
        NetIO=f"{human_size3(rx)} / {human_size3(tx)}",
        BlockIO=f"{human_size3(read)} / {human_size3(write)}",
        PIDs=str(int(_num((reading.get("pids_stats") or {}).get("current")))))

