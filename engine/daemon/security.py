"""HostConfig.SecurityOpt: parsed and checked at create, turned into the exec driver's
Confinement at start.

What the docker CLI sends (28.x, checked): each `--security-opt` as given, except
that `seccomp=<file>` arrives as `seccomp=<the file's JSON, compacted>` (the
client reads the file). Accepted, with Docker's error messages otherwise:

- `seccomp=unconfined`, `seccomp=builtin` (the default profile), `seccomp=<JSON>`;
- `no-new-privileges`, `no-new-privileges=<bool>` (and the old `:` separator);
- `apparmor=unconfined`, `label=disable` / `disable`: pyctr supports neither AppArmor
  nor SELinux, so these ask for what a container already is. Any other
  `apparmor=`/`label=` value asks for a confinement pyctr cannot give: a 400
  naming it (Docker would apply it, or silently skip it on a host without the LSM).

A custom profile is parsed at create (a bad one is a 400 and nothing is created);
it is compiled at the first start, once per bounding set, by the exec driver.
"""

from __future__ import annotations

from ..errors import BadRequest
from ..execdriver import CAPABILITIES, DOCKER_DEFAULT
from ..execdriver.driver import Confinement, ExecCommand, ProcessConfig
from ..libcontainer import seccomp
from ..api.config import HostConfig
from .hostopts import process_settings

# Go's strconv.ParseBool, which Docker uses for no-new-privileges=<bool>
_TRUE = ("1", "t", "T", "TRUE", "true", "True")
_FALSE = ("0", "f", "F", "FALSE", "false", "False")


def confinement(host: HostConfig) -> Confinement:
    """The container's confinement from its SecurityOpt (400 on a bad one)."""
    out = Confinement()
    for opt in host.security_opt or []:
        if not isinstance(opt, str):
            raise BadRequest(f"invalid --security-opt: {opt!r} is not a string")
        if opt == "no-new-privileges":
            out.no_new_privileges = True
            continue
        if opt == "disable":           # label=disable, as old clients spelled it
            continue
        if "=" in opt:
            key, value = opt.split("=", 1)
        elif ":" in opt:
            key, value = opt.split(":", 1)
        else:
            raise BadRequest(f'invalid --security-opt 1: "{opt}"')
        if key == "seccomp":
            if value in ("builtin", ""):
                out.seccomp_profile = seccomp.DEFAULT
            else:
                out.seccomp_profile = value
        elif key == "no-new-privileges":
            if value not in _TRUE + _FALSE:
                raise BadRequest(f'invalid --security-opt 2: "{opt}"')
            out.no_new_privileges = value in _TRUE
        elif key == "apparmor":
            if value != "unconfined":
                raise BadRequest(f"invalid --security-opt {opt!r}: AppArmor is not available in pyctr; "
                                 "only apparmor=unconfined can be honoured")
        elif key == "label":
            if value != "disable":
                raise BadRequest(f"invalid --security-opt {opt!r}: SELinux labels are not available in "
                                 "pyctr; only label=disable can be honoured")
        else:
            raise BadRequest(f'invalid --security-opt 2: "{opt}"')
    return out


def check(host: HostConfig) -> None:
    """At create: every option understood, a custom seccomp profile parseable."""
    if host.security_opt is not None and not isinstance(host.security_opt, list):
        raise BadRequest("SecurityOpt must be a list of strings")
    wanted = confinement(host)
    if wanted.seccomp_profile not in (seccomp.DEFAULT, seccomp.UNCONFINED):
        try:
            seccomp.PROGRAMS.profile(wanted.seccomp_profile)
        except seccomp.ProfileError as e:
            message = str(e)
            if not message.startswith("Decoding seccomp profile failed"):
                message = f"Decoding seccomp profile failed: {message}"
            raise BadRequest(message) from None


def capabilities(add: list[str], drop: list[str]) -> list[str]:
    """Docker 1.2's default set, with --cap-add/--cap-drop ("ALL" allowed) applied."""
    def norm(names: list[str]) -> list[str]:
        return [n.upper().removeprefix("CAP_") for n in names]
    add, drop = norm(add), norm(drop)
    for name in add + drop:
        if name != "ALL" and name not in CAPABILITIES:
            raise BadRequest(f"Unknown capability: {name}")
    caps = list(CAPABILITIES) if "ALL" in add else list(DOCKER_DEFAULT)
    if "ALL" in drop:
        caps = [c for c in add if c != "ALL"]
    else:
        caps = [c for c in caps if c not in drop] + [c for c in add if c != "ALL" and c not in caps]
    return caps


def exec_command(container_id: str, host: HostConfig, process: ProcessConfig,
                 privileged: bool = False) -> ExecCommand:
    """Another process in a running container (an exec, a health probe), confined and
    limited as the container's init is; `privileged`: `exec --privileged`."""
    return ExecCommand(container_id, process, capabilities(host.cap_add or [], host.cap_drop or []),
                       host.privileged or privileged, confinement(host), process_settings(host))
