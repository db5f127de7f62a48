"""Start-up of the pyctr CLI against the docker CLI, both against the same pyctrd
in one run (issue 24: `pyctr version` within 2x of `docker version`).

    .venv/bin/python bench/cli_startup.py [--reps N]

Figures are the min and median wall time of N runs of each command line, from
exec to exit, and the ratio of the medians (pyctr / docker). pyctr three ways: as this
environment runs it (an editable install, whose import hook costs ~15 ms, and
PYTHONDONTWRITEBYTECODE=1, which compiles every module at every start); with its
bytecode cached (PYTHONPYCACHEPREFIX); and installed as users get it (`pip install`
of this tree into a venv of its own: compiled bytecode, no editable hook), run as
its console script runs. Needs root (it starts a private pyctrd)."""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from engines import DOCKER_CLI, Pyctr, busybox_tar, import_busybox  # noqa: E402

COMMANDS = [["version"], ["--version"], ["ps"], ["run", "--rm", "busybox", "true"]]


def timed(argv: list[str], env: dict[str, str], reps: int) -> list[float]:
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - t0)
    return times


def install(work: str) -> list[str]:
    """pyctr installed from this tree into a venv of its own, as `pip install` gives it
    to users; returns the command line its console script amounts to."""
    venv = os.path.join(work, "installed")
    subprocess.run(["python3", "-m", "venv", "--without-pip", venv], check=True)
    site = subprocess.run([os.path.join(venv, "bin", "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                          capture_output=True, text=True, check=True).stdout.strip()
    # its dependencies too, from the index pip is configured with (as setup.sh installs them)
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--disable-pip-version-check",
                    "--no-build-isolation", "--target", site, os.path.dirname(HERE)], check=True)
    return [os.path.join(venv, "bin", "python"), "-c", "import sys; from pyctr.shell.cli import main; sys.exit(main())"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reps", type=int, default=15)
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="pyctr-clibench-")
    engine = Pyctr(os.path.join(work, "pyctr"))
    try:
        import_busybox(engine, busybox_tar(work))
        as_here = engine.env()
        cached = {**as_here, "PYTHONPYCACHEPREFIX": os.path.join(work, "pycache")}
        cached.pop("PYTHONDONTWRITEBYTECODE", None)
        pyctr = [sys.executable, "-m", "pyctr.shell.cli"]
        subprocess.run([*pyctr, "version"], env=cached, capture_output=True, check=True)  # fill the cache
        installed = install(work)
        print(f"{'command':34} {'docker':>15} {'pyctr':>15} {'ratio':>6} {'pyctr cached':>15} {'ratio':>6} "
              f"{'pyctr installed':>15} {'ratio':>6}")
        for command in COMMANDS:
            if command == ["--version"]:
                docker = timed([DOCKER_CLI, "--version"], as_here, args.reps)
            else:
                docker = timed([DOCKER_CLI, *command], as_here, args.reps)
            ours = timed([*pyctr, *command], as_here, args.reps)
            warm = timed([*pyctr, *command], cached, args.reps)
            inst = timed([*installed, *command], as_here, args.reps)
            d, o, w, i = (statistics.median(t) for t in (docker, ours, warm, inst))
            print(f"{' '.join(command):34} {min(docker):.3f}/{d:.3f} s {min(ours):.3f}/{o:.3f} s {o / d:6.2f} "
                  f"{min(warm):.3f}/{w:.3f} s {w / d:6.2f} {min(inst):.3f}/{i:.3f} s {i / d:6.2f}")
    finally:
        engine.stop()
        subprocess.run(["umount", "-R", "-l", work], capture_output=True)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
