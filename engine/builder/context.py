"""The build context: the client's tarball unpacked into a private directory, pruned by
.dockerignore, and the rules for naming files in it (ADD/COPY sources).

A source may not leave the context, neither with `..` nor through a symlink whose
target lies outside it (Docker 1.2: "Forbidden path outside the build context").
Symlinks inside copied directories are copied as symlinks, never followed.
Blocking functions: the builder runs them in worker threads.
"""

from __future__ import annotations

import hashlib
import os
import posixpath
import re
import shutil
import stat
from dataclasses import dataclass
from typing import BinaryIO

from ..archive import ArchiveError, unpack
from ..libcontainer.paths import PathEscape, resolve_in_root
from ..dockerignore import IgnoreError, IgnorePattern, ignored  # noqa: F401 - ignored: for the builder
from ..pathmatch import PatternError, go_pattern
from ..dockerignore import parse as parse_ignore

GLOB_CHARS = re.compile(r"[*?\[]")


class ContextError(Exception):
    """A bad context or a source that cannot be used; the message says which."""


def extract(stream: BinaryIO, dest: str) -> None:
    """Unpack the context tar (plain or compressed) into the empty directory `dest`."""
    try:
        unpack(stream, dest, unterminated_ok=True)   # as the CLI's `build -f -` sends it
    except ArchiveError as exc:
        raise ContextError(f"Error processing the build context tar: {exc}") from None


# --- .dockerignore ------------------------------------------------------------------

def ignore_patterns(text: str) -> list[IgnorePattern]:
    try:
        return parse_ignore(text)
    except IgnoreError as exc:
        raise ContextError(str(exc)) from None


def read_ignore(root: str) -> list[IgnorePattern]:
    path = os.path.join(root, ".dockerignore")
    if not os.path.isfile(path) or os.path.islink(path):
        return []
    with open(path, encoding="utf-8", errors="replace") as f:
        return ignore_patterns(f.read())


def apply_ignore(root: str) -> list[str]:
    """Delete what .dockerignore excludes, the Dockerfile and .dockerignore too when they
    are listed (the client sent them, the build reads them, but a COPY never sees
    them). A matched directory goes whole unless an exception may take something
    inside it back. Returns the removed relative paths."""
    patterns = read_ignore(root)
    removed: list[str] = []
    if not patterns:
        return removed
    exceptions = any(p.exception for p in patterns)
    kept_dirs: list[str] = []   # matched, walked for exceptions: removed at the end if empty
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = os.path.relpath(dirpath, root)
        rel_dir = "" if rel_dir == "." else rel_dir
        for name in list(dirnames):
            rel = f"{rel_dir}/{name}" if rel_dir else name
            full = os.path.join(dirpath, name)
            if not ignored(rel, patterns):
                continue
            if exceptions and not os.path.islink(full):
                kept_dirs.append(rel)
                continue
            if os.path.islink(full):
                os.unlink(full)
            else:
                shutil.rmtree(full)
            dirnames.remove(name)
            removed.append(rel)
        for name in filenames:
            rel = f"{rel_dir}/{name}" if rel_dir else name
            if ignored(rel, patterns):
                os.unlink(os.path.join(dirpath, name))
                removed.append(rel)
    for rel in sorted(kept_dirs, key=len, reverse=True):
        full = os.path.join(root, rel)
        if not os.listdir(full):
            os.rmdir(full)
            removed.append(rel)
    return removed


# --- naming files in the context ----------------------------------------------------------

def resolve(root: str, name: str, what: str = "") -> str:
    """The host path of context path `name`, following symlinks only while they stay inside
    the context; ContextError if the path or a link on the way leaves it."""
    shown = what or name
    try:
        return resolve_in_root(root, name, clamp_above_root=False, reroot_absolute=False)
    except PathEscape as e:
        if e.kind == "loop":
            raise ContextError(f"{shown}: too many levels of symbolic links") from None
        detail = f" (symlink {e.link})" if e.link else ""
        raise ContextError(f"Forbidden path outside the build context: {shown}{detail}") from None


def expand(root: str, name: str) -> list[str]:
    """A source that may hold wildcards -> the matching context paths (relative, sorted)."""
    cleaned = os.path.normpath(name.lstrip("/")) if name.strip("/") else "."
    if cleaned == ".." or cleaned.startswith("../"):
        raise ContextError(f"Forbidden path outside the build context: {name}")
    if not GLOB_CHARS.search(cleaned):
        return [cleaned]
    try:
        regex = go_pattern(cleaned)
    except PatternError as exc:
        raise ContextError(f"{name}: {exc}") from None
    found = matching_paths(root, regex)
    if not found:
        raise ContextError(f"{name}: no source files were specified (no match in the context)")
    return sorted(found)


# --- checksums for the cache ---------------------------------------------------------------

@dataclass(frozen=True)
class Source:
    path: str          # host path (symlinks resolved)
    name: str          # as given (for messages) and for the destination's base name
    checksum: str      # "file:<sha256>" or "dir:<sha256>"

    @property
    def is_dir(self) -> bool:
        return os.path.isdir(self.path)


def _hash_file(h, path: str) -> None:
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)


def checksum(path: str, name: str = "") -> str:
    """What ADD/COPY's cache key sees of a source: names, types, modes, link targets and
    content (not times or owners: the copy's owner is root or --chown's, whatever the
    context said). A file's base name counts: it names the copy in a directory."""
    st = os.stat(path)
    h = hashlib.sha256()
    if not stat.S_ISDIR(st.st_mode):
        h.update(f"{posixpath.basename(name)}\0{stat.S_IMODE(st.st_mode):o}\0".encode(
            "utf-8", "surrogateescape"))
        _hash_file(h, path)
        return f"file:{h.hexdigest()}"
    for dirpath, dirnames, filenames in os.walk(path):
        dirnames.sort()
        rel_dir = os.path.relpath(dirpath, path)
        for name in sorted(dirnames + filenames):
            full = os.path.join(dirpath, name)
            lst = os.lstat(full)
            h.update(f"{rel_dir}/{name}\0{lst.st_mode:o}\0".encode("utf-8", "surrogateescape"))
            if stat.S_ISLNK(lst.st_mode):
                h.update(os.readlink(full).encode("utf-8", "surrogateescape"))
            elif stat.S_ISREG(lst.st_mode):
                _hash_file(h, full)
            h.update(b"\0")
    return f"dir:{h.hexdigest()}"


def source(root: str, rel: str) -> Source:
    path = resolve(root, rel)
    if not os.path.lexists(path):
        raise ContextError(f"{rel}: no such file or directory in the build context")
    return Source(path, rel, checksum(path, rel))


def matching_paths(root: str, regex) -> list[str]:
    """Every path under `root` (relative, "/"-separated) that `regex` matches; links are
    not followed."""
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = os.path.relpath(dirpath, root)
        rel_dir = "" if rel_dir == "." else rel_dir
        for entry in dirnames + filenames:
            rel = f"{rel_dir}/{entry}" if rel_dir else entry
            if regex.match(rel):
                found.append(rel)
    return found
