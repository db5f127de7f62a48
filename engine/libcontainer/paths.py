"""Resolving a path inside a root directory (a container's filesystem, a build
context) without ever leaving it, whatever symlinks it holds.

One walker, two policies where callers differ: a `..` above the root is refused
or stays at the root (as chroot does), and an absolute symlink is refused or
restarts from the root (what it means inside a container). Stdlib-only: the
container start helper imports it.
"""

from __future__ import annotations

import os

MAX_SYMLINKS = 40   # as the kernel's ELOOP limit


class PathEscape(Exception):
    """The path leaves the root (`kind` "above_root" or "absolute_link"), or has a
    symlink loop ("loop"); `link` is "name -> target" when a symlink led there."""

    def __init__(self, kind: str, path: str, link: str = "") -> None:
        super().__init__(f"{path}: {kind.replace('_', ' ')}" + (f" (symlink {link})" if link else ""))
        self.kind, self.path, self.link = kind, path, link


_END_OF_LINK = object()  # marks where a symlink's own components end on the stack


def resolve_in_root(root: str, path: str, *, clamp_above_root: bool, reroot_absolute: bool) -> str:
    """The host path of `path` inside `root`, symlinks followed within it."""
    root = root.rstrip("/") or "/"
    todo: list = [p for p in path.split("/") if p not in ("", ".")][::-1]
    done: list[str] = []
    links: list[str] = []   # the symlinks being expanded, innermost last
    hops = 0
    while todo:
        part = todo.pop()
        if part is _END_OF_LINK:
            links.pop()
            continue
        if part == "..":
            if done:
                done.pop()
            elif not clamp_above_root:
                raise PathEscape("above_root", path, links[-1] if links else "")
            continue
        here = os.path.join(root, *done, part)
        if not os.path.islink(here):
            done.append(part)
            continue
        hops += 1
        target = os.readlink(here)
        link = f"{'/'.join(done + [part])} -> {target}"
        if hops > MAX_SYMLINKS:
            raise PathEscape("loop", path, link)
        if target.startswith("/"):
            if not reroot_absolute:
                raise PathEscape("absolute_link", path, link)
            done = []
        links.append(link)
        todo.append(_END_OF_LINK)
        todo.extend([t for t in target.split("/") if t not in ("", ".")][::-1])
    return os.path.join(root, *done)
