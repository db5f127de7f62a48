"""Exec drivers broken in one clause each of the interface, to show that the
conformance suite fails them (test_conformance_catches_broken.py)."""

from __future__ import annotations

from pyctr.engine.execdriver.driver import ExitStatus
from pyctr.engine.execdriver.native import NativeDriver
from pyctr.engine.libcontainer.cgroups import CgroupUsage


class ForgetsExitCodes(NativeDriver):
    """Reports every run as a success."""

    async def run(self, cmd, stdio, on_created):
        status = await super().run(cmd, stdio, on_created)
        return ExitStatus(exit_code=0, oom_killed=status.oom_killed)


class StatsReadNothing(NativeDriver):
    """Answers stats with an empty reading instead of the cgroup's counters."""

    def stats(self, container_id):
        super().stats(container_id)   # still refuses a container that is not running
        return CgroupUsage()


class PauseIgnored(NativeDriver):
    """Accepts pause and unpause but freezes nothing."""

    def pause(self, container_id):
        self.pids(container_id)

    def unpause(self, container_id):
        self.pids(container_id)
