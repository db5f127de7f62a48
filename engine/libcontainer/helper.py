"""The helper process: joins the cgroup, unshares, forks the container's init.

Started by the daemon as `python -I -S init.py <spec>` so that the fork happens
in a fresh single-threaded process (forking the threaded daemon is unsafe).
It reports the init's host pid and exits; the init, orphaned, is reparented to
the daemon (a child subreaper), which waits for it.
"""

from __future__ import annotations

import os
import sys

from . import container_init, namespaces, syscalls
from .container_init import report
from .spec import ContainerSpec


def join_cgroup(procs_files: list[str]) -> None:
    """Move this process into the container's cgroup (each hierarchy's cgroup.procs)."""
    pid = str(os.getpid())
    for procs in procs_files:
        with open(procs, "w") as f:
            f.write(pid)


def main(argv: list[str]) -> None:
    spec = ContainerSpec.decode(argv[1])
    # pass_fds made these inheritable; the user's command must not inherit them.
    os.set_inheritable(spec.report_fd, False)
    os.set_inheritable(spec.release_fd, False)
    try:
        join_cgroup(spec.cgroup_procs)
        if spec.net_mode == "container":
            namespaces.join_netns(spec.net_join_pid)
        if spec.pid_join:
            namespaces.join(spec.pid_join, syscalls.CLONE_NEWPID)
        if spec.ipc_join:
            namespaces.join(spec.ipc_join, syscalls.CLONE_NEWIPC)
        syscalls.unshare(namespaces.unshare_flags(
            spec.net_mode, pid_shared=spec.pid_host or bool(spec.pid_join),
            ipc_shared=spec.ipc_host or bool(spec.ipc_join), uts_host=spec.uts_host))
        child = os.fork()
    except BaseException as e:  # noqa: BLE001
        report(spec.report_fd, error=f"helper: {e}")
        os._exit(1)
    if child == 0:
        try:
            container_init.run(spec)
        finally:
            os._exit(1)
    report(spec.report_fd, pid=child)
    os._exit(0)


if __name__ == "__main__":
    main(sys.argv)
