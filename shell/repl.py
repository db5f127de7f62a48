"""`pyctr-shell`: the pyctr commands at a prompt-toolkit prompt, plus scripting.

    pyctr-shell [-H HOST] [-D]                  the REPL (a script if stdin is not a terminal)
    pyctr-shell [-H HOST] -c 'LINE' [ARG...]    run LINE, exit with its status
    pyctr-shell [-H HOST] SCRIPT [ARG...]       run a script file ($1... are the ARGs)

At the prompt: Tab completes commands, flags, containers, images, signals and
ports (from the daemon, cached; see daemonstate.py); the bottom toolbar shows
the daemon's address, version and running containers, redrawn on events;
history is kept in $XDG_CONFIG_HOME/pyctr/history (~/.config/pyctr/history).
Enter continues an unfinished construct (an open quote, `for ... do` without
`done`, a trailing `|`...); long results of listing commands are paged
(pager.py). Ctrl-C interrupts the running command and the rest of the line,
Ctrl-D leaves. The language is in parser.py and script.py.

Between prompts prompt-toolkit has handed the terminal back in its normal
(cooked) mode, so commands get the terminal exactly as under `pyctr`: Ctrl-C
is a SIGINT, and `run -it` puts it in raw mode itself and restores it."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Sequence

from .lexer import PyBlock, lex
from .script import PROG, Shell, ShellContext, ShellExit, install_sigint, read_script, run_program


def history_path(environ=os.environ) -> str:
    base = environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return os.path.join(base, "pyctr", "history")


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog=PROG, description="The pyctr commands at a prompt, and scripts of them.")
    parser.add_argument("-H", "--host", default=None,
                        help="daemon socket: unix:///path or tcp://host:port "
                             "(default: $PYCTR_HOST, $DOCKER_HOST, unix:///var/run/pyctr.sock)")
    parser.add_argument("-D", "--debug", action="store_true", help="show tracebacks of internal errors")
    parser.add_argument("-c", dest="command", metavar="LINE", default=None,
                        help="run LINE (commands separated by ';' or newlines) and exit with its status")
    parser.add_argument("script", nargs="?", default=None, help="a script file to run ('-' for stdin)")
    parser.add_argument("args", nargs=argparse.REMAINDER, help="the script's $1, $2, ...")
    return parser.parse_args(list(argv))


def main(argv: Sequence[str] | None = None) -> int:
    opts = parse_args(sys.argv[1:] if argv is None else argv)
    from pyctr.engine.client.hosts import parse, resolve

    host_url = resolve(opts.host, os.environ)
    try:
        parse(host_url)
    except ValueError as exc:
        sys.stderr.write(f"{PROG}: {exc}\n")
        return 2
    ctx = ShellContext(host=host_url, debug=opts.debug, environ=os.environ)
    install_sigint()

    if opts.command is not None:
        args = ([opts.script] if opts.script is not None else []) + list(opts.args)
        shell = Shell(ctx, errexit=True, argv0=PROG, args=args)
        return run_program(shell, opts.command)
    if opts.script is not None:
        try:
            text = read_script(opts.script)
        except (OSError, UnicodeDecodeError) as exc:
            sys.stderr.write(f"{PROG}: {opts.script}: {getattr(exc, 'strerror', None) or exc}\n")
            return 127
        shell = Shell(ctx, errexit=True, argv0=opts.script, args=opts.args)
        return run_program(shell, text, f"{opts.script}: ")
    if not sys.stdin.isatty():
        shell = Shell(ctx, errexit=True)
        return run_program(shell, sys.stdin.read(), "<stdin>: ")
    return Repl(ctx, host_url).loop()


def needs_more(text: str) -> bool:
    """Enter continues the text, rather than running it, when it stops inside
    something: an open quote or `$(`, an `if`/`for`/`while`/function not yet
    closed, a trailing `|`, `&&` or `||`, or a `py` block (first line ends with
    ':' or is `py` alone) until a blank line."""
    from .parser import Incomplete, parse

    try:
        script = lex(text, partial=True)
    except Exception:  # noqa: BLE001 - let the runner report it
        return False
    last = script.statements[-1] if script.statements else None
    if isinstance(last, PyBlock) and last.open:
        return text.rsplit("\n", 1)[-1].strip() != ""
    if script.statements and any(w.open_quote for w in getattr(last, "words", [])[-1:]):
        return True
    try:
        parse(text)
    except Incomplete:
        return True
    except Exception:  # noqa: BLE001 - a real error: run it, so it is reported
        return text.rstrip().endswith("$(") or _open_substitution(text)
    return False


def _open_substitution(text: str) -> bool:
    try:
        lex(text)
    except Exception as exc:  # noqa: BLE001
        return "unbalanced parentheses" in str(exc)
    return False


def next_indent(text: str) -> str:
    last = text.rsplit("\n", 1)[-1]
    indent = last[: len(last) - len(last.lstrip())]
    if last.rstrip().endswith(":") or last.strip() == "py":
        indent += "    "
    return indent


class Repl:
    def __init__(self, ctx: ShellContext, host_url: str):
        from .daemonstate import DaemonState

        self.ctx = ctx
        self.host_url = host_url
        self.state = DaemonState(host_url)
        self.session = None
        self.shell = Shell(ctx, errexit=False, history=self._history,
                           on_command=self.state.mark_dirty)
        self.shell.interactive = True
        self.shell.paging = True
        from . import attach

        attach.SECOND_INTERRUPT_DETACHES = True

    def _history(self) -> list[str]:
        if self.session is None:
            return []
        return list(self.session.history.get_strings())  # oldest first

    def _make_session(self):
        from prompt_toolkit import PromptSession
        from prompt_toolkit.history import FileHistory, InMemoryHistory

        from .completion import PyctrCompleter
        from .highlight import ShellLexer, style

        path = history_path()
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "a"):
                pass
            history = FileHistory(path)
        except OSError as exc:
            sys.stderr.write(f"{PROG}: history not kept ({path}: {exc.strerror})\n")
            history = InMemoryHistory()
        completer = PyctrCompleter(self.state, lambda: [n for n in self.shell.vars if not n.isdigit()] + ["?"])
        return PromptSession(
            history=history, completer=completer, complete_in_thread=True,
            complete_while_typing=False, lexer=ShellLexer(), style=style(),
            bottom_toolbar=self.toolbar, key_bindings=self._bindings(), multiline=True,
            prompt_continuation=lambda width, line, wrap: "." * (width - 1) + " ",
            include_default_pygments_style=False)

    @staticmethod
    def _bindings():
        from prompt_toolkit.key_binding import KeyBindings

        bindings = KeyBindings()

        @bindings.add("enter")
        def _enter(event) -> None:
            buffer = event.current_buffer
            state = buffer.complete_state
            if state is not None and state.current_completion is not None:
                buffer.apply_completion(state.current_completion)
                return
            if needs_more(buffer.document.text_before_cursor) and buffer.document.is_cursor_at_the_end:
                buffer.insert_text("\n" + next_indent(buffer.text))
                return
            buffer.validate_and_handle()

        return bindings

    def toolbar(self):
        snap = self.state.snapshot()
        if snap.reachable is None:
            return [("class:bottom-toolbar", f" {self.host_url}  connecting... ")]
        if not snap.reachable:
            return [("class:bottom-toolbar.down", f" {self.host_url}  daemon unreachable ")]
        return [("class:bottom-toolbar",
                 f" {self.host_url}  pyctrd {snap.version}  {snap.running} running ")]

    def _invalidate(self) -> None:
        app = self.session.app if self.session is not None else None
        if app is not None and app.is_running:
            app.invalidate()  # thread-safe: schedules a redraw on the prompt's loop

    def loop(self) -> int:
        self.session = self._make_session()
        self.state.on_change(self._invalidate)
        self.state.start()
        sys.stdout.write(f"{PROG}: pyctr commands without the word pyctr; "
                         f"'help' lists them, Tab completes, Ctrl-D leaves.\n")
        status = 0
        try:
            while True:
                try:
                    text = self.session.prompt("pyctr> ")
                except KeyboardInterrupt:
                    continue
                except EOFError:
                    status = self.shell.status
                    break
                try:
                    self.shell.run_source(text)
                except ShellExit as exc:
                    status = exc.status
                    break
                except KeyboardInterrupt:
                    self.shell.status = 130
                    sys.stdout.write("\n")
                except Exception as exc:  # noqa: BLE001 - the REPL outlives its bugs
                    sys.stderr.write(f"{PROG}: internal error: {type(exc).__name__}: {exc}\n")
                    if self.ctx.debug:
                        import traceback

                        traceback.print_exc()
        finally:
            self.state.stop()
        return status


if __name__ == "__main__":
    sys.exit(main())
