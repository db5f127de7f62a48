"""`pyctr stats`: live resource usage of containers, or one reading (`--no-stream`),
with the docker CLI's columns, units, `--format` and live redraw."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import asdict

from pyctr.engine.client.frontend import statsview
from pyctr.engine.client.frontend.flags import Flag
from pyctr.engine.client.frontend.text import tabwrite, truncate_id

from .commands import command
from .context import CLIError, Context, describe

TICK = 0.5  # the docker CLI redraws twice a second


def render(rows: list[statsview.StatsRow], fmt: str, no_trunc: bool) -> str:
    """The rows as `docker stats --format FMT` prints them ("" = the default table)."""
    from .gotemplate import render as execute

    fmt = (fmt or statsview.DEFAULT_TABLE).replace("\\t", "\t").replace("\\n", "\n")
    values = [{**asdict(r), "ID": r.ID if no_trunc else truncate_id(r.ID)} for r in rows]
    if fmt == "json":
        return "".join(execute("{{json .}}", v) + "\n" for v in values)
    if not fmt.startswith("table"):
        return "".join(execute(fmt, v) + "\n" for v in values)
    body = fmt[len("table"):].lstrip()
    lines = [execute(body, statsview.HEADERS)] + [execute(body, v) for v in values]
    return tabwrite("\n".join(lines) + "\n", minwidth=10, padding=3)


class Watch:
    """One container's stream of readings, read on a thread; `row` is the latest."""

    def __init__(self, ctx: Context, container: str):
        self.container = container
        self.row: statsview.StatsRow | None = None
        self.error = ""
        self.done = False
        self._response = None
        self._thread = threading.Thread(target=self._read, args=(ctx,), daemon=True)
        self._thread.start()

    def _read(self, ctx: Context) -> None:
        try:
            with ctx.client.stats(self.container, stream=True) as response:
                self._response = response
                buffer = b""
                for chunk in response.chunks(4096):
                    buffer += chunk
                    *lines, buffer = buffer.split(b"\n")
                    for line in lines:
                        if line.strip():
                            self.row = statsview.row(self.container, json.loads(line))
        except Exception as exc:  # noqa: BLE001 - shown in place of the row, as docker does
            self.error = describe(exc)
        finally:
            self.done = True


def _one_reading(ctx: Context, container: str) -> statsview.StatsRow:
    with ctx.client.stats(container, stream=False) as response:
        reading = response.json() or {}
    return statsview.row(container, reading)


@command("stats", "[OPTIONS] [CONTAINER...]",
         "Display a live stream of container(s) resource usage statistics",
         Flag("-a", "--all", default=False, help="Show all containers (default shows just running)"),
         Flag("--format", default="", help="Format output using a custom template:\n"
              "'table': Print output in table format with column headers (default)\n"
              "'table TEMPLATE': Print output in table format using the given Go template\n"
              "'json': Print in JSON format\n"
              "'TEMPLATE': Print output using the given Go template."),
         Flag("--no-stream", default=False, help="Disable streaming stats and only pull the first result"),
         Flag("--no-trunc", default=False, help="Do not truncate output"),
         max_args=None)
def stats(ctx: Context, opts, args) -> int:
    fmt = "" if opts.format == "table" else opts.format
    named = list(args)

    def listed() -> list[str]:
        # docker names listed containers by their short id (the CONTAINER field)
        return [truncate_id(c.id) for c in ctx.client.containers(all=opts.all)]

    if opts.no_stream:
        from concurrent.futures import ThreadPoolExecutor

        targets = named or listed()
        errors: list[str] = []
        rows: list[statsview.StatsRow] = []
        with ThreadPoolExecutor(max_workers=max(1, min(8, len(targets)))) as pool:
            futures = [pool.submit(_one_reading, ctx, name) for name in targets]
            for future in futures:
                try:
                    rows.append(future.result())
                except Exception as exc:  # noqa: BLE001 - each failure reported, as docker
                    errors.append(describe(exc))
        if errors:
            raise CLIError("\n".join(errors))
        ctx.out(render(rows, fmt, opts.no_trunc))
        return 0

    watches = {name: Watch(ctx, name) for name in (named or listed())}
    ctx.out("\033[2J")
    while True:
        if named:
            failed = [w.error for w in watches.values() if w.done and w.error]
            if failed and len(failed) == len(watches):
                raise CLIError("\n".join(failed))
        else:  # follow containers as they come and go, as docker's event watch does
            current = listed()
            for name in current:
                if name not in watches:
                    watches[name] = Watch(ctx, name)
            for name in [n for n in watches if n not in current]:
                del watches[name]
        rows = [w.row for w in watches.values() if w.row is not None]
        text = render(rows, fmt, opts.no_trunc)
        ctx.out("\033[H" + "".join(line + "\033[K\n" for line in text.rstrip("\n").split("\n")) + "\033[J")
        time.sleep(TICK)
