"""Seccomp profiles (Docker's JSON format) compiled to a BPF program, in the DAEMON.

Docker's default profile (`seccomp_default.json`, moby's profiles/seccomp/default.json,
Apache-2.0) is an allow-list; each rule may hold only for some capabilities or
architectures (`includes`/`excludes`), and compare syscall arguments (`args`).

Compilation goes through libseccomp's own Python binding (Debian's python3-seccomp,
`import seccomp`): it is the library runc and crun use, it knows every
architecture's syscall numbers (including the x86/x32 sub-architectures a 64-bit
filter must also cover) and emits the architecture checks that hand-written BPF
gets wrong. It is not importable in the container init (`python -I -S`, no
site-packages), and need not be: the daemon exports the program once per
(profile, bounding set, architecture), keeps it in memory, and hands the bytes to
the init in its spec; the init only installs them (syscalls.seccomp_set_filter).

Semantics follow moby + runc: rules whose action equals the default action are
skipped; syscall names libseccomp does not know are skipped; two conditions on the
same argument make one rule per condition (OR), otherwise the conditions of a rule
are ANDed; includes/excludes are matched against the container's bounding set
(`CAP_...`), the Go name of the host architecture (`amd64`) and the kernel version.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import threading
import time
from dataclasses import dataclass
from typing import Any, Iterable

from . import capabilities

DEFAULT_PROFILE_PATH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "seccomp_default.json")
UNCONFINED = "unconfined"
DEFAULT = ""          # Docker's default profile

EPERM = 1
ACTIONS = ("SCMP_ACT_KILL", "SCMP_ACT_KILL_THREAD", "SCMP_ACT_KILL_PROCESS", "SCMP_ACT_TRAP",
           "SCMP_ACT_ERRNO", "SCMP_ACT_TRACE", "SCMP_ACT_ALLOW", "SCMP_ACT_LOG")
OPERATORS = ("SCMP_CMP_NE", "SCMP_CMP_LT", "SCMP_CMP_LE", "SCMP_CMP_EQ", "SCMP_CMP_GE",
             "SCMP_CMP_GT", "SCMP_CMP_MASKED_EQ")
ARCHITECTURES = ("X86", "X86_64", "X32", "ARM", "AARCH64", "MIPS", "MIPS64", "MIPS64N32", "MIPSEL",
                 "MIPSEL64", "MIPSEL64N32", "PPC", "PPC64", "PPC64LE", "S390", "S390X", "PARISC",
                 "PARISC64", "RISCV64")
# uname machine -> (libseccomp's name, Go's GOARCH, which profiles' `arches` use)
HOST_ARCHES = {"x86_64": ("SCMP_ARCH_X86_64", "amd64"), "aarch64": ("SCMP_ARCH_AARCH64", "arm64"),
               "riscv64": ("SCMP_ARCH_RISCV64", "riscv64"), "s390x": ("SCMP_ARCH_S390X", "s390x"),
               "ppc64le": ("SCMP_ARCH_PPC64LE", "ppc64le"), "i686": ("SCMP_ARCH_X86", "386"),
               "armv7l": ("SCMP_ARCH_ARM", "arm")}
MAX_ARGS = 6

log = logging.getLogger(__name__)


class ProfileError(ValueError):
    """The profile cannot be used (bad JSON, unknown action, operator or architecture)."""


@dataclass(frozen=True)
class ArgCondition:
    index: int
    value: int
    value_two: int
    op: str


@dataclass(frozen=True)
class RuleFilter:
    caps: tuple[str, ...] = ()
    arches: tuple[str, ...] = ()
    min_kernel: tuple[int, int] | None = None


@dataclass(frozen=True)
class SyscallRule:
    names: tuple[str, ...]
    action: str
    errno_ret: int | None
    args: tuple[ArgCondition, ...]
    includes: RuleFilter
    excludes: RuleFilter


@dataclass(frozen=True)
class Profile:
    default_action: str
    default_errno_ret: int | None
    architectures: tuple[str, ...]
    arch_map: tuple[tuple[str, tuple[str, ...]], ...]
    syscalls: tuple[SyscallRule, ...]


# ---- parsing -------------------------------------------------------------------

def _require(condition: bool, message: str) -> None:
    if not condition:
        raise ProfileError(message)


def _uint(value: Any, what: str, bits: int = 64) -> int:
    _require(isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 1 << bits,
             f"{what} must be an unsigned integer, not {value!r}")
    return value


def _strings(value: Any, what: str) -> tuple[str, ...]:
    if value is None:
        return ()
    _require(isinstance(value, list) and all(isinstance(v, str) for v in value),
             f"{what} must be a list of strings")
    return tuple(value)


def _kernel_version(text: str, what: str) -> tuple[int, int]:
    parts = text.split(".")
    _require(len(parts) >= 2 and all(p.isdigit() for p in parts[:2]),
             f"{what}: invalid kernel version {text!r} (want MAJOR.MINOR)")
    return int(parts[0]), int(parts[1])


def _filter(value: Any, what: str) -> RuleFilter:
    if value is None:
        return RuleFilter()
    _require(isinstance(value, dict), f"{what} must be an object")
    min_kernel = value.get("minKernel") or ""
    _require(isinstance(min_kernel, str), f"{what}.minKernel must be a string")
    return RuleFilter(caps=_strings(value.get("caps"), f"{what}.caps"),
                      arches=_strings(value.get("arches"), f"{what}.arches"),
                      min_kernel=_kernel_version(min_kernel, f"{what}.minKernel") if min_kernel else None)


def _action(value: Any, what: str) -> str:
    _require(value in ACTIONS, f"{what}: unknown or unsupported action {value!r}")
    return value


def _arch(value: Any) -> str:
    _require(isinstance(value, str) and value.removeprefix("SCMP_ARCH_") in ARCHITECTURES,
             f"unknown architecture {value!r}")
    return value


def parse(text: str) -> Profile:
    """A profile from its JSON text, or ProfileError saying what is wrong."""
    try:
        raw = json.loads(text)
    except (ValueError, RecursionError) as e:
        raise ProfileError(f"Decoding seccomp profile failed: {e}") from None
    _require(isinstance(raw, dict), "Decoding seccomp profile failed: the profile must be a JSON object")
    _require(not (raw.get("architectures") and raw.get("archMap")),
             "'architectures' and 'archMap' were specified in the seccomp profile, use either "
             "'architectures' or 'archMap'")
    arch_map = []
    for entry in raw.get("archMap") or []:
        _require(isinstance(entry, dict), "archMap entries must be objects")
        arch_map.append((_arch(entry.get("architecture")),
                         tuple(_arch(a) for a in _strings(entry.get("subArchitectures"), "subArchitectures"))))
    rules = []
    syscalls = raw.get("syscalls") or []
    _require(isinstance(syscalls, list), "syscalls must be a list")
    for i, call in enumerate(syscalls):
        _require(isinstance(call, dict), f"syscalls[{i}] must be an object")
        name, names = call.get("name"), _strings(call.get("names"), f"syscalls[{i}].names")
        _require(not (name and names), "'name' and 'names' were specified in the seccomp profile, "
                                       "use either 'name' or 'names'")
        if name:
            _require(isinstance(name, str), f"syscalls[{i}].name must be a string")
            names = (name,)
        args = []
        for j, arg in enumerate(call.get("args") or []):
            where = f"syscalls[{i}].args[{j}]"
            _require(isinstance(arg, dict), f"{where} must be an object")
            index = _uint(arg.get("index"), f"{where}.index")
            _require(index < MAX_ARGS, f"{where}.index must be below {MAX_ARGS}")
            op = arg.get("op")
            _require(op in OPERATORS, f"{where}: unknown operator {op!r}")
            args.append(ArgCondition(index, _uint(arg.get("value", 0), f"{where}.value"),
                                     _uint(arg.get("valueTwo", 0), f"{where}.valueTwo"), op))
        errno_ret = call.get("errnoRet")
        rules.append(SyscallRule(
            names=names, action=_action(call.get("action"), f"syscalls[{i}]"),
            errno_ret=None if errno_ret is None else _uint(errno_ret, f"syscalls[{i}].errnoRet", 16),
            args=tuple(args), includes=_filter(call.get("includes"), f"syscalls[{i}].includes"),
            excludes=_filter(call.get("excludes"), f"syscalls[{i}].excludes")))
    default_errno = raw.get("defaultErrnoRet")
    return Profile(
        default_action=_action(raw.get("defaultAction"), "defaultAction"),
        default_errno_ret=None if default_errno is None else _uint(default_errno, "defaultErrnoRet", 16),
        architectures=tuple(_arch(a) for a in _strings(raw.get("architectures"), "architectures")),
        arch_map=tuple(arch_map), syscalls=tuple(rules))


def default_profile_text() -> str:
    with open(DEFAULT_PROFILE_PATH) as f:
        return f.read()


# ---- selecting the rules for a container ---------------------------------------------

@dataclass(frozen=True)
class Host:
    """What includes/excludes are matched against, besides the capabilities."""
    arch: str                  # libseccomp's name of the native architecture
    go_arch: str               # the name profiles' `arches` use
    kernel: tuple[int, int]

    @classmethod
    def this(cls) -> "Host":
        machine = os.uname().machine
        if machine not in HOST_ARCHES:
            raise ProfileError(f"seccomp: architecture {machine} is not supported")
        arch, go_arch = HOST_ARCHES[machine]
        release = os.uname().release.split("-")[0]
        return cls(arch, go_arch, _kernel_version(release, "kernel release"))


def applies(rule: SyscallRule, caps: frozenset[str], host: Host) -> bool:
    ex, inc = rule.excludes, rule.includes
    if host.go_arch in ex.arches or any(c in caps for c in ex.caps):
        return False
    if ex.min_kernel is not None and host.kernel >= ex.min_kernel:
        return False
    if inc.arches and host.go_arch not in inc.arches:
        return False
    if any(c not in caps for c in inc.caps):
        return False
    if inc.min_kernel is not None and host.kernel < inc.min_kernel:
        return False
    return True


def filter_arches(profile: Profile, host: Host) -> list[str]:
    """The architectures the filter covers besides the native one."""
    if profile.architectures:
        wanted = list(profile.architectures)
    else:
        wanted = next(([arch, *subs] for arch, subs in profile.arch_map if arch == host.arch), [])
    return [a for a in dict.fromkeys(wanted) if a != host.arch]


# ---- compiling -------------------------------------------------------------------

def _binding():
    try:
        import seccomp as libseccomp   # Debian's python3-seccomp (libseccomp's own binding)
    except ImportError:
        raise ProfileError("seccomp: libseccomp's Python binding is not importable (install Debian's "
                           "python3-seccomp; a venv needs --system-site-packages)") from None
    return libseccomp


def _scmp_action(lib, action: str, errno_ret: int | None) -> int:
    if action == "SCMP_ACT_ALLOW":
        return lib.ALLOW
    if action == "SCMP_ACT_ERRNO":
        return lib.ERRNO(EPERM if errno_ret is None else errno_ret)
    if action == "SCMP_ACT_TRACE":
        return lib.TRACE(EPERM if errno_ret is None else errno_ret)
    if action in ("SCMP_ACT_KILL", "SCMP_ACT_KILL_THREAD"):
        return lib.KILL
    if action == "SCMP_ACT_KILL_PROCESS":
        return lib.KILL_PROCESS
    if action == "SCMP_ACT_TRAP":
        return lib.TRAP
    return lib.LOG


def compile_program(profile: Profile, caps: frozenset[str], host: Host) -> bytes:
    """The BPF program (struct sock_filter[]) of `profile` for a container whose
    bounding set is `caps` ("CAP_SYS_ADMIN", ...)."""
    lib = _binding()
    default = _scmp_action(lib, profile.default_action, profile.default_errno_ret)
    f = lib.SyscallFilter(default)
    # A binary tree of syscall numbers instead of libseccomp's default linear list.
    # Measured here: the install (the kernel runs the program for every syscall
    # number of every architecture to fill its verdict cache) takes ~0.35 ms
    # instead of ~1.2 ms, on every start and exec; compiling takes ~50 ms instead
    # of ~11, once per profile and bounding set.
    f.set_attr(lib.Attr.CTL_OPTIMIZE, 2)
    for arch in filter_arches(profile, host):
        f.add_arch(getattr(lib.Arch, arch.removeprefix("SCMP_ARCH_")))
    for rule in profile.syscalls:
        if not applies(rule, caps, host):
            continue
        action = _scmp_action(lib, rule.action, rule.errno_ret)
        if action == default:
            continue   # libseccomp refuses a rule that says what the default says
        conditions = [lib.Arg(c.index, getattr(lib, c.op.removeprefix("SCMP_CMP_")), c.value, c.value_two)
                      for c in rule.args]
        indexes = [c.index for c in rule.args]
        groups = ([[c] for c in conditions] if len(set(indexes)) < len(indexes) else [conditions])
        for name in rule.names:
            try:
                known = lib.resolve_syscall(lib.Arch.NATIVE, name) != -1
            except (ValueError, RuntimeError):
                known = False
            if not known:
                continue   # a syscall this libseccomp (or architecture) does not know
            for group in groups:
                try:
                    f.add_rule(action, name, *group)
                except RuntimeError as e:
                    raise ProfileError(f"seccomp: cannot add the rule for {name}: {e}") from None
    fd = os.memfd_create("pyctr-seccomp", os.MFD_CLOEXEC)
    with os.fdopen(fd, "w+b") as out:
        f.export_bpf(out)
        out.seek(0)
        return out.read()


# ---- the cache ---------------------------------------------------------------------

class ProgramCache:
    """Programs by (profile digest, bounding set, architecture), compiled once each."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._profiles: dict[str, Profile] = {}
        self._programs: dict[tuple[str, frozenset[str], str], bytes] = {}
        self._host: Host | None = None
        self.compilations = 0   # how many programs were compiled (for tests and bench)

    @staticmethod
    def _text(profile_text: str) -> str:
        return profile_text if profile_text != DEFAULT else default_profile_text()

    @staticmethod
    def _digest(profile_text: str) -> str:
        return hashlib.sha256(profile_text.encode()).hexdigest() if profile_text else ""

    @staticmethod
    def _cap_names(caps: Iterable[int]) -> frozenset[str]:
        return frozenset("CAP_" + n for n in capabilities.names_of(capabilities.mask(list(caps))))

    def profile(self, profile_text: str) -> Profile:
        digest = self._digest(profile_text)
        with self._lock:
            found = self._profiles.get(digest)
        if found is None:
            found = parse(self._text(profile_text))
            with self._lock:
                self._profiles[digest] = found
        return found

    def cached(self, profile_text: str, caps: Iterable[int]) -> bytes | None:
        key = (self._digest(profile_text), self._cap_names(caps), os.uname().machine)
        with self._lock:
            return self._programs.get(key)

    def program(self, profile_text: str, caps: Iterable[int]) -> bytes:
        """The program for `profile_text` ("" = Docker's default) and a bounding set of
        capability numbers; compiled on first use."""
        caps = list(caps)
        key = (self._digest(profile_text), self._cap_names(caps), os.uname().machine)
        with self._lock:
            found = self._programs.get(key)
        if found is not None:
            return found
        if self._host is None:
            self._host = Host.this()
        started = time.perf_counter()
        program = compile_program(self.profile(profile_text), key[1], self._host)
        log.debug("seccomp: compiled %s profile for %s in %.1f ms (%d instructions)",
                  "the default" if profile_text == DEFAULT else f"a custom ({key[0][:12]})",
                  ",".join(sorted(key[1])) or "no capabilities", (time.perf_counter() - started) * 1000,
                  len(program) // 8)
        with self._lock:
            self.compilations += 1
            return self._programs.setdefault(key, program)

    async def program_async(self, profile_text: str, caps: Iterable[int]) -> bytes:
        """`program` without blocking the event loop when it has to compile."""
        caps = list(caps)
        found = self.cached(profile_text, caps)
        if found is not None:
            return found
        return await asyncio.to_thread(self.program, profile_text, caps)


PROGRAMS = ProgramCache()   # one per daemon process
