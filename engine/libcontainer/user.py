"""Resolve a Docker user spec ("", "name", "uid", "name:group", "uid:gid") against
the container's own /etc/passwd and /etc/group (read after pivot_root).

Stdlib-only (runs in the container init).
"""

from __future__ import annotations


class UnknownUser(LookupError):
    pass


class ExecUser:
    __slots__ = ("uid", "gid", "groups", "home")

    def __init__(self, uid: int, gid: int, groups: list[int], home: str):
        self.uid = uid
        self.gid = gid
        self.groups = groups   # supplementary gids
        self.home = home

    def __repr__(self) -> str:
        return f"ExecUser(uid={self.uid}, gid={self.gid}, groups={self.groups}, home={self.home!r})"


def _read_db(path: str, fields: int) -> list[list[str]]:
    rows = []
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            for line in f:
                line = line.strip()
                if not line or line.startswith("#"):
                    continue
                parts = line.split(":")
                if len(parts) >= fields:
                    rows.append(parts)
    except FileNotFoundError:
        pass
    return rows


def lookup(spec: str, passwd: str = "/etc/passwd", group: str = "/etc/group") -> ExecUser:
    user_part, _, group_part = spec.partition(":")
    users = _read_db(passwd, 7)     # name:pw:uid:gid:gecos:home:shell
    groups = _read_db(group, 4)     # name:pw:gid:members

    name = ""
    uid, gid, home = 0, 0, "/"
    if user_part == "":
        user_part = "0"
    entry = next((u for u in users if u[0] == user_part), None)
    if entry is None and user_part.isdigit():
        entry = next((u for u in users if u[2] == user_part), None)
        if entry is None:
            # Docker allows a numeric uid that has no passwd entry.
            uid = int(user_part)
    if entry is None and not user_part.isdigit():
        raise UnknownUser(f"Unable to find user {user_part}: no matching entries in passwd file")
    if entry is not None:
        name, uid, gid, home = entry[0], int(entry[2]), int(entry[3]), entry[5] or "/"

    if group_part:
        g = next((g for g in groups if g[0] == group_part), None)
        if g is not None:
            gid = int(g[2])
        elif group_part.isdigit():
            gid = int(group_part)
        else:
            raise UnknownUser(f"Unable to find group {group_part}: no matching entries in group file")

    supplementary = sorted({int(g[2]) for g in groups
                            if name and name in g[3].split(",") and int(g[2]) != gid})
    return ExecUser(uid, gid, supplementary, home)


def more_groups(groups: list[int], names: list[str], group: str = "/etc/group") -> list[int]:
    """`groups` with each of `names` (a group name, or a gid) added (--group-add)."""
    rows = _read_db(group, 4)
    out = list(groups)
    for name in names:
        g = next((g for g in rows if g[0] == name), None)
        if g is not None:
            gid = int(g[2])
        elif name.isdigit():
            gid = int(name)
        else:
            raise UnknownUser(f"Unable to find group {name}: no matching entries in group file")
        if gid not in out:
            out.append(gid)
    return out
