"""The exec helper: runs another process in a running container (`docker exec`).

Started like the container helper (`python -I -S init.py exec <spec>`): it joins
the container's cgroup and namespaces, forks (a pid namespace applies to
children only), reports the child's host pid and exits. The child, now inside
the container, takes the user and capabilities and execs the command. Its
stdio (pipes or a pty slave) are the helper's, passed by the daemon.

Stdlib-only.
"""

from __future__ import annotations

import fcntl  # imported before setns: the container's filesystem has no Python modules
import marshal
import os
import resource  # noqa: F401 - before setns, for set_process_limits (a C module)
import sys

from . import console, syscalls, user
from .container_init import _describe, _exec, _fail, confine, report, set_process_limits
from .helper import join_cgroup
from .spec import _Record

# setns order: the mount namespace last, since it changes what /proc paths mean.
NAMESPACES = (("ipc", syscalls.CLONE_NEWIPC), ("uts", syscalls.CLONE_NEWUTS),
              ("net", syscalls.CLONE_NEWNET), ("pid", syscalls.CLONE_NEWPID),
              ("mnt", syscalls.CLONE_NEWNS))


class ExecSpec(_Record):
    __slots__ = ("container_pid", "args", "env", "cwd", "user", "tty", "capabilities",
                 "cgroup_procs", "report_fd", "container_id", "seccomp_filter", "no_new_privileges",
                 "ulimits", "oom_score_adj", "group_add")
    container_pid: int         # the container's init, whose namespaces we join
    args: list[str]
    env: list[str]
    cwd: str
    user: str
    tty: bool                  # stdio is a pty slave: make it the controlling terminal
    capabilities: list[int]
    cgroup_procs: list[str]
    report_fd: int
    container_id: str          # names the process's own session keyring
    _default_container_id = str
    seccomp_filter: bytes      # the container's seccomp program (b"" = none)
    _default_seccomp_filter = bytes
    no_new_privileges: bool
    _default_no_new_privileges = bool
    ulimits: list[list]        # the container's: [name, soft, hard]
    _default_ulimits = list
    oom_score_adj: int
    _default_oom_score_adj = int
    group_add: list[str]       # the container's more groups (names or gids)
    _default_group_add = list

    def encode(self) -> str:
        return marshal.dumps(self.to_plain()).hex()

    @classmethod
    def decode(cls, text: str) -> "ExecSpec":
        return cls(**marshal.loads(bytes.fromhex(text)))


def main(argv: list[str]) -> None:
    spec = ExecSpec.decode(argv[2])
    os.set_inheritable(spec.report_fd, False)
    try:
        join_cgroup(spec.cgroup_procs)
        fds = [(os.open(f"/proc/{spec.container_pid}/ns/{name}", os.O_RDONLY | os.O_CLOEXEC), flag)
               for name, flag in NAMESPACES]
        for fd, flag in fds:
            syscalls.setns(fd, flag)
            os.close(fd)
        child = os.fork()
    except BaseException as e:  # noqa: BLE001 - everything goes back to the daemon
        report(spec.report_fd, error=f"exec: {_describe(e)}")
        os._exit(1)
    if child == 0:
        try:
            _run(spec)
        except BaseException as e:  # noqa: BLE001 - the reason goes to the process's stderr
            _fail(f"exec: {_describe(e)}", 126)
        finally:
            os._exit(126)
    report(spec.report_fd, pid=child, ready=True)
    os._exit(0)


def _run(spec: ExecSpec) -> None:
    # Not the daemon's (the host root's) keyring, as runc's exec.
    syscalls.join_session_keyring(f"_ses.{spec.container_id}")
    console.become_session_leader()
    if spec.tty:
        fcntl.ioctl(0, console.TIOCSCTTY, 0)
    env = dict(item.partition("=")[::2] for item in spec.env)
    try:
        exec_user = user.lookup(spec.user)
        if spec.group_add:
            exec_user.groups = user.more_groups(exec_user.groups, spec.group_add)
    except user.UnknownUser as e:
        _fail(str(e), 126)
    env.setdefault("HOME", exec_user.home)
    set_process_limits(spec.oom_score_adj, spec.ulimits)
    confine(exec_user, spec.capabilities, spec.seccomp_filter, spec.no_new_privileges)
    try:
        os.chdir(spec.cwd or "/")
    except OSError as e:
        _fail(f"chdir {spec.cwd}: {e.strerror}", 126)
    _exec(spec.args, env)


if __name__ == "__main__":
    main(sys.argv)
