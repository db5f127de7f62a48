"""`top`: the processes of a running container, as the host's `ps` shows them."""

from __future__ import annotations

import asyncio
import shlex
from typing import TYPE_CHECKING

from ..errors import BadRequest, Conflict
from ..jobs import Job
from .args import ContainerTop
from ..api.records import ProcessList

if TYPE_CHECKING:
    from .daemon import Daemon


async def container_top(daemon: Daemon, job: Job[ContainerTop]) -> ProcessList:
    """Run the host's `ps` and keep the container's processes (Docker 1.2's way)."""
    args = job.args
    container = daemon.lookup(args.name)
    if not container.running:
        raise Conflict(f"Container {args.name} is not running")
    pids = set(await asyncio.to_thread(daemon.execdriver.pids, container.id))
    try:
        ps_args = shlex.split(args.ps_args or "-ef")
    except ValueError as exc:
        raise BadRequest(f"Invalid ps arguments: {exc}") from None
    proc = await asyncio.create_subprocess_exec(
        "ps", *ps_args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await proc.communicate()
    if proc.returncode != 0:   # the arguments are the client's: ps refusing them is a bad request
        raise BadRequest(f"Error running ps {args.ps_args}: {err.decode(errors='replace').strip() or proc.returncode}")
    lines = out.decode(errors="replace").splitlines()
    if not lines:
        raise BadRequest(f"ps {args.ps_args} printed nothing")
    titles = lines[0].split()
    if "PID" not in titles:
        raise BadRequest(f"Couldn't find PID field in ps output ({args.ps_args})")
    pid_col = titles.index("PID")
    processes = []
    for line in lines[1:]:
        fields = line.split(None, len(titles) - 1)
        if len(fields) > pid_col and fields[pid_col].isdigit() and int(fields[pid_col]) in pids:
            processes.append(fields)
    return ProcessList(titles, processes)
