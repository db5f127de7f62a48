"""The container's first process (pid 1 of its pid namespace), before and at execve.

Runs in the child the helper forked, already inside the new namespaces and the
cgroup. It builds the filesystem, sets hostname, user and capabilities, tells
the daemon it is ready, waits to be released, then execs the user's command.

Stdlib-only.
"""

from __future__ import annotations

import _signal  # the C module: `signal` imports enum, 5 ms on every container start
import os

from . import capabilities, console, namespaces, rootfs, syscalls, user
from .spec import ContainerSpec, encode_message

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def report(fd: int, **fields) -> None:
    if "error" in fields:
        fields["error"] = str(fields["error"])[:3000]   # stay below PIPE_BUF: atomic write
    try:
        os.write(fd, encode_message(**fields))
    except OSError:
        pass


def run(spec: ContainerSpec) -> None:
    """Never returns: execs the command or exits."""
    try:
        user_error, exec_user, env = _setup(spec)
    except BaseException as e:  # noqa: BLE001 - everything goes back to the daemon
        report(spec.report_fd, error=f"container init: {_describe(e)}")
        os._exit(1)
    report(spec.report_fd, ready=True)
    os.close(spec.report_fd)

    try:
        released = os.read(spec.release_fd, 1)
    except OSError:
        released = b""
    if not released:
        os._exit(1)   # the daemon gave up on us (on_created failed, or it died)
    os.close(spec.release_fd)

    if user_error:
        _fail(user_error, 1)
    try:
        os.chdir(spec.cwd)
    except OSError as e:
        _fail(f"chdir {spec.cwd}: {e.strerror}", 1)
    _exec(spec.args, env)


def _describe(e: BaseException) -> str:
    if isinstance(e, OSError) and e.filename is None and e.strerror and e.args and len(e.args) == 2:
        return e.args[1]
    return str(e) or type(e).__name__


def set_process_limits(oom_score_adj: int, ulimits: list[list]) -> None:
    """--oom-score-adj and --ulimit, for the container's init and each exec (before
    capabilities are dropped: raising a hard limit needs CAP_SYS_RESOURCE)."""
    if oom_score_adj:
        with open("/proc/self/oom_score_adj", "w") as f:
            f.write(str(oom_score_adj))
    if ulimits:
        import resource   # a C module, only on this path (the exec helper imports it early)
        for name, soft, hard in ulimits:
            resource.setrlimit(getattr(resource, "RLIMIT_" + name.upper()), (soft, hard))


def _setup(spec: ContainerSpec) -> tuple[str, user.ExecUser | None, dict[str, str]]:
    if spec.net_mode in ("none", "bridge"):
        namespaces.loopback_up()
    # A keyring of its own: the daemon's session keyring is the host root's (runc does this).
    syscalls.join_session_keyring(spec.id)
    # Still the host's /proc, but its sysctl files answer for the namespaces of the
    # writer: these are the container's own (create let only namespaced ones through).
    for name, value in spec.sysctls:
        try:
            with open("/proc/sys/" + name.replace(".", "/"), "w") as f:
                f.write(value)
        except OSError as e:
            raise OSError(f"sysctl {name}={value}: {e.strerror} (in the container's namespaces)") from None
    set_process_limits(spec.oom_score_adj, spec.ulimits)
    rootfs.prepare(spec)
    rootfs.pivot(spec)
    if not spec.uts_host:
        syscalls.sethostname(spec.hostname)

    env: dict[str, str] = {}
    for item in spec.env:
        k, _, v = item.partition("=")
        env[k] = v
    user_error = ""
    try:
        exec_user = user.lookup(spec.user)
        if spec.group_add:
            exec_user.groups = user.more_groups(exec_user.groups, spec.group_add)
    except user.UnknownUser as e:
        # Reported on the container's stderr with exit 1 after release, as Docker
        # 1.2's dockerinit did, rather than failing the start.
        user_error, exec_user = str(e), None
    if exec_user is not None:
        env.setdefault("HOME", exec_user.home)
    if not os.path.isdir(spec.cwd):
        os.makedirs(spec.cwd, 0o755, exist_ok=True)

    console.become_session_leader()
    if spec.tty:
        console.attach_stdio("/dev/console")

    confine(exec_user, spec.capabilities, spec.seccomp_filter, spec.no_new_privileges)
    return user_error, exec_user, env


def confine(exec_user: user.ExecUser | None, keep_caps: list[int], seccomp_filter: bytes,
            no_new_privileges: bool) -> None:
    """The last steps before execve (shared with `exec`): capabilities, user, seccomp.

    Installing a filter needs CAP_SYS_ADMIN or no_new_privs. Without
    no-new-privileges the filter goes in while the init still holds CAP_SYS_ADMIN,
    before the capabilities are dropped (no_new_privs would also stop setuid
    binaries, which Docker's default allows); with it, as late as possible, after
    the drop (as runc). Either way the syscalls made after it (capset, setuid, the
    read of the release pipe, chdir, execve) are in every profile worth running."""
    if no_new_privileges:
        syscalls.prctl(syscalls.PR_SET_NO_NEW_PRIVS, 1)
    if seccomp_filter and not no_new_privileges:
        syscalls.seccomp_set_filter(seccomp_filter)
    drop_privileges(exec_user, keep_caps)
    if seccomp_filter and no_new_privileges:
        syscalls.seccomp_set_filter(seccomp_filter)


def drop_privileges(exec_user: user.ExecUser | None, keep_caps: list[int]) -> None:
    """Keep only `keep_caps`, then become the user (shared with `exec`)."""
    keep = capabilities.mask(keep_caps)
    capabilities.drop_bounding_set(keep)
    syscalls.prctl(syscalls.PR_CAP_AMBIENT, syscalls.PR_CAP_AMBIENT_CLEAR_ALL)
    if exec_user is not None:
        os.setgroups(exec_user.groups)
        os.setgid(exec_user.gid)
        # setuid to non-zero clears permitted and effective caps (no KEEPCAPS): a
        # non-root user starts with no capabilities, as with Docker.
        os.setuid(exec_user.uid)
    if exec_user is None or exec_user.uid == 0:
        capabilities.set_process_caps(keep)


def _fail(message: str, code: int) -> None:
    try:
        os.write(2, (message + "\n").encode(errors="replace"))
    except OSError:
        pass
    os._exit(code)


def reset_signals() -> None:
    """Every signal to its default, none blocked. Ignored signals survive execve, and
    Python ignores SIGPIPE and SIGXFSZ (a daemon started in the background also has
    SIGINT and SIGQUIT ignored): without this `yes | head` spins forever."""
    for sig in _signal.valid_signals():
        if sig in (_signal.SIGKILL, _signal.SIGSTOP):
            continue
        try:
            if _signal.getsignal(sig) == _signal.SIG_IGN:
                _signal.signal(sig, _signal.SIG_DFL)
        except (OSError, ValueError):
            pass  # real-time signals Python does not manage
    _signal.pthread_sigmask(_signal.SIG_SETMASK, [])


def _exec(args: list[str], env: dict[str, str]) -> None:
    reset_signals()
    name = args[0] if args else ""
    if not name:
        _fail('exec: "": executable file not found in $PATH', 127)
    if "/" in name:
        candidates = [name]
    else:
        candidates = [os.path.join(d or ".", name) for d in env.get("PATH", DEFAULT_PATH).split(":")]
    denied = False
    for path in candidates:
        try:
            os.execve(path, args, env)
        except (FileNotFoundError, NotADirectoryError):
            continue
        except PermissionError:
            denied = True
            continue
        except OSError as e:
            _fail(f'exec: "{name}": {e.strerror}', 126)
    if denied:
        _fail(f'exec: "{name}": permission denied', 126)
    if "/" in name:
        _fail(f'exec: "{name}": stat {name}: no such file or directory', 127)
    _fail(f'exec: "{name}": executable file not found in $PATH', 127)
