"""Resource limits and restart policies: what they cost, and how fast a restart reacts.

- `run --rm busybox true` with no limits and with `-m 64m -c 512 --cpuset-cpus 0
  --pids-limit 100` (the difference is what applying limits adds to run latency);
- pyctr only: libcontainer's cgroup create+destroy for one container, in process
  (every v1 hierarchy, the device whitelist, with and without limits);
- restart reaction: a container with `--restart on-failure:1` exits 1; the time
  from its `die` event to the `start` event of its restart (both engines begin
  with a 100 ms back-off, so ~0.1 s of this is policy, the rest is the engine).
"""

from __future__ import annotations

import json
import statistics
import time
import uuid

from engines import BenchContext, Engine, Pyctr, median_time

LIMITS = ("-m", "64m", "-c", "512", "--cpuset-cpus", "0", "--pids-limit", "100")


def run(engine: Engine, ctx: BenchContext) -> dict:
    reps = ctx.reps * 2
    plain = ("run", "--rm", "--net=none", "busybox", "true")
    limited = ("run", "--rm", "--net=none", *LIMITS, "busybox", "true")
    result = {
        "run_rm_true_no_limits_s": median_time(lambda: engine.docker(*plain), reps),
        "run_rm_true_with_limits_s": median_time(lambda: engine.docker(*limited), reps),
    }
    if isinstance(engine, Pyctr):
        result.update(bench_cgroup_setup(reps * 5))
    result["restart_reaction_s"] = bench_restart_reaction(engine, max(3, ctx.reps))
    return result


def bench_cgroup_setup(reps: int) -> dict:
    """libcontainer's cgroups, as the exec driver makes them, under this process's own cgroup."""
    from pyctr.engine.libcontainer import cgroups, devices
    from pyctr.engine.libcontainer.cgroups import CgroupConfig, DeviceRule

    rules = [DeviceRule(*r) for r in devices.DEFAULT_ALLOWED]

    def once(**limits) -> None:
        manager = cgroups.new(CgroupConfig(name="pyctr-bench-" + uuid.uuid4().hex[:12], devices=rules, **limits))
        try:
            manager.create()
        finally:
            manager.destroy()

    return {
        "cgroup_create_destroy_s": median_time(once, reps),
        "cgroup_create_destroy_limits_s": median_time(
            lambda: once(memory=64 << 20, cpu_shares=512, cpuset="0", pids_limit=100), reps),
    }


def bench_restart_reaction(engine: Engine, reps: int) -> float:
    client = engine.client()
    gaps = []
    for _ in range(reps):
        since = time.time()
        body = {"Image": "busybox", "Cmd": ["sh", "-c", "exit 1"], "NetworkDisabled": True,
                "HostConfig": {"NetworkMode": "none",
                               "RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": 1}}}
        cid = client.json("POST", "/containers/create", body=body)["Id"]
        try:
            client.call("POST", f"/containers/{cid}/start")
            _wait_restarted_once(client, cid)
            gaps.append(_die_to_start(client, cid, since))
        finally:
            client.call("DELETE", f"/containers/{cid}", {"force": 1})
    return statistics.median(gaps)


def _wait_restarted_once(client, cid: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info = client.inspect_container(cid)
        state = info["State"]
        if info["RestartCount"] >= 1 and not state["Running"] and not state.get("Restarting"):
            return
        time.sleep(0.02)
    raise RuntimeError(f"container {cid[:12]} was not restarted within {timeout}s")


def _die_to_start(client, cid: str, since: float) -> float:
    """Seconds from the first `die` to the next `start`, from the engine's own event times."""
    params = {"since": f"{since:.9f}", "until": f"{time.time() + 1:.9f}",
              "filters": json.dumps({"container": [cid]})}
    with client.request("GET", "/events", params) as r:
        events = [json.loads(line) for line in r.read().splitlines() if line.strip()]

    def when(event: dict) -> float:
        return event["timeNano"] / 1e9 if event.get("timeNano") else float(event["time"])

    status = lambda e: e.get("status") or e.get("Action")  # noqa: E731
    die = next(when(e) for e in events if status(e) == "die")
    start = next(when(e) for e in events if status(e) == "start" and when(e) >= die)
    return start - die
