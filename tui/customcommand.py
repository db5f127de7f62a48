"""A custom command of the config file, run on the selected container: its output
as it comes, then its exit code; the command log records it with that code."""

from __future__ import annotations

import asyncio
import os
import signal

from rich.text import Text
from textual import work
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, RichLog, Static

from .logview import printable


class CommandOutputScreen(ModalScreen[int | None]):
    """Runs `line` with the shell; DOCKER_HOST is the TUI's daemon, so `docker ...` and
    `pyctr ...` in a command act on the engine the TUI shows. Esc closes (and ends a
    command still running)."""

    BINDINGS = [Binding("escape,q", "close", "Close")]

    def __init__(self, title: str, line: str, host: str) -> None:
        super().__init__(classes="dialog")
        self.title_text, self.line, self.host = title, line, host
        self.exit_code: int | None = None
        self.output: list[str] = []
        self._process: asyncio.subprocess.Process | None = None

    def compose(self):
        with Vertical(classes="dialog-box command-output"):
            yield Label(Text(self.title_text, style="bold"))
            yield Static(Text(f"$ {self.line}", style="dim"))
            yield RichLog(id="output", wrap=True, markup=False, highlight=False, max_lines=5000)
            yield Static("running …", id="exit")

    def on_mount(self) -> None:
        self.query_one(RichLog).focus()
        self.run_command()

    @work(exclusive=True)
    async def run_command(self) -> None:
        log, status = self.query_one(RichLog), self.query_one("#exit", Static)
        env = {**os.environ, "DOCKER_HOST": self.host, "PYCTR_HOST": self.host}
        try:
            self._process = process = await asyncio.create_subprocess_shell(
                self.line, stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT, env=env, start_new_session=True)
        except OSError as exc:
            status.update(Text(f"could not start: {exc}", style="bold red"))
            self.app.command_log.add(f"command {self.title_text}", False, str(exc))
            return
        assert process.stdout is not None
        async for raw in process.stdout:
            text = printable(raw.decode("utf-8", "replace").rstrip("\n"))
            self.output.append(text)
            log.write(text)
        self.exit_code = code = await process.wait()
        status.update(Text(f"exit code {code}" + ("" if code == 0 else " (failed)") + " · Esc closes",
                           style="bold green" if code == 0 else "bold red"))
        self.app.command_log.add(f"command {self.title_text}: {self.line}", code == 0, f"exit code {code}")

    def action_close(self) -> None:
        process = self._process
        if process is not None and process.returncode is None:
            os.killpg(process.pid, signal.SIGKILL)   # the shell we started, its own group
        self.dismiss(self.exit_code)
