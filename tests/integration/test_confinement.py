"""Confinement of a container as today's Docker does it (issue 16, point 2): the
default seccomp profile, masked and read-only paths, a session keyring of its own,
the capability sets; and what --privileged, --security-opt and --cap-add change.

The probes run in a busybox image that also holds a small static C program
(data/confine_probe.c, built here with gcc: never committed as a binary). Each
case runs in pyctrd through the real docker CLI and is checked against Docker's
answers written down below; when Debian's dockerd is installed, a private one
(own data root and socket, no bridge, no iptables) runs the same probes in the
same image and must answer the same.
"""

from __future__ import annotations

import ctypes
import json
import os
import shutil
import subprocess
import tarfile

import pytest

from harness import DOCKER, daemon_with_busybox
from private_dockerd import private_dockerd  # noqa: E402
from rootfs import make_busybox_rootfs

from pyctr.engine.client.errors import APIError
from pyctr.engine.libcontainer.capabilities import DOCKER_DEFAULT

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root and a real kernel")

HERE = os.path.dirname(os.path.abspath(__file__))
PROBE_SOURCE = os.path.join(HERE, "data", "confine_probe.c")
DEFAULT_PROFILE = os.path.join(HERE, "..", "..", "engine", "libcontainer", "seccomp_default.json")

MASKED = ("/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
          "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware")
READONLY = ("/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger")

PROBE_SCRIPT = "\n".join([
    "/probe keyctl add_key personality personality_query unshare_user unshare_mount mkdir",
    "unshare -U true 2>/dev/null && echo unshare_U=ok || echo unshare_U=refused",
    # masked: what is readable there, and whether a mount covers it
    "for f in " + " ".join(MASKED) + "; do",
    "  covered=$(awk -v p=$f '$5 == p {c=\"covered\"} END {print c ? c : \"open\"}' /proc/self/mountinfo)",
    "  if [ -d $f ]; then n=\"$(ls -A $f | wc -l) entries\"",
    "  elif [ -e $f ]; then n=\"$(cat $f 2>/dev/null | wc -c) bytes\"",
    "  else n=absent; covered=-; fi",
    "  echo \"masked $f=$n $covered\"",
    "done",
    # read-only: the mount options of a mount on exactly that path
    "for f in " + " ".join(READONLY) + "; do",
    "  o=$(awk -v p=$f '$5 == p {split($6, a, \",\"); o=a[1]} END {print o ? o : \"no mount\"}' "
    "/proc/self/mountinfo)",
    "  [ -e $f ] || o=absent",
    "  echo \"readonly $f=$o\"",
    "done",
    "echo probe > /proc/sys/kernel/hostname 2>/dev/null && echo write_proc_sys=ok || echo write_proc_sys=refused",
    "grep -E '^(Cap|NoNewPrivs|Seccomp)' /proc/self/status | tr -d '\\t' | sed 's/:/=/'",
])

DEFAULT_CAPS = "00000000a80425fb"


def masked_answers() -> dict[str, str]:
    out = {}
    for f in MASKED:
        if not os.path.exists(f):
            out[f"masked {f}"] = "absent -"
        else:
            out[f"masked {f}"] = ("0 entries" if os.path.isdir(f) else "0 bytes") + " covered"
    return out


def readonly_answers(value: str = "ro") -> dict[str, str]:
    return {f"readonly {f}": value if os.path.exists(f) else "absent" for f in READONLY}


def status(caps: str, bounding: str | None = None, nnp: int = 0, seccomp: int = 2) -> dict[str, str]:
    return {"CapInh": "0" * 16, "CapPrm": caps, "CapEff": caps, "CapBnd": bounding or caps,
            "CapAmb": "0" * 16, "NoNewPrivs": str(nnp), "Seccomp": str(seccomp),
            "Seccomp_filters": "1" if seccomp else "0"}


REFUSED = {"keyctl": "EPERM", "add_key": "EPERM", "personality": "EPERM", "personality_query": "ok",
           "unshare_user": "EPERM", "unshare_mount": "EPERM", "mkdir": "ok", "unshare_U": "refused",
           "write_proc_sys": "refused"}


def docker_answers(case: str) -> dict[str, str]:
    """What Docker 20.10 (runc 1.1) answers, checked by hand and by the comparison test."""
    base = {**masked_answers(), **readonly_answers()}
    if case == "default":
        return {**base, **REFUSED, **status(DEFAULT_CAPS)}
    if case == "unconfined":
        return {**base, **REFUSED, "keyctl": "ok", "add_key": "ok", "personality": "ok",
                # unshare(CLONE_NEWNS) after the user namespace: root of that namespace
                "unshare_user": "ok", "unshare_mount": "ok", "unshare_U": "ok",
                **status(DEFAULT_CAPS, seccomp=0)}
    if case == "cap_sys_admin":   # the profile's CAP_SYS_ADMIN rules: unshare, mount, setns, ...
        return {**base, **REFUSED, "unshare_user": "ok", "unshare_mount": "ok", "unshare_U": "ok",
                **status("00000000a82425fb")}
    if case == "no_new_privileges":
        return {**base, **REFUSED, **status(DEFAULT_CAPS, nnp=1)}
    if case == "cap_drop_all":   # no capability-specific rules, and the kernel's checks too
        return {**base, **REFUSED, **status("0" * 16)}
    if case == "nobody":
        return {**base, **REFUSED, "mkdir": "ok", **status("0" * 16, bounding=DEFAULT_CAPS)}
    if case == "custom_profile":   # allow everything but mkdir/mkdirat (EACCES)
        return {**base, **REFUSED, "keyctl": "ok", "add_key": "ok", "personality": "ok",
                "unshare_user": "ok", "unshare_mount": "ok", "unshare_U": "ok", "mkdir": "EACCES",
                **status(DEFAULT_CAPS)}
    raise KeyError(case)


CUSTOM_PROFILE = {
    "defaultAction": "SCMP_ACT_ALLOW",
    "syscalls": [{"names": ["mkdir", "mkdirat"], "action": "SCMP_ACT_ERRNO", "errnoRet": 13}],
}


def case_flags(case: str, workdir: str) -> list[str]:
    if case == "custom_profile":
        path = os.path.join(workdir, "custom-profile.json")
        with open(path, "w") as f:
            json.dump(CUSTOM_PROFILE, f, indent=2)
        return ["--security-opt", f"seccomp={path}"]
    return {"default": [], "unconfined": ["--security-opt", "seccomp=unconfined"],
            "cap_sys_admin": ["--cap-add", "SYS_ADMIN"],
            "no_new_privileges": ["--security-opt", "no-new-privileges"],
            "nobody": ["-u", "nobody"], "cap_drop_all": ["--cap-drop", "ALL"]}[case]


CASES = ("default", "unconfined", "cap_sys_admin", "cap_drop_all", "no_new_privileges", "nobody",
         "custom_profile")


def parse_probes(output: str) -> dict[str, str]:
    out = {}
    for line in output.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            out[key] = value
    return out


# ---- the image and the engines ---------------------------------------------------

@pytest.fixture(scope="module")
def probe_image_tar(tmp_path_factory) -> str:
    gcc = shutil.which("gcc") or shutil.which("cc")
    if gcc is None:
        pytest.skip("no C compiler (gcc) to build the static confinement probe")
    base = tmp_path_factory.mktemp("confine-image")
    root = make_busybox_rootfs(base / "rootfs")
    built = subprocess.run([gcc, "-static", "-O2", "-o", os.path.join(root, "probe"), PROBE_SOURCE],
                           capture_output=True, text=True)
    if built.returncode != 0:
        pytest.skip(f"cannot build a static probe here: {built.stderr.strip()[:300]}")
    path = str(base / "image.tar")
    with tarfile.open(path, "w") as tar:
        tar.add(root, arcname=".")
    return path


@pytest.fixture(scope="module")
def pyctrd(tmp_path_factory, probe_image_tar):
    workdir = str(tmp_path_factory.mktemp("pyctrd-confine"))
    with daemon_with_busybox(workdir, probe_image_tar) as d:
        yield d


@pytest.fixture(scope="module")
def dockerd(tmp_path_factory, probe_image_tar):
    """A private Docker engine with the same image, or a skip saying why not."""
    with private_dockerd(str(tmp_path_factory.mktemp("dockerd-confine")), probe_image_tar) as engine:
        yield engine


def run_probes(docker, flags: list[str]) -> dict[str, str]:
    result = docker("run", "--rm", "--network", "none", *flags, "busybox", "sh", "-c", PROBE_SCRIPT)
    return parse_probes(result.stdout.decode())


# ---- the probes ----------------------------------------------------------------------

@pytest.mark.parametrize("case", CASES)
def test_probes_answer_as_docker_does(pyctrd, tmp_path, case):
    got = run_probes(pyctrd.docker, case_flags(case, str(tmp_path)))
    assert got == docker_answers(case)


@pytest.mark.parametrize("case", CASES)
def test_probes_answer_as_a_real_docker_engine(pyctrd, dockerd, tmp_path, case):
    flags = case_flags(case, str(tmp_path))
    ours = run_probes(pyctrd.docker, flags)
    theirs = run_probes(lambda *a: dockerd.docker(*a), flags)
    print(f"\nprobes, {case} ({' '.join(flags) or 'no flags'}): pyctr | docker")
    for key in sorted(set(ours) | set(theirs)):
        mark = "" if ours.get(key) == theirs.get(key) else "   <-- differs"
        print(f"  {key:32} {ours.get(key, '-'):22} | {theirs.get(key, '-')}{mark}")
    assert ours == theirs


@pytest.mark.parametrize("case", ["default", "unconfined", "cap_sys_admin"])
def test_exec_probes_answer_as_a_real_docker_engine(pyctrd, dockerd, tmp_path, case):
    flags = case_flags(case, str(tmp_path))
    answers = []
    for docker in (pyctrd.docker, lambda *a: dockerd.docker(*a)):
        docker("run", "-d", "--name", f"exec-{case}", "--network", "none", *flags, "busybox", "sleep", "300")
        try:
            answers.append(parse_probes(docker("exec", f"exec-{case}", "sh", "-c", PROBE_SCRIPT).stdout.decode()))
        finally:
            docker("rm", "-f", f"exec-{case}")
    assert answers[0] == answers[1] == docker_answers(case)


def test_a_fresh_session_keyring_per_container(pyctrd):
    """Even unconfined (keyctl allowed), the container's session keyring is not the
    daemon's (which is the host root's); /proc/keys stays masked."""
    libc = ctypes.CDLL(None, use_errno=True)
    host_ring = libc.syscall(250, 0, -3, 0) if os.uname().machine == "x86_64" else None
    if host_ring is None:
        pytest.skip("keyctl syscall number known for x86_64 only in this test")
    out = parse_probes(pyctrd.docker("run", "--rm", "--security-opt", "seccomp=unconfined", "busybox",
                                     "sh", "-c", "/probe session_keyring; cat /proc/keys | wc -c | sed 's/^/keys=/'")
                       .stdout.decode())
    assert out["session_keyring"].isdigit() and int(out["session_keyring"]) != host_ring
    assert out["keys"].strip() == "0"
    other = parse_probes(pyctrd.docker("run", "--rm", "--security-opt", "seccomp=unconfined", "busybox",
                                       "/probe", "session_keyring").stdout.decode())
    assert other["session_keyring"] != out["session_keyring"]


def test_privileged_lifts_seccomp_masks_and_read_only_paths(pyctrd):
    """As Docker's --privileged (which cannot run on this machine: its bounding set lacks
    CAP_SYS_RESOURCE, so runc fails with "unable to apply caps"): no filter, nothing
    masked or read-only, every capability the daemon holds."""
    got = run_probes(pyctrd.docker, ["--privileged"])
    assert got["Seccomp"] == "0" and got["Seccomp_filters"] == "0"
    for key in ("keyctl", "add_key", "personality", "unshare_user", "unshare_mount", "unshare_U",
                "write_proc_sys"):
        assert got[key] == "ok", (key, got)
    for f in MASKED:
        assert got[f"masked {f}"].endswith("open") or got[f"masked {f}"] == "absent -", (f, got)
    for f in READONLY:
        assert got[f"readonly {f}"] in ("no mount", "absent"), (f, got)
    with open("/proc/self/status") as f:
        held = next(line.split()[1] for line in f if line.startswith("CapPrm"))
    assert got["CapEff"] == got["CapBnd"] == held


def test_exec_is_confined_like_the_container(pyctrd):
    client = pyctrd.client()
    pyctrd.docker("run", "-d", "--name", "confined-exec", "busybox", "sleep", "300")
    try:
        out = parse_probes(pyctrd.docker("exec", "confined-exec", "sh", "-c",
                                         "/probe keyctl unshare_user personality; "
                                         "grep -E '^(Seccomp|CapInh)' /proc/self/status | tr -d '\\t' | "
                                         "sed 's/:/=/'").stdout.decode())
        assert out == {"keyctl": "EPERM", "unshare_user": "EPERM", "personality": "EPERM",
                       "Seccomp": "2", "Seccomp_filters": "1", "CapInh": "0" * 16}
    finally:
        client.remove_container("confined-exec", force=True)


def test_no_new_privileges_false_and_builtin(pyctrd):
    out = parse_probes(pyctrd.docker("run", "--rm", "--security-opt", "no-new-privileges=false",
                                     "--security-opt", "seccomp=builtin", "busybox", "sh", "-c",
                                     "grep -E '^(NoNewPrivs|Seccomp):' /proc/self/status | tr -d '\\t' | "
                                     "sed 's/:/=/'").stdout.decode())
    assert out == {"NoNewPrivs": "0", "Seccomp": "2"}


# ---- the API: inspect, bad options ---------------------------------------------------

def test_inspect_shows_security_opt_as_given(pyctrd, tmp_path):
    flags = case_flags("custom_profile", str(tmp_path))
    pyctrd.docker("create", "--name", "secopt", "--security-opt", "no-new-privileges", *flags, "busybox", "true")
    try:
        shown = json.loads(pyctrd.docker("inspect", "-f", "{{json .HostConfig.SecurityOpt}}", "secopt")
                           .stdout.decode())
        assert shown[0] == "no-new-privileges"
        key, _, profile = shown[1].partition("=")
        assert key == "seccomp" and json.loads(profile) == CUSTOM_PROFILE   # the CLI sent the content
    finally:
        pyctrd.client().remove_container("secopt")


@pytest.mark.parametrize("opt, message", [
    ("bogus", 'invalid --security-opt 1: "bogus"'),
    ("bogus=1", 'invalid --security-opt 2: "bogus=1"'),
    ("no-new-privileges=maybe", 'invalid --security-opt 2: "no-new-privileges=maybe"'),
    ("seccomp={not json", "Decoding seccomp profile failed"),
    ('seccomp={"defaultAction": "SCMP_ACT_EXPLODE"}', "unknown or unsupported action"),
    ('seccomp={"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": '
     '"SCMP_ACT_ERRNO", "args": [{"index": 9, "op": "SCMP_CMP_EQ", "value": 1}]}]}', "index must be below 6"),
    ('seccomp={"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_VAX"]}', "unknown architecture"),
    ("apparmor=docker-default", "AppArmor is not available"),
    ("label=type:svirt_lxc_net_t", "SELinux labels are not available"),
])
def test_bad_security_opts_are_400_and_create_nothing(pyctrd, opt, message):
    client = pyctrd.client()
    before = len(client.json("GET", "/containers/json", params={"all": "1"}))
    with pytest.raises(APIError) as err:
        client.json("POST", "/containers/create", body={
            "Image": "busybox", "Cmd": ["true"], "HostConfig": {"SecurityOpt": [opt]}})
    assert err.value.status == 400 and message in str(err.value), str(err.value)
    assert len(client.json("GET", "/containers/json", params={"all": "1"})) == before


@pytest.mark.parametrize("opt", ["apparmor=unconfined", "label=disable", "label:disable", "seccomp:unconfined"])
def test_security_opts_that_ask_for_what_is_there_are_accepted(pyctrd, opt):
    out = pyctrd.docker("run", "--rm", "--security-opt", opt, "busybox", "grep", "^Seccomp:",
                        "/proc/self/status").stdout.decode()
    assert out.split() == ["Seccomp:", "0" if "unconfined" in opt and opt.startswith("seccomp") else "2"]



def test_info_lists_the_seccomp_profile(pyctrd):
    shown = pyctrd.docker("info", "-f", "{{json .SecurityOptions}}").stdout.decode()
    assert json.loads(shown) == ["name=seccomp,profile=builtin"]


def test_the_profile_is_compiled_once_not_per_start(pyctrd):
    """Starts with the same profile and bounding set reuse the compiled program."""
    default_set = ",".join(sorted("CAP_" + c for c in DOCKER_DEFAULT))

    def compiled() -> int:
        with open(pyctrd.log_path, errors="replace") as f:   # all of it: log() is its tail
            return f.read().count(f"seccomp: compiled the default profile for {default_set} in")

    pyctrd.docker("run", "--rm", "busybox", "true")
    before = compiled()
    assert before >= 1
    for _ in range(3):
        pyctrd.docker("run", "--rm", "busybox", "true")
    assert compiled() == before


def _fd_kinds(pid: int) -> dict[int, str]:
    """The open fds of host process `pid`, by what they are (pipe, socket, a device...).
    A terminal is a terminal: Docker's is opened as /dev/pts/N, pyctr's as /dev/console
    (the same pty slave, bound there)."""
    out = {}
    for name in os.listdir(f"/proc/{pid}/fd"):
        target = os.readlink(f"/proc/{pid}/fd/{name}")
        kind = target.split(":")[0] if ":[" in target else target.rstrip("0123456789")
        out[int(name)] = "terminal" if kind in ("/dev/pts/", "/dev/console") else kind
    return out


@pytest.mark.parametrize("flags", [[], ["-t"], ["-i"]], ids=["pipes", "tty", "stdin"])
def test_a_container_holds_no_fd_of_the_daemon_or_the_keeper(pyctrd, dockerd, flags):
    """The container's first process has its stdio and nothing else: none of the fds the
    keeper that starts it holds (other containers' stdio copies, its sockets), the same
    as in Docker, while another container runs."""
    def fds(engine) -> dict[int, str]:
        other = engine.docker("run", "-d", "--network", "none", "busybox", "sleep", "60").stdout.decode().strip()
        cid = engine.docker("run", "-d", "--network", "none", *flags, "busybox", "sleep", "60").stdout.decode().strip()
        try:
            pid = json.loads(engine.docker("inspect", cid).stdout)[0]["State"]["Pid"]
            return _fd_kinds(pid)
        finally:
            engine.docker("rm", "-f", cid, other)

    ours, theirs = fds(pyctrd), fds(dockerd)
    assert sorted(theirs) == [0, 1, 2], theirs
    assert ours == theirs
