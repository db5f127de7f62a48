"""pyctr against the real Docker engine, in the same run on the same machine.

    .venv/bin/python bench/run.py [--quick] [--only core ...] [--no-docker] [--publish]

Each topic is a module here with `run(engine, ctx) -> {measure: value}` (core.py:
import, images, run latency, many containers). Every engine gets its own data
root and socket, and no network of its own, so nothing touches another engine's
state. Figures are medians of wall-clock times; the ratio is pyctr / docker
(below 1: pyctr is faster). Results also go to bench/results/<time>.json, with the
README's performance table (<time>.md: date, machine, dockerd version) and a chart of
run latency and pull time (<time>.png, matplotlib: `pip install -e '.[bench]'`);
`--publish` writes those two to bench/performance.md and bench/performance.png too,
which the README shows.
Needs root; dockerd comes from Debian's docker.io and is skipped when absent.
"""

from __future__ import annotations

import argparse
import datetime
import importlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from engines import BenchContext, Docker, Pyctr, busybox_tar, import_busybox  # noqa: E402
import report as published  # noqa: E402

TOPICS = ["startup", "api_load", "memory", "floor", "core", "resources", "registry", "build", "network", "tui",
          "streams", "restore", "security", "volumes", "execlife"]


def _topic(name: str):
    """bench/<name>.py, by path: tests/ is on sys.path too and has packages of the same
    names (tests/registry), which a plain import would find first."""
    spec = importlib.util.spec_from_file_location(f"bench_{name}", os.path.join(HERE, name + ".py"))
    if spec is None or not os.path.exists(spec.origin):
        sys.exit(f"bench/run.py: no topic {name!r} (choose from {', '.join(TOPICS)})")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="smaller sizes and fewer repetitions")
    parser.add_argument("--only", nargs="*", default=[], help=f"topics: {', '.join(TOPICS)}")
    parser.add_argument("--no-docker", action="store_true", help="measure pyctr alone")
    parser.add_argument("--publish", action="store_true",
                        help="also write bench/performance.md and bench/performance.png (the README's)")
    args = parser.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench/run.py: needs root")
    names = args.only or TOPICS
    topics = [_topic(name) for name in names]
    meta = published.machine()
    work = tempfile.mkdtemp(prefix="pyctr-bench-")
    results: dict[str, dict] = {}
    topic_of: dict[str, str] = {}   # measure -> the topic that measured it
    try:
        ctx = BenchContext(work, busybox_tar(work), args.quick, 3 if args.quick else 10)
        engines = [Pyctr]
        if not args.no_docker:
            if shutil.which("dockerd"):
                engines.append(Docker)
            else:
                print("note: dockerd not found (apt-get install docker.io): pyctr only", file=sys.stderr)
        for cls in engines:
            engine = cls(os.path.join(work, cls.name))
            try:
                import_busybox(engine, ctx.busybox)
                measures: dict = {}
                for name, topic in zip(names, topics):
                    measured = topic.run(engine, ctx)
                    topic_of.update(dict.fromkeys(measured, name))
                    measures.update(measured)
                results[cls.name] = measures
            finally:
                engine.stop()
    finally:
        subprocess.run(["umount", "-R", "-l", work], capture_output=True)
        shutil.rmtree(work, ignore_errors=True)
    report(results, topic_of, meta, args.publish)


def report(results: dict[str, dict], topic_of: dict[str, str], meta: dict[str, str],
           publish: bool = False) -> None:
    pyctr, docker = results.get("pyctr", {}), results.get("docker", {})
    print(f"{'measure':44} {'pyctr':>12} {'docker':>12} {'ratio':>8}")
    for key in sorted(set(pyctr) | set(docker)):
        a, b = pyctr.get(key), docker.get(key)
        fmt = (lambda v: f"{v:12.4f}") if key.endswith("_s") else (lambda v: f"{v:12d}")
        ratio = f"{a / b:8.2f}" if a is not None and b else ""
        print(f"{key:44} {fmt(a) if a is not None else '':>12} {fmt(b) if b is not None else '':>12} {ratio}")
    os.makedirs(os.path.join(HERE, "results"), exist_ok=True)
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    base = os.path.join(HERE, "results", stamp)
    with open(base + ".json", "w") as f:
        json.dump({"meta": meta, **results}, f, indent=2)
    table = published.markdown(results, topic_of, meta)
    with open(base + ".md", "w") as f:
        f.write(table)
    drawn = published.chart(results, meta, base + ".png")
    print(f"table: {base}.md" + (f", chart: {base}.png" if drawn else ""))
    if publish:
        shutil.copyfile(base + ".md", os.path.join(HERE, "performance.md"))
        if drawn:
            shutil.copyfile(base + ".png", os.path.join(HERE, "performance.png"))
        print("published: bench/performance.md" + (", bench/performance.png" if drawn else ""))


if __name__ == "__main__":
    main()
