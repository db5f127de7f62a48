"""`py`: Python inside pyctr-shell, so loops and conditions need no new language.

The namespace lives as long as the shell and holds:
  client  the shared API client (pyctr.engine.client.Client), connected to the same daemon
  result  the last pyctr command's CommandResult (.argv .status .stdout .stderr .lines .data)
  var     the shell's variables (a dict; assigning to it sets $name for later lines)
  sh      sh("ps -a") runs a pyctr-shell line and returns its CommandResult
An expression's value is printed (pretty-printed when long), as at Python's prompt.
An error in the code is one line (type, message, line), never a traceback."""

from __future__ import annotations

import pprint
import sys
from typing import Any, Callable, Protocol

from .lexer import ShellExit


class HostShell(Protocol):
    """What `py` needs of the shell that runs it (script.Shell); a protocol, so
    this module does not import script.py, which imports it."""
    vars: dict[str, str]
    last: Any
    ctx: Any
    sh: Callable[[str], Any]

    def out(self, text: str) -> None: ...

    def err(self, text: str) -> None: ...


class PyEscape:
    def __init__(self, shell: HostShell):
        self.shell = shell
        self.namespace: dict[str, Any] = {"__name__": "__pyctr__", "__builtins__": __builtins__,
                                          "var": shell.vars, "sh": shell.sh}

    def run(self, code: str, line: int = 1) -> int:
        ns = self.namespace
        ns["client"] = self.shell.ctx.plain_client
        ns["result"] = self.shell.last
        ns["var"] = self.shell.vars
        if not code.strip():
            return 0
        try:
            try:
                compiled, is_expr = compile(code, "<py>", "eval"), True
            except SyntaxError:
                compiled, is_expr = compile(code, "<py>", "exec"), False
            value = eval(compiled, ns)  # noqa: S307 - running the user's own code is the point
            if is_expr and value is not None:
                ns["_"] = value
                self.show(value)
        except KeyboardInterrupt:
            self.shell.err("py: interrupted\n")
            return 130
        except ShellExit:
            raise  # sh("exit 3") leaves the shell, as `exit 3` would
        except SystemExit as exc:
            code_ = exc.code
            return code_ if isinstance(code_, int) else (0 if code_ is None else 1)
        except SyntaxError as exc:
            where = f" (line {line + (exc.lineno or 1) - 1})" if exc.lineno else ""
            self.shell.err(f"py: SyntaxError: {exc.msg}{where}\n")
            return 1
        except Exception as exc:  # noqa: BLE001 - the user's code: report, don't crash
            self.shell.err(f"py: {self.describe(exc, line)}\n")
            return 1
        finally:
            sys.stdout.flush()
        # Stringify anything py put in var, so $name always expands to text.
        for name, value in list(self.shell.vars.items()):
            if not isinstance(value, str):
                self.shell.vars[name] = str(value)
        return 0

    def show(self, value: Any) -> None:
        text = pprint.pformat(value, width=100, sort_dicts=False)
        self.shell.out(text + "\n")

    @staticmethod
    def describe(exc: BaseException, line: int) -> str:
        from pyctr.engine.client.errors import ClientError

        from .context import describe

        if isinstance(exc, ClientError):
            return describe(exc)
        tb = exc.__traceback__
        lineno = None
        while tb is not None:  # the innermost frame that is the user's code
            if tb.tb_frame.f_code.co_filename == "<py>":
                lineno = tb.tb_lineno
            tb = tb.tb_next
        where = f" (line {line + lineno - 1})" if lineno else ""
        message = str(exc)
        return f"{type(exc).__name__}: {message}{where}" if message else f"{type(exc).__name__}{where}"
