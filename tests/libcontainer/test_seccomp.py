"""Seccomp profiles: parsing (with the errors a bad profile gets), which rules hold for
a bounding set / architecture / kernel, the compile-once cache, and the compiled
programs enforced by the real kernel (in a child process that installs them the way
the container init does)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from pyctr.engine.libcontainer import capabilities, seccomp
from pyctr.engine.libcontainer.seccomp import Host, ProfileError, RuleFilter, SyscallRule

DEFAULT_CAPS = capabilities.numbers(capabilities.DOCKER_DEFAULT)
SYS_ADMIN = capabilities.number("SYS_ADMIN")
AMD64 = Host("SCMP_ARCH_X86_64", "amd64", (6, 1))


def rule(**kw) -> SyscallRule:
    base = dict(names=("x",), action="SCMP_ACT_ALLOW", errno_ret=None, args=(),
                includes=RuleFilter(), excludes=RuleFilter())
    return SyscallRule(**{**base, **kw})


# ---- parsing ---------------------------------------------------------------------

def test_docker_default_profile_parses():
    p = seccomp.parse(seccomp.default_profile_text())
    assert p.default_action == "SCMP_ACT_ERRNO" and p.default_errno_ret is None
    names = {n for r in p.syscalls for n in r.names}
    assert {"read", "personality", "clone", "unshare", "keyctl"} - names == {"keyctl"}   # not allowed at all
    assert dict(p.arch_map)["SCMP_ARCH_X86_64"] == ("SCMP_ARCH_X86", "SCMP_ARCH_X32")


@pytest.mark.parametrize("text, message", [
    ("{nope", "Decoding seccomp profile failed"),
    ("[]", "must be a JSON object"),
    ('{"defaultAction": "SCMP_ACT_NOTIFY"}', "unknown or unsupported action 'SCMP_ACT_NOTIFY'"),
    ('{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86"], '
     '"archMap": [{"architecture": "SCMP_ARCH_X86_64"}]}', "use either 'architectures' or 'archMap'"),
    ('{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"name": "read", "names": ["write"], '
     '"action": "SCMP_ACT_ERRNO"}]}', "use either 'name' or 'names'"),
    ('{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ERRNO", '
     '"args": [{"index": 0, "op": "SCMP_CMP_ABOUT", "value": 1}]}]}', "unknown operator 'SCMP_CMP_ABOUT'"),
    ('{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ERRNO", '
     '"args": [{"index": 0, "op": "SCMP_CMP_EQ", "value": -1}]}]}', "value must be an unsigned integer"),
    ('{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ERRNO", '
     '"includes": {"minKernel": "four"}}]}', "invalid kernel version 'four'"),
    ('{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["read"], "action": "SCMP_ACT_ERRNO", '
     '"errnoRet": 70000}]}', "errnoRet must be an unsigned integer"),
    ("[" * 100000, "Decoding seccomp profile failed"),
])
def test_bad_profiles_say_what_is_wrong(text, message):
    with pytest.raises(ProfileError) as err:
        seccomp.parse(text)
    assert message in str(err.value)


# ---- which rules hold ---------------------------------------------------------------

def test_includes_and_excludes_by_capability_arch_and_kernel():
    caps = frozenset({"CAP_CHOWN"})
    assert seccomp.applies(rule(), caps, AMD64)
    assert not seccomp.applies(rule(includes=RuleFilter(caps=("CAP_SYS_ADMIN",))), caps, AMD64)
    assert seccomp.applies(rule(includes=RuleFilter(caps=("CAP_SYS_ADMIN",))), caps | {"CAP_SYS_ADMIN"}, AMD64)
    assert not seccomp.applies(rule(excludes=RuleFilter(caps=("CAP_CHOWN",))), caps, AMD64)
    assert seccomp.applies(rule(includes=RuleFilter(arches=("amd64", "x32"))), caps, AMD64)
    assert not seccomp.applies(rule(includes=RuleFilter(arches=("arm64",))), caps, AMD64)
    assert not seccomp.applies(rule(excludes=RuleFilter(arches=("amd64",))), caps, AMD64)
    assert seccomp.applies(rule(includes=RuleFilter(min_kernel=(4, 8))), caps, AMD64)
    assert not seccomp.applies(rule(includes=RuleFilter(min_kernel=(6, 2))), caps, AMD64)
    assert not seccomp.applies(rule(excludes=RuleFilter(min_kernel=(5, 0))), caps, AMD64)


def test_the_filter_covers_the_sub_architectures_of_the_arch_map():
    p = seccomp.parse(seccomp.default_profile_text())
    assert seccomp.filter_arches(p, AMD64) == ["SCMP_ARCH_X86", "SCMP_ARCH_X32"]
    assert seccomp.filter_arches(p, Host("SCMP_ARCH_AARCH64", "arm64", (6, 1))) == ["SCMP_ARCH_ARM"]
    only = seccomp.parse('{"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_X86_64"]}')
    assert seccomp.filter_arches(only, AMD64) == []


# ---- the cache ---------------------------------------------------------------------

def test_a_program_is_compiled_once_per_profile_and_bounding_set():
    cache = seccomp.ProgramCache()
    first = cache.program(seccomp.DEFAULT, DEFAULT_CAPS)
    assert len(first) % 8 == 0 and len(first) > 800
    assert cache.program(seccomp.DEFAULT, list(reversed(DEFAULT_CAPS))) is first
    assert cache.compilations == 1
    with_admin = cache.program(seccomp.DEFAULT, DEFAULT_CAPS + [SYS_ADMIN])
    assert with_admin != first and cache.compilations == 2
    custom = json.dumps({"defaultAction": "SCMP_ACT_ALLOW"})
    assert cache.program(custom, DEFAULT_CAPS) not in (first, with_admin)
    assert cache.cached(custom, DEFAULT_CAPS) is not None and cache.compilations == 3


# ---- enforced by the kernel ----------------------------------------------------------------

PROBE = r"""
import ctypes, errno, os, sys
from pyctr.engine.libcontainer import syscalls
program = open(sys.argv[1], "rb").read()
libc = ctypes.CDLL(None, use_errno=True)
syscalls.seccomp_set_filter(program)

def probe(name, ret):
    print(name, "ok" if ret >= 0 else errno.errorcode[ctypes.get_errno()], flush=True)

probe("getpid", libc.getpid())
U = ctypes.c_ulong   # as C passes them: 0xffffffff must not become a sign-extended -1
probe("personality_rie", libc.personality(U(0x0400000)))
probe("personality_linux32", libc.personality(U(0x0008)))
probe("personality_query", libc.personality(U(0xffffffff)))
probe("unshare_user", libc.unshare(0x10000000))
probe("keyctl", libc.syscall(250, 0, -3, 0))
probe("clone3", libc.syscall(435, 0, 0))
pid = os.fork()
if pid == 0:
    os._exit(7)
print("fork", "ok" if os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 7 else "failed", flush=True)
"""


def enforce(tmp_path, program: bytes) -> dict[str, str]:
    path = tmp_path / "program.bpf"
    path.write_bytes(program)
    out = subprocess.run([sys.executable, "-c", PROBE, str(path)], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return dict(line.split() for line in out.stdout.splitlines())


needs_x86_64 = pytest.mark.skipif(os.uname().machine != "x86_64" or os.geteuid() != 0,
                                  reason="syscall numbers of x86_64 in the probe; installing needs root")


@needs_x86_64
def test_the_kernel_enforces_docker_s_default_profile(tmp_path):
    got = enforce(tmp_path, seccomp.ProgramCache().program(seccomp.DEFAULT, DEFAULT_CAPS))
    assert got == {"getpid": "ok", "personality_rie": "EPERM", "personality_linux32": "ok",
                   "personality_query": "ok", "unshare_user": "EPERM", "keyctl": "EPERM",
                   "clone3": "ENOSYS",     # so that glibc falls back to clone (the profile's errnoRet 38)
                   "fork": "ok"}           # clone without namespace flags passes the MASKED_EQ rule


@needs_x86_64
def test_cap_sys_admin_brings_the_profile_s_sys_admin_rules(tmp_path):
    got = enforce(tmp_path, seccomp.ProgramCache().program(seccomp.DEFAULT, DEFAULT_CAPS + [SYS_ADMIN]))
    assert got["unshare_user"] == "ok" and got["keyctl"] == "EPERM" and got["personality_rie"] == "EPERM"
    assert got["clone3"] != "ENOSYS"   # the ENOSYS rule excludes CAP_SYS_ADMIN


@needs_x86_64
def test_conditions_on_the_same_argument_are_alternatives(tmp_path):
    profile = json.dumps({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [
        {"names": ["personality"], "action": "SCMP_ACT_ERRNO", "errnoRet": 22,
         "args": [{"index": 0, "op": "SCMP_CMP_EQ", "value": 0x0400000},
                  {"index": 0, "op": "SCMP_CMP_EQ", "value": 0x0008}]},
        {"names": ["unshare"], "action": "SCMP_ACT_ERRNO",
         "args": [{"index": 0, "op": "SCMP_CMP_MASKED_EQ", "value": 0x10000000, "valueTwo": 0x10000000}]},
        {"names": ["no_such_syscall_anywhere"], "action": "SCMP_ACT_ERRNO"},
    ]})
    got = enforce(tmp_path, seccomp.ProgramCache().program(profile, DEFAULT_CAPS))
    assert got["personality_rie"] == got["personality_linux32"] == "EINVAL"
    assert got["personality_query"] == "ok" and got["keyctl"] == "ok" and got["getpid"] == "ok"
    assert got["unshare_user"] == "EPERM"   # default errno of an ERRNO rule without errnoRet
