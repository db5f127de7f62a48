"""What a data root must look like whenever pyctrd has started (or finished an
operation): the graph DB and the disk agree. Shared by the crash and full-disk tests."""

from __future__ import annotations

import json
import os
import sqlite3


def db_rows(root: str) -> tuple[set[str], dict[str, dict]]:
    """(image ids, container id -> record) from the graph DB, read-only (WAL readers
    do not disturb a running daemon)."""
    conn = sqlite3.connect(f"file:{root}/graph/graph.db?mode=ro", uri=True)
    try:
        images = {r[0] for r in conn.execute("SELECT id FROM images")}
        containers = {r[0]: json.loads(r[1]) for r in conn.execute("SELECT id, record FROM containers")}
    finally:
        conn.close()
    return images, containers


def graph_problems(root: str) -> list[str]:
    """Every disagreement between the DB and the disk; [] when consistent."""
    problems = []
    images, containers = db_rows(root)
    layers_home = os.path.join(root, "graph", "layers")
    vfs = os.path.isdir(os.path.join(layers_home, "dir"))
    layer_dir = os.path.join(layers_home, "dir") if vfs else layers_home
    on_disk = {n for n in os.listdir(layer_dir) if n != "l"}
    wanted = images | set(containers) | {c + "-init" for c in containers}
    if on_disk != wanted:
        problems.append(f"layers on disk vs DB: extra {on_disk - wanted}, missing {wanted - on_disk}")
    if not vfs:
        links = os.path.join(layers_home, "l")
        dangling = [n for n in os.listdir(links) if not os.path.exists(os.path.join(links, n))]
        if dangling:
            problems.append(f"dangling overlay links {dangling}")
    dirs = set(os.listdir(os.path.join(root, "containers")))
    if dirs != set(containers):
        problems.append(f"container dirs vs rows: {dirs ^ set(containers)}")
    journal = os.path.join(root, "graph", "journal")
    if os.path.isdir(journal) and os.listdir(journal):
        problems.append(f"journals left: {os.listdir(journal)}")
    tmp = os.path.join(root, "tmp")
    if os.path.isdir(tmp) and os.listdir(tmp):
        problems.append(f"temp files left: {os.listdir(tmp)}")
    temps = [n for n in os.listdir(os.path.join(root, "graph"))
             if n.startswith(("pull-", "import-", "push-"))]
    if temps:
        problems.append(f"graph temp files left: {temps}")
    return problems
