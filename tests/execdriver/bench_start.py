"""Start latency of the native driver: run() to execve, median of N starts of /bin/true.

Not a test (no timed assertions in tests); run it as root:
    .venv/bin/python tests/execdriver/bench_start.py [N]

"to execve" is measured as the time from calling run() to the release byte that
lets the container init execve (on_created is the last step before it), plus the
whole run() to exit for comparison.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from rootfs import make_busybox_rootfs  # noqa: E402

from pyctr.engine.execdriver.driver import Command, Confinement, ProcessConfig, Stdio  # noqa: E402
from pyctr.engine.execdriver.native import NativeDriver  # noqa: E402


async def main(n: int) -> None:
    """Alternates starts with Docker's default seccomp profile and without
    (seccomp=unconfined), so both see the same machine load."""
    with tempfile.TemporaryDirectory() as tmp:
        rootfs = make_busybox_rootfs(os.path.join(tmp, "rootfs"))
        driver = NativeDriver(root=os.path.join(tmp, "state"))
        modes = {"default seccomp profile": Confinement(),
                 "seccomp=unconfined": Confinement(seccomp_profile="unconfined")}
        to_exec: dict[str, list[float]] = {m: [] for m in modes}
        total: dict[str, list[float]] = {m: [] for m in modes}
        for i in range(n + 1):
            for mode, confinement in modes.items():
                cmd = Command(id=f"{i:062x}{list(modes).index(mode):02x}",
                              rootfs=rootfs, hostname="bench", confinement=confinement,
                              process=ProcessConfig(args=["/bin/true"], env=["PATH=/bin"]))
                t0 = time.perf_counter()
                created_at = []

                async def created(sp, created_at=created_at):
                    created_at.append(time.perf_counter())

                status = await driver.run(cmd, Stdio(), created)
                t1 = time.perf_counter()
                assert status.exit_code == 0
                if i:   # the first start warms the page cache (and compiles the profile once)
                    to_exec[mode].append((created_at[0] - t0) * 1000)
                    total[mode].append((t1 - t0) * 1000)
        for mode in modes:
            print(f"{n} starts of /bin/true, {mode}: run()->release for execve median "
                  f"{statistics.median(to_exec[mode]):.1f} ms (min {min(to_exec[mode]):.1f}), "
                  f"run() until exit reaped median {statistics.median(total[mode]):.1f} ms")


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 20))
