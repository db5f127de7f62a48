"""What bench/run.py writes besides its console table: the README's performance table
(Markdown, with the date, the machine and the dockerd version of the run) and a chart
(PNG, matplotlib) of run latency and pull time against dockerd."""

from __future__ import annotations

import datetime
import os
import platform
import shutil
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))

# The chart's two panels: (measure, label) pairs, each drawn when the run measured it.
RUN_LATENCY = [("run_rm_true_docker_cli_s", "docker run --rm true"),
               ("docker_version_cli_s", "docker version (the CLI's floor)"),
               ("daemon_start_to_ping_s", "daemon start to /_ping"),
               ("ps_a_100_cli_s", "docker ps -a, 100 containers")]
PULL_TIME = [("pull_230mb_1_layer_s", "pull 230 MB, 1 layer"), ("pull_23mb_1_layer_s", "pull 23 MB, 1 layer"),
             ("pull_10_layers_s", "pull 10 layers")]


def _run(argv: list[str]) -> str:
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return ""


def machine() -> dict[str, str]:
    """The date, the machine and the engines' versions of a run."""
    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "")
    except OSError:
        pass
    with open("/proc/meminfo") as f:
        mem_kib = int(next(line.split()[1] for line in f if line.startswith("MemTotal:")))
    dockerd = _run(["dockerd", "--version"]) if shutil.which("dockerd") else "not installed"
    return {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": f"{cpu or platform.machine()}, {os.cpu_count()} cores, {mem_kib >> 20} GiB, "
                   f"Linux {platform.release()}",
        "load_at_start": " ".join(f"{x:.1f}" for x in os.getloadavg()),
        "dockerd": dockerd,
        "docker_cli": _run(["docker", "--version"]),
        "python": platform.python_version(),
        "pyctr_commit": _run(["git", "-C", HERE, "rev-parse", "--short", "HEAD"]),
    }


def _value(key: str, value) -> str:
    if value is None:
        return ""
    if key.endswith("_kib"):
        return f"{value / 1024:.1f} MiB"
    if key.endswith("_s"):
        return f"{value:.3f} s" if value < 10 else f"{value:.1f} s"
    return f"{value:,}"


def ratio(key: str, pyctr, docker) -> float | None:
    """pyctr / dockerd, for every measure alike (a rate's reads the other way round)."""
    if pyctr is None or not docker:
        return None
    return pyctr / docker


def markdown(results: dict[str, dict], topics: dict[str, str], meta: dict[str, str]) -> str:
    pyctr, docker = results.get("pyctr", {}), results.get("docker", {})
    lines = [f"Measured {meta['date']} on {meta['machine']} (load average {meta['load_at_start']} "
             f"at the start: the cores are shared), against {meta['dockerd']} in the same run; "
             f"pyctr {meta['pyctr_commit']}, Python {meta['python']}, {meta['docker_cli']}. "
             "Ratio: pyctr / dockerd (below 1: pyctr takes less; for a rate (/s), above 1: "
             "pyctr serves more). Regenerate with `bench/run.py --publish`.", "",
             "| topic | measure | pyctr | dockerd | ratio |", "|---|---|---:|---:|---:|"]
    order = list(dict.fromkeys(topics.values()))
    for key in sorted(set(pyctr) | set(docker), key=lambda k: (order.index(topics.get(k, order[-1]))
                                                              if topics.get(k) in order else 99, k)):
        r = ratio(key, pyctr.get(key), docker.get(key))
        lines.append(f"| {topics.get(key, '')} | `{key}` | {_value(key, pyctr.get(key))} | "
                     f"{_value(key, docker.get(key))} | {'' if r is None else f'{r:.2f}'} |")
    return "\n".join(lines) + "\n"


def chart(results: dict[str, dict], meta: dict[str, str], path: str) -> bool:
    """The PNG; False (and a note) without matplotlib (`pip install -e '.[bench]'`)."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("note: no chart: matplotlib is missing (pip install -e '.[bench]')")
        return False
    pyctr, docker = results.get("pyctr", {}), results.get("docker", {})
    panels = [("Run latency and daemon start", RUN_LATENCY), ("Pull from a local registry", PULL_TIME)]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for ax, (title, measures) in zip(axes, panels):
        shown = [(k, label) for k, label in measures if k in pyctr or k in docker]
        ax.set_title(title)
        if not shown:
            ax.text(0.5, 0.5, "not measured in this run", ha="center", va="center", transform=ax.transAxes)
            ax.set_axis_off()
            continue
        xs = range(len(shown))
        width = 0.38
        ours = [pyctr.get(k, 0) for k, _ in shown]
        theirs = [docker.get(k, 0) for k, _ in shown]
        ax.bar([x - width / 2 for x in xs], ours, width, label="pyctrd", color="#2a7ab9")
        ax.bar([x + width / 2 for x in xs], theirs, width, label="dockerd", color="#9a9a9a")
        for x, a, b in zip(xs, ours, theirs):
            if a and b:
                ax.annotate(f"{a / b:.2f}x", (x - width / 2, a), ha="center", va="bottom", fontsize=8)
        if measures is RUN_LATENCY and pyctr.get("runc_run_true_s"):
            ax.axhline(pyctr["runc_run_true_s"], linestyle="--", color="#c0392b", linewidth=1,
                       label="runc run true (the kernel's floor)")
        ax.set_xticks(list(xs), [label for _, label in shown], fontsize=8)
        ax.set_ylabel("seconds (median)")
        ax.legend(fontsize=8)
    fig.suptitle(f"pyctrd against {meta['dockerd'].split(',')[0]}, {meta['date']}", fontsize=10)
    fig.text(0.5, 0.01, meta["machine"], ha="center", fontsize=7)
    fig.tight_layout(rect=(0, 0.03, 1, 0.95))
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True
