"""Syntax highlighting of the pyctr-shell command line.

Built on the same lexer that runs the line, so what is coloured as a quoted
string or a variable is exactly what will be treated as one. `py` code is
coloured by Pygments' Python lexer. Unknown commands show in red before Enter
(programs on PATH in plain green, reserved words like builtins)."""

from __future__ import annotations

import functools
import shutil
from typing import Callable

from prompt_toolkit.document import Document
from prompt_toolkit.formatted_text import StyleAndTextTuples
from prompt_toolkit.lexers import Lexer
from prompt_toolkit.styles import Style, merge_styles, style_from_pygments_cls
from prompt_toolkit.styles.pygments import pygments_token_to_classname

from . import commands
from .lexer import ASSIGNMENT, Command, PyBlock, lex
from .parser import RESERVED
from .script import BUILTINS

STYLE = merge_styles([
    Style.from_dict({
        "command": "bold ansigreen",
        "builtin": "bold ansicyan",
        "program": "ansigreen",
        "unknown": "bold ansired",
        "flag": "ansiyellow",
        "string": "ansimagenta",
        "variable": "ansicyan",
        "comment": "italic ansibrightblack",
        "separator": "bold",
        "bottom-toolbar": "noreverse bg:ansiblue ansiwhite",
        "bottom-toolbar.down": "bg:ansired ansiwhite",
    }),
])


def _python_style():
    try:
        from pygments.styles import get_style_by_name

        return style_from_pygments_cls(get_style_by_name("monokai"))
    except Exception:  # noqa: BLE001 - colours are a nicety
        return None


@functools.lru_cache(maxsize=512)
def _on_path(name: str) -> bool:
    return "/" in name or shutil.which(name) is not None


class ShellLexer(Lexer):
    def lex_document(self, document: Document) -> Callable[[int], StyleAndTextTuples]:
        text = document.text
        styles = [""] * len(text)

        def paint(start: int, end: int, style: str) -> None:
            for i in range(max(start, 0), min(end, len(text))):
                styles[i] = style

        try:
            script = lex(text, partial=True)
        except Exception:  # noqa: BLE001 - never let colouring break typing
            script = None
        if script is not None:
            for token in script.tokens:
                if type(token).__name__ == "Op" and token.value != "\n":
                    paint(token.start, token.end, "class:separator")
            for start, end in script.comments:
                paint(start, end, "class:comment")
            for stmt in script.statements:
                if isinstance(stmt, PyBlock):
                    paint(stmt.start, stmt.start + 2, "class:builtin")
                    self._python(text, stmt, paint)
                elif isinstance(stmt, Command):
                    self._command(stmt, paint)
        lines: list[StyleAndTextTuples] = []
        line: StyleAndTextTuples = []
        for ch, style in zip(text, styles):
            if ch == "\n":
                lines.append(line)
                line = []
            else:
                line.append((style, ch))
        lines.append(line)

        def get_line(lineno: int) -> StyleAndTextTuples:
            return lines[lineno] if 0 <= lineno < len(lines) else []

        return get_line

    @staticmethod
    def _command(stmt: Command, paint) -> None:
        for word in stmt.words:
            if any(p.kind in ("single", "double") for p in word.parts):
                paint(word.start, word.end, "class:string")
            for part in word.parts:  # variables on top of strings: "x$y" shows $y
                if part.kind == "var":
                    paint(part.start, part.end, "class:variable")
        assignments = 0
        for word in stmt.words:
            if not (word.parts and word.parts[0].kind == "text"
                    and ASSIGNMENT.match(word.parts[0].value)):
                break
            paint(word.start, word.start + word.parts[0].value.index("="), "class:variable")
            assignments += 1
        if assignments:
            return
        if stmt.words[0].literal in ("for", "function"):  # `for NAME in WORDS`, `function NAME`
            paint(stmt.words[0].start, stmt.words[0].end, "class:builtin")
            if len(stmt.words) > 2 and stmt.words[2].literal == "in":
                paint(stmt.words[2].start, stmt.words[2].end, "class:builtin")
            return
        for word in stmt.words:  # reserved words (`if`, `do`...) lead to the command itself
            if not (word.is_plain and word.literal in RESERVED):
                break
            paint(word.start, word.end, "class:builtin")
        else:
            return
        first = word
        name = first.literal
        if name in BUILTINS or name == "help":
            style = "class:builtin"
        elif name in commands.MODULES:
            style = "class:command"
        elif _on_path(name):
            style = "class:program"
        else:
            style = "class:unknown"  # or a function of the script: a hint, never an error
        paint(first.start, first.end, style)
        for word in stmt.words[stmt.words.index(first) + 1:]:
            if word.is_plain and word.literal.startswith("-"):
                paint(word.start, word.end, "class:flag")

    @staticmethod
    def _python(text: str, stmt: PyBlock, paint) -> None:
        from pygments.lexers.python import PythonLexer

        source = text[stmt.code_start:stmt.end]
        pos = stmt.code_start
        for token, value in PythonLexer(stripnl=False, ensurenl=False).get_tokens(source):
            paint(pos, pos + len(value), "class:" + pygments_token_to_classname(token))
            pos += len(value)


def style() -> Style:
    python = _python_style()
    return merge_styles([python, STYLE]) if python is not None else STYLE
