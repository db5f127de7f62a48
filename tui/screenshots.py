"""Make the screenshots in screenshots/ from a real pyctrd with real containers.

    .venv/bin/python -m pyctr.tui.screenshots [OUTDIR]

Starts its own pyctrd (own socket, data root and exec root in a temporary
directory), imports busybox from Debian's busybox-static, runs a few
containers, drives pyctr-tui headless through each main screen, saves an SVG of
each (and a PNG when `rsvg-convert`, from librsvg2-bin, is installed), then
removes the containers and stops the daemon."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from pyctr.engine.client.api import Client

from .app import PyctrApp
from .attachview import AttachView
from .logview import LogView

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SIZE = (110, 32)
CONTAINERS = [
    ("web", ["-d"], ["sh", "-c", "i=0; while :; do echo \"GET /index.html 200 $i\"; "
                                 "i=$((i+1)); sleep 0.3; done"]),
    ("worker", ["-d"], ["sh", "-c", "i=0; while :; do echo \"job $i done\"; "
                                    "echo \"warning: job $i slow\" >&2; i=$((i+1)); sleep 0.5; done"]),
    ("spin", ["-d"], ["sh", "-c", "while :; do :; done"]),
    ("console", ["-d", "-i", "-t"], ["sh"]),
    ("batch", [], ["sh", "-c", "echo finished"]),
]


def pyctr(host: str, *args: str, input: bytes | None = None) -> bytes:
    return subprocess.run([sys.executable, "-m", "pyctr.shell.cli", "-H", host, *args],
                          input=input, capture_output=True, check=True).stdout


SHOP = """\
version: '2'
services:
  web:
    image: busybox
    command: sh -c 'trap "exit 0" TERM; i=0; while :; do echo "GET /cart/$$i 200"; i=$$((i+1)); sleep 0.4; done'
    network_mode: none
  worker:
    image: busybox
    command: sh -c 'trap "exit 0" TERM; i=0; while :; do echo "order $$i shipped"; i=$$((i+1)); sleep 0.7; done'
    network_mode: none
"""


def docker(host: str, *args: str) -> bytes:
    return subprocess.run(["docker", "-H", host, *args], capture_output=True, check=True).stdout


def start_daemon(workdir: str) -> tuple[subprocess.Popen, str]:
    host = f"unix://{workdir}/pyctr.sock"
    log = open(os.path.join(workdir, "pyctrd.log"), "ab")
    proc = subprocess.Popen([sys.executable, "-m", "pyctr.engine.main", "-H", host,
                             "-g", os.path.join(workdir, "root"),
                             "--exec-root", os.path.join(workdir, "exec")],
                            stdout=log, stderr=subprocess.STDOUT)
    for _ in range(200):
        try:
            Client(host).ping()
            return proc, host
        except Exception:
            if proc.poll() is not None:
                break
            time.sleep(0.05)
    raise SystemExit(f"pyctrd did not start; see {workdir}/pyctrd.log")


async def wait(pilot, condition, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and not condition():
        await pilot.pause(0.1)


def select(app: PyctrApp, name: str) -> None:
    view = app.containers_view
    for row in view.rows.values():
        if row.name == name and row.id in view.table.rows:
            view.table.move_cursor(row=view.table.get_row_index(row.id))


CONFIG = """\
[keys.containers]
stop = "X"

[[commands]]
key = "H"
name = "processes and disk"
command = "docker exec {id} ps; docker exec {id} df -h /; echo checked {name}"
"""
BAD_CONFIG = """\
theme = "solarised"

[keys.containers]
stpo = "X"
logs = "ctrl+nothing"

[[commands]]
key = "s"
command = "docker logs {nam}"
"""


async def shoot(host: str, outdir: str, workdir: str) -> list[str]:
    from .detail import DetailScreen
    from .dialogs import MessageScreen
    saved: list[str] = []
    config_path, bad_path = os.path.join(workdir, "tui.toml"), os.path.join(workdir, "bad", "tui.toml")
    os.makedirs(os.path.dirname(bad_path))
    for path, text in ((config_path, CONFIG), (bad_path, BAD_CONFIG)):
        with open(path, "w") as f:
            f.write(text)
    app = PyctrApp(host, config_path)

    def save(name: str, shown: PyctrApp = app) -> None:
        saved.append(shown.save_screenshot(f"{name}.svg", outdir))

    async with app.run_test(size=SIZE) as pilot:
        await wait(pilot, lambda: app.connected)
        view = app.containers_view
        await wait(pilot, lambda: sum(1 for r in view.rows.values() if len(r.cpu) >= 4) >= 3)
        select(app, "spin")
        await pilot.pause(0.3)
        save("containers")

        await pilot.press("2")
        await pilot.pause(0.5)
        save("images")

        for name in ("web", "worker"):
            await pilot.press("1")
            select(app, name)
            await pilot.press("l")
            await wait(pilot, lambda: any(p.cname == name and len(p.buffer) > 5
                                          for p in app.query(LogView)))
        await pilot.pause(1.0)
        save("logs")

        await pilot.press("1")
        select(app, "console")
        await pilot.press("e")
        await wait(pilot, lambda: app.query(AttachView) and app.query_one(AttachView).state == "attached")
        await pilot.pause(0.5)
        await pilot.press(*"top", "enter")
        await pilot.pause(2.5)
        save("attach-top")
        await pilot.press("q")   # quits top inside the container, not the TUI
        await pilot.press("ctrl+p", "ctrl+q")
        await pilot.pause(0.3)

        await pilot.press("5")
        await pilot.pause(0.3)
        save("events")

        await pilot.press("1")
        app.action_run_form("busybox")
        await pilot.pause(0.3)
        await pilot.press(*"api")
        app.screen.query_one("#command").value = "sh -c 'httpd -f -p 8080'"
        app.screen.query_one("#env").value = "MODE=demo, LEVEL=3"
        await pilot.pause(0.3)
        save("run-form")
        await pilot.press("escape")

        await pilot.press("question_mark")
        await pilot.pause(0.3)
        save("help")
        await pilot.press("escape")

        # the compose project, grouped, two containers marked
        await pilot.press("1", "g")
        await wait(pilot, lambda: len(view.project_rows("shop")) == 2)
        await pilot.pause(0.3)
        for name in ("web", "worker"):
            select(app, name)
            await pilot.press("space")
        select(app, "spin")
        await pilot.pause(0.5)
        save("projects")
        view.clear_marks()

        from .containers import PROJECT_KEY
        view.table.move_cursor(row=view.table.get_row_index(PROJECT_KEY + "shop"))
        await pilot.press("L")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await wait(pilot, lambda: any(p.merged and len({line.source for line in p.buffer}) == 2
                                      for p in app.query(LogView)))
        await pilot.pause(1.5)
        save("merged-logs")

        await pilot.press("1")
        select(app, "web")
        await pilot.press("E")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await wait(pilot, lambda: any(getattr(p, "exec_id", "") and p.state == "attached"
                                      for p in app.query(AttachView)))
        await pilot.pause(0.5)
        await pilot.press(*"ps; df -h /", "enter")
        await pilot.pause(1.0)
        save("exec")
        await pilot.press(*"exit", "enter")
        await pilot.pause(0.5)

        await pilot.press("6")
        await wait(pilot, lambda: "demo-net" in app._networks.items)
        await pilot.pause(0.3)
        save("networks")
        await pilot.press("7")
        await wait(pilot, lambda: "demo-data" in app._volumes.items)
        await pilot.pause(0.3)
        save("volumes")
        await pilot.press("P")
        await pilot.pause(0.2)
        await pilot.press("y")
        await wait(pilot, lambda: "demo-scratch" not in app._volumes.items)
        await pilot.press("1")
        select(app, "batch")
        await pilot.press("p")        # refused: it is not running
        await pilot.press("s")        # batch runs its echo again
        await pilot.pause(1.0)
        await pilot.press("8")
        await pilot.pause(0.5)
        save("command-log")

        await pilot.press("1")
        select(app, "web")
        await pilot.press("v")
        await wait(pilot, lambda: isinstance(app.screen, DetailScreen) and app.screen.readings >= 4
                   and len(app.screen.logs.buffer) > 5)
        await pilot.pause(1.0)
        save("detail")
        await pilot.press("escape")
        select(app, "db")
        await pilot.press("H")
        await wait(pilot, lambda: getattr(app.screen, "exit_code", None) is not None)
        await pilot.pause(0.3)
        save("custom-command")
        await pilot.press("escape")

    bad = PyctrApp(host, bad_path)
    async with bad.run_test(size=SIZE) as pilot:
        await wait(pilot, lambda: bad.connected and isinstance(bad.screen, MessageScreen))
        await pilot.pause(0.5)
        save("config-problems", bad)
    return saved


def to_png(svgs: list[str]) -> list[str]:
    converter = shutil.which("rsvg-convert")
    if converter is None:
        print("rsvg-convert not found (apt-get install librsvg2-bin): SVG only", file=sys.stderr)
        return []
    pngs = []
    for svg in svgs:
        png = svg[:-4] + ".png"
        subprocess.run([converter, "--zoom", "1", svg, "-o", png], check=True)
        pngs.append(png)
    return pngs


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    outdir = os.path.abspath(argv[0] if argv else os.path.join(REPO, "screenshots"))
    os.makedirs(outdir, exist_ok=True)
    workdir = tempfile.mkdtemp(prefix="pyctr-shots-")
    proc, host = start_daemon(workdir)
    try:
        tar = subprocess.run([sys.executable, os.path.join(REPO, "scripts", "mkimage-busybox.py")],
                             capture_output=True, check=True).stdout
        pyctr(host, "import", "-", "busybox:latest", input=tar)
        pyctr(host, "tag", "busybox:latest", "busybox:1.35")
        for name, flags, cmd in CONTAINERS:
            pyctr(host, "run", *flags, "--name", name, "busybox", *cmd)
        cid = pyctr(host, "ps", "-a", "-q", "-l").decode().strip()   # batch: commit its change
        pyctr(host, "commit", cid, "demo/app:1.0")
        docker(host, "network", "create", "--subnet", "10.77.0.0/24", "demo-net")
        docker(host, "volume", "create", "demo-data")
        docker(host, "volume", "create", "demo-scratch")
        docker(host, "run", "-d", "--name", "db", "-v", "demo-data:/var/lib/db", "--network", "demo-net",
               "-p", "127.0.0.1:8080:8080", "busybox", "httpd", "-f", "-p", "8080")
        project = os.path.join(workdir, "shop")
        os.makedirs(project)
        with open(os.path.join(project, "docker-compose.yml"), "w") as f:
            f.write(SHOP)
        subprocess.run(["docker-compose", "-p", "shop", "up", "-d", "--no-color"], cwd=project, check=True,
                       env={**os.environ, "DOCKER_HOST": host}, capture_output=True)
        svgs = asyncio.run(shoot(host, outdir, workdir))
        for path in svgs + to_png(svgs):
            print(path)
    finally:
        for name, _, _ in CONTAINERS:
            subprocess.run([sys.executable, "-m", "pyctr.shell.cli", "-H", host, "rm", "-f", name],
                           capture_output=True)
        for args in (["rm", "-f", "db", "shop_web_1", "shop_worker_1"], ["network", "rm", "demo-net"],
                     ["volume", "rm", "demo-data", "demo-scratch"]):
            subprocess.run(["docker", "-H", host, *args], capture_output=True)
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
        subprocess.run(["umount", "-R", "-l", os.path.join(workdir, "root")], capture_output=True)
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
