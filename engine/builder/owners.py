"""`COPY --chown=user:group` -> numeric ids, as Docker reads it: numbers as they are,
names looked up in the image's own /etc/passwd and /etc/group (never the host's);
a user without a group takes the group spelled the same way."""

from __future__ import annotations

import os

from ..libcontainer.paths import PathEscape, resolve_in_root


class OwnerError(Exception):
    pass


def _table(rootfs: str, path: str) -> list[list[str]]:
    try:
        real = resolve_in_root(rootfs, path, clamp_above_root=True, reroot_absolute=True)
        with open(real, encoding="utf-8", errors="replace") as f:
            return [line.split(":") for line in f.read().splitlines() if line and not line.startswith("#")]
    except (OSError, PathEscape):
        return []


def _lookup(rootfs: str, table: str, name: str, what: str) -> int:
    if name.isdigit():
        return int(name)
    for fields in _table(rootfs, table):
        if len(fields) > 2 and fields[0] == name and fields[2].isdigit():
            return int(fields[2])
    raise OwnerError(f"unable to convert uid/gid chown string to host mapping: can't find {what} "
                     f"for {name}: no such entry in the image's {table}")


def resolve_owner(rootfs: str, chown: str) -> tuple[int, int]:
    user, _, group = chown.partition(":")
    if not user:
        raise OwnerError(f"--chown={chown}: a user is required")
    uid = _lookup(rootfs, "/etc/passwd", user, "uid")
    gid = _lookup(rootfs, "/etc/group", group or user, "gid")
    return uid, gid
