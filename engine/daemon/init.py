"""`--init` (HostConfig.Init): Debian's tini as the container's pid 1, bound in read-only
at /sbin/docker-init as Docker binds its docker-init, running the command after `--`.
It reaps zombies and passes signals on to the command (which then gets SIGTERM on
`stop` even when it ignores signals as a pid 1 would).

The static build (`tini-static`, in Debian's tini package) comes first: it runs in
images without a libc or a shell; the dynamic one only where the image has glibc."""

from __future__ import annotations

import os

from ..errors import BadRequest
from ..api.config import HostConfig
from ..execdriver.driver import Mount

CANDIDATES = ("/usr/bin/tini-static", "/usr/bin/tini")
PATH_IN_CONTAINER = "/sbin/docker-init"


def binary() -> str | None:
    for path in CANDIDATES:
        if os.access(path, os.X_OK):
            return path
    return None


def check(host: HostConfig) -> None:
    if host.init and binary() is None:
        raise BadRequest("--init: no init binary on this host (pyctr uses Debian's tini: "
                         f"apt-get install tini; looked for {', '.join(CANDIDATES)})")


def apply(host: HostConfig, args: list[str], mounts: list[Mount]) -> list[str]:
    """The argv the container runs, adding the init's mount to `mounts` when asked for."""
    if not host.init:
        return args
    path = binary()
    if path is None:   # removed since the create
        raise BadRequest(f"--init: no init binary on this host (looked for {', '.join(CANDIDATES)})")
    mounts.append(Mount(path, PATH_IN_CONTAINER, writable=False))
    return [PATH_IN_CONTAINER, "--", *args]
