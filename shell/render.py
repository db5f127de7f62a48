"""Output formats of the Docker 1.2 CLI, as pure functions: API records in, text out.

Tables go through `tabwrite` (frontend/text.py), a port of Go's text/tabwriter with the settings
Docker used (minwidth 20, padding 3, spaces), fed the same tab-separated lines
Docker's Fprintf calls wrote, so column widths and even the trailing cell
padding of `ps` come out as Docker printed them."""

from __future__ import annotations

import json
import time
from datetime import datetime
from typing import Any, Iterable, Sequence

from pyctr.engine.client.frontend.text import (SHORT_ID, ago, display_ports, human_duration,  # noqa: F401
                                               human_size, tabwrite, trunc, truncate_id)
from pyctr.engine.client.models import (Change, ContainerSummary, HistoryEntry, ImageSummary,
                                        Info, SearchResult, TopResult, Version)

def go_quote(text: str) -> str:
    """Go's strconv.Quote, close enough for command lines."""
    return json.dumps(text, ensure_ascii=False)


def rfc3339(timestamp: float) -> str:
    """A Unix time as Go's RFC3339 in local time ("2014-08-20T10:00:00Z" in UTC)."""
    stamp = datetime.fromtimestamp(timestamp).astimezone()
    text = stamp.isoformat(timespec="seconds")
    return text[:-6] + "Z" if text.endswith("+00:00") else text


# --- containers ---------------------------------------------------------------


def ps_table(containers: Iterable[ContainerSummary], no_trunc: bool = False, size: bool = False,
             quiet: bool = False, now: float | None = None) -> str:
    text = ""
    if not quiet:
        text += "CONTAINER ID\tIMAGE\tCOMMAND\tCREATED\tSTATUS\tPORTS\tNAMES"
        text += "\tSIZE\n" if size else "\n"
    for c in containers:
        cid = c.id if no_trunc else truncate_id(c.id)
        if quiet:
            text += cid + "\n"
            continue
        command = go_quote(c.command)
        if not no_trunc:
            command = trunc(command, 20)
        names = ",".join(n[1:] if n.startswith("/") else n for n in c.names)
        # Docker ended the row with a tab whether or not SIZE followed: keep it,
        # it decides how the NAMES column is padded.
        text += (f"{cid}\t{c.image}\t{command}\t{ago(c.created, now)}\t{c.status}\t"
                 f"{display_ports(c.ports)}\t{names}\t")
        if size:
            if c.size_root_fs > 0:
                text += f"{human_size(c.size_rw)} (virtual {human_size(c.size_root_fs)})\n"
            else:
                text += f"{human_size(c.size_rw)}\n"
        else:
            text += "\n"
    return tabwrite(text)


def diff_lines(changes: Iterable[Change]) -> str:
    kinds = {0: "C", 1: "A", 2: "D"}
    return "".join(f"{kinds.get(c.kind, '?')} {c.path}\n" for c in changes)


def top_table(top: TopResult) -> str:
    text = "\t".join(top.titles) + "\n"
    text += "".join("\t".join(proc) + "\n" for proc in top.processes)
    return tabwrite(text)


# --- images -------------------------------------------------------------------


def split_repo_tag(name: str) -> tuple[str, str]:
    """Docker's ParseRepositoryTag: the tag is after the last ':' unless that part has a '/'
    (then the ':' belonged to a registry port)."""
    n = name.rfind(":")
    if n < 0:
        return name, ""
    tag = name[n + 1:]
    if "/" not in tag:
        return name[:n], tag
    return name, ""


def images_table(images: Iterable[ImageSummary], no_trunc: bool = False, quiet: bool = False,
                 now: float | None = None, digests: bool = False) -> str:
    """With `digests`, a DIGEST column: the repo digest a repository's tag was pulled or
    pushed at, and a `repo <none>` row for an image pulled by digest only."""
    head = "REPOSITORY\tTAG\tDIGEST\tIMAGE ID" if digests else "REPOSITORY\tTAG\tIMAGE ID"
    text = "" if quiet else head + "\tCREATED\tVIRTUAL SIZE\n"
    for image in images:
        iid = image.id if no_trunc else truncate_id(image.id)
        rows = [split_repo_tag(t) for t in image.repo_tags]
        by_repo: dict[str, str] = {}
        for ref in getattr(image, "repo_digests", None) or []:
            repo, _, digest = ref.partition("@")
            by_repo.setdefault(repo, digest)
        if digests:
            tagged = {repo for repo, _ in rows}
            rows = [r for r in rows if r != ("<none>", "<none>") or not by_repo]
            rows += [(repo, "<none>") for repo in by_repo if repo not in tagged]
        for repo, tag in rows:
            if quiet:
                text += iid + "\n"
                continue
            digest = "\t" + by_repo.get(repo, "<none>") if digests else ""
            text += (f"{repo}\t{tag}{digest}\t{iid}\t{ago(image.created, now)}\t"
                     f"{human_size(image.virtual_size)}\n")
    return tabwrite(text)


def images_tree(images: Sequence[ImageSummary], no_trunc: bool = False, start: str = "") -> str:
    """`images --tree`: the parent/child forest of all layers, in API order.

    With `start` (an id, short id or repo:tag), only that image's subtree."""
    by_parent: dict[str, list[ImageSummary]] = {}
    roots: list[ImageSummary] = []
    start_image = None
    for image in images:
        if image.parent_id:
            by_parent.setdefault(image.parent_id, []).append(image)
        else:
            roots.append(image)
        if start and (start in (image.id, truncate_id(image.id)) or start in image.repo_tags):
            start_image = image
    if start:
        if start_image is None:
            return ""
        roots = [start_image]
    out: list[str] = []

    def node(image: ImageSummary, prefix: str) -> None:
        iid = image.id if no_trunc else truncate_id(image.id)
        line = f"{prefix}{iid} Virtual Size: {human_size(image.virtual_size)}"
        if image.repo_tags and image.repo_tags[0] != "<none>:<none>":
            line += f" Tags: {', '.join(image.repo_tags)}"
        out.append(line + "\n")

    def walk(level: list[ImageSummary], prefix: str) -> None:
        for index, image in enumerate(level):
            last = index + 1 == len(level)
            node(image, prefix + ("└─" if last else "├─"))
            children = by_parent.get(image.id)
            if children:
                walk(children, prefix + ("  " if last else "│ "))

    walk(roots, "")
    return "".join(out)


def history_table(entries: Iterable[HistoryEntry], no_trunc: bool = False, quiet: bool = False,
                  now: float | None = None) -> str:
    text = "" if quiet else "IMAGE\tCREATED\tCREATED BY\tSIZE\n"
    for entry in entries:
        iid = entry.id if no_trunc else truncate_id(entry.id)
        if quiet:
            text += iid + "\n"
            continue
        created_by = entry.created_by if no_trunc else trunc(entry.created_by, 45)
        text += f"{iid}\t{ago(entry.created, now)}\t{created_by}\t{human_size(entry.size)}\n"
    return tabwrite(text)


def search_table(results: Iterable[SearchResult], no_trunc: bool = False, automated: bool = False,
                 stars: int = 0) -> str:
    text = "NAME\tDESCRIPTION\tSTARS\tOFFICIAL\tAUTOMATED\n"
    for r in results:
        if (automated and not r.is_automated) or stars > r.star_count:
            continue
        desc = r.description.replace("\n", " ").replace("\r", " ")
        if not no_trunc and len(desc) > 45:
            desc = trunc(desc, 42) + "..."
        text += f"{r.name}\t{desc}\t{r.star_count}\t"
        text += "[OK]" if r.is_official else ""
        text += "\t" + ("[OK]" if r.is_automated else "") + "\n"
    return tabwrite(text, minwidth=10)


# --- system -------------------------------------------------------------------


def client_version_text(client_version: str, api_version: str, python_version: str,
                        os_arch: str) -> str:
    return (f"Client version: {client_version}\n"
            f"Client API version: {api_version}\n"
            f"Python version (client): {python_version}\n"
            f"OS/Arch (client): {os_arch}\n")


def server_version_text(server: Version) -> str:
    text = f"Server version: {server.version}\n"
    if server.api_version:
        text += f"Server API version: {server.api_version}\n"
    return text + (f"Go version (server): {server.go_version}\n"
                   f"Git commit (server): {server.git_commit}\n")


def info_text(info: Info, debug_client: bool = False, username: str = "") -> tuple[str, str]:
    """(stdout text, stderr warnings) of `info`, in Docker 1.2's order."""
    text = (f"Containers: {info.containers}\n"
            f"Images: {info.images}\n"
            f"Storage Driver: {info.driver}\n")
    text += "".join(f" {pair[0]}: {pair[1]}\n" for pair in info.driver_status if len(pair) == 2)
    text += (f"Execution Driver: {info.execution_driver}\n"
             f"Kernel Version: {info.kernel_version}\n")
    if info.operating_system is not None:
        text += f"Operating System: {info.operating_system}\n"
    if info.debug or debug_client:
        text += (f"Debug mode (server): {str(info.debug).lower()}\n"
                 f"Debug mode (client): {str(debug_client).lower()}\n"
                 f"Fds: {info.n_fd}\n"
                 f"Goroutines: {info.n_goroutines}\n"
                 f"EventsListeners: {info.n_events_listener}\n")
        if info.init_sha1:
            text += f"Init SHA1: {info.init_sha1}\n"
        if info.init_path:
            text += f"Init Path: {info.init_path}\n"
    if username and info.index_server_address:
        text += f"Username: {username}\nRegistry: [{info.index_server_address}]\n"
    warnings = ""
    if not info.memory_limit:
        warnings += "WARNING: No memory limit support\n"
    if not info.swap_limit:
        warnings += "WARNING: No swap limit support\n"
    if not info.ipv4_forwarding:
        warnings += "WARNING: IPv4 forwarding is disabled.\n"
    return text, warnings


# --- JSON message streams (pull, push, import, build, load, events) -----------


def progress_bar(detail: dict[str, Any], now: float | None = None) -> str:
    """Docker's JSONProgress.String(): `[=====>    ] 1.2 MB/3.4 MB 2s`."""
    current, total = int(detail.get("current") or 0), int(detail.get("total") or 0)
    if current <= 0 and total <= 0:
        return ""
    if total <= 0:
        return f"{human_size(current):>8}"
    half = min(50, int(current / total * 100) // 2)
    text = f"[{'=' * half}>{' ' * (50 - half)}] {human_size(current):>8}/{human_size(total)}"
    start = int(detail.get("start") or 0)
    if start > 0 and half < 50 and current > 0:
        now = time.time() if now is None else now
        left = int((now - start) / current * (total - current))
        text += " " + _go_duration(left)
    return text


def _go_duration(seconds: int) -> str:
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    if h:
        return f"{h}h{m}m{s}s"
    if m:
        return f"{m}m{s}s"
    return f"{s}s"


def message_line(msg: dict[str, Any], is_terminal: bool) -> str | None:
    """One message as Docker's JSONMessage.Display printed it (None = print nothing).

    Outside a terminal, progress updates are dropped as Docker dropped them."""
    has_progress = msg.get("progressDetail") is not None
    endl = ""
    prefix = ""
    if is_terminal and not msg.get("stream") and has_progress:
        prefix, endl = "\x1b[2K\r", "\r"
    elif has_progress:
        return None
    text = prefix
    if msg.get("time"):
        text += rfc3339(msg["time"]) + " "
    if msg.get("id"):
        text += f"{msg['id']}: "
    if msg.get("from"):
        text += f"(from {msg['from']}) "
    status = msg.get("status") or ""
    if has_progress:
        bar = progress_bar(msg["progressDetail"]) or msg.get("progress") or ""
        text += f"{status} {bar}{endl}"
    elif msg.get("progress"):
        text += f"{status} {msg['progress']}{endl}"
    elif msg.get("stream"):
        text += f"{msg['stream']}{endl}"
    else:
        text += f"{status}{endl}\n"
    return text
