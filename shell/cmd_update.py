"""`pyctr update`: change the resources and restart policy of containers, with the
docker CLI's flags, output (each name updated) and errors."""

from __future__ import annotations

import re
from fractions import Fraction

from pyctr.engine.client.frontend.flags import Flag
from pyctr.engine.client.frontend.runflags import SpecError, parse_memory, parse_restart_policy

from .commands import command
from .context import CLIError, Context

# flag dest -> the UpdateConfig field it sets; what the flag's text becomes is in _value
FIELDS = {"blkio_weight": "BlkioWeight", "cpu_period": "CpuPeriod", "cpu_quota": "CpuQuota",
          "cpu_rt_period": "CpuRealtimePeriod", "cpu_rt_runtime": "CpuRealtimeRuntime",
          "cpu_shares": "CpuShares", "cpus": "NanoCpus", "cpuset_cpus": "CpusetCpus",
          "cpuset_mems": "CpusetMems", "kernel_memory": "KernelMemory", "memory": "Memory",
          "memory_reservation": "MemoryReservation", "memory_swap": "MemorySwap",
          "pids_limit": "PidsLimit", "restart": "RestartPolicy"}
BYTES = {"kernel_memory", "memory", "memory_reservation", "memory_swap"}
INTEGERS = {"blkio_weight", "cpu_period", "cpu_quota", "cpu_rt_period", "cpu_rt_runtime",
            "cpu_shares", "pids_limit"}
_DECIMAL = re.compile(r"^[0-9]*\.?[0-9]+$|^[0-9]+\.$")


def _value(dest: str, text: str, flag: str):
    try:
        if dest in BYTES:
            return -1 if dest == "memory_swap" and text == "-1" else parse_memory(text)
        if dest in INTEGERS:
            return int(text, 10)
        if dest == "cpus":
            if not _DECIMAL.match(text):
                raise ValueError
            return int(Fraction(text) * 1_000_000_000)
        if dest == "restart":
            if text in ("no", "unless-stopped"):  # named as given, as docker sends them
                return {"Name": text, "MaximumRetryCount": 0}
            policy = parse_restart_policy(text)
            return {"Name": policy.name, "MaximumRetryCount": policy.maximum_retry_count}
    except SpecError as exc:
        raise CLIError(f'invalid argument "{text}" for "{flag}" flag: {exc}', status=125) from None
    except ValueError:
        raise CLIError(f'invalid argument "{text}" for "{flag}" flag', status=125) from None
    return text


# Strings, so that "given" and "given as 0" differ from "not given" (docker's Changed()).
@command("update", "[OPTIONS] CONTAINER [CONTAINER...]",
         "Update configuration of one or more containers",
         Flag("--blkio-weight", default="", help="Block IO (relative weight), between 10 and 1000, or 0 to disable (default 0)"),
         Flag("--cpu-period", default="", help="Limit CPU CFS (Completely Fair Scheduler) period"),
         Flag("--cpu-quota", default="", help="Limit CPU CFS (Completely Fair Scheduler) quota"),
         Flag("--cpu-rt-period", default="", help="Limit the CPU real-time period in microseconds"),
         Flag("--cpu-rt-runtime", default="", help="Limit the CPU real-time runtime in microseconds"),
         Flag("-c", "--cpu-shares", default="", help="CPU shares (relative weight)"),
         Flag("--cpus", default="", help="Number of CPUs"),
         Flag("--cpuset-cpus", default="", help="CPUs in which to allow execution (0-3, 0,1)"),
         Flag("--cpuset-mems", default="", help="MEMs in which to allow execution (0-3, 0,1)"),
         Flag("--kernel-memory", default="", help="Kernel memory limit (deprecated)"),
         Flag("-m", "--memory", default="", help="Memory limit"),
         Flag("--memory-reservation", default="", help="Memory soft limit"),
         Flag("--memory-swap", default="", help="Swap limit equal to memory plus swap: -1 to enable unlimited swap"),
         Flag("--pids-limit", default="", help="Tune container pids limit (set -1 for unlimited)"),
         Flag("--restart", default="", help="Restart policy to apply when a container exits"),
         min_args=1, max_args=None)
def update(ctx: Context, opts, args) -> int:
    flag_of = {dest: "--" + dest.replace("_", "-") for dest in FIELDS}
    body = {FIELDS[dest]: _value(dest, getattr(opts, dest), flag_of[dest])
            for dest in FIELDS if getattr(opts, dest) != ""}
    if not body:
        raise CLIError("you must provide one or more flags when using this command")
    warnings: list[str] = []
    status = ctx.for_each(args, lambda name: warnings.extend(ctx.client.update(name, body)))
    if warnings:
        ctx.out("\n".join(warnings) + "\n")
    return status
