"""The pyctr-shell command line, split into statements and words.

POSIX-shell quoting, which is what users type anyway: 'single quotes' are
literal, "double quotes" allow \\ escapes and $variables, a backslash escapes
the next character, `#` starts a comment, `;` and newlines end a statement.
Variables (`$name`, `${name}`, `$?`, `$1`) are kept as parts of a word and
expanded only when the statement runs, so `a=1; echo $a` sees the new value.
An expanded value is never split into several words.

Not shlex: shlex removes the quotes before we could tell whether a `$name` or
a `;` was quoted, and gives no source positions, which the highlighter and the
completer need. `partial=True` lexes an unfinished line (open quote) for them.

A statement starting with the word `py` is Python, not words: it runs to the
end of its line, plus the indented lines that follow when the first line ends
with `:` (or is `py` alone)."""

from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass, field
from typing import Callable

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
ASSIGNMENT = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)=")


class ScriptError(Exception):
    """Bad script text (unbalanced quotes) or an undefined variable."""

    def __init__(self, message: str, position: int = -1):
        super().__init__(message)
        self.message = message
        self.position = position


class ShellExit(Exception):
    """`exit N`: stops the script with status N."""

    def __init__(self, status: int):
        super().__init__(status)
        self.status = status


@dataclass
class Part:
    """A piece of a word: literal text (`text`, `single`, `double` by how it was
    quoted) or a variable reference (`var`, with `quoted` if inside "...")."""

    kind: str
    value: str
    start: int
    end: int
    quoted: bool = False


@dataclass
class Word:
    parts: list[Part]
    start: int
    end: int
    open_quote: str = ""  # partial lexing only: the word ends inside this quote

    @property
    def literal(self) -> str:
        """The word without quotes and with variables left as `$name` (completion)."""
        return "".join("$" + p.value if p.kind == "var" else p.value for p in self.parts)

    @property
    def is_plain(self) -> bool:
        return all(p.kind == "text" for p in self.parts)

    def expand(self, lookup: Callable[[str], str]) -> str | None:
        """The word's value; None when it was only unquoted variables that
        expanded to nothing (such a word disappears, as in sh)."""
        values = [lookup(p.value) if p.kind == "var" else p.value for p in self.parts]
        text = "".join(values)
        if not text and all(p.kind == "var" and not p.quoted for p in self.parts):
            return None
        return text


@dataclass
class Command:
    """A shell statement: words to expand and run."""

    words: list[Word]
    start: int
    end: int
    line: int


@dataclass
class PyBlock:
    """A `py` statement: Python source, run as is."""

    code: str
    start: int
    end: int
    line: int
    code_start: int  # where the code begins in the source (highlighting)
    open: bool = False  # first line ends with ':' (or is `py` alone): a block follows


@dataclass
class Script:
    statements: list[Command | PyBlock] = field(default_factory=list)
    comments: list[tuple[int, int]] = field(default_factory=list)
    separators: list[int] = field(default_factory=list)  # positions of ';'


def lex(text: str, partial: bool = False) -> Script:
    return _Lexer(text, partial).run()


def is_py_at(text: str, pos: int) -> bool:
    return text.startswith("py", pos) and (pos + 2 == len(text) or text[pos + 2] in " \t\r\n")


class _Lexer:
    def __init__(self, text: str, partial: bool):
        self.text = text
        self.partial = partial
        self.n = len(text)
        self.script = Script()

    def line_of(self, pos: int) -> int:
        return self.text.count("\n", 0, pos) + 1

    def where(self, pos: int) -> str:
        line = self.line_of(pos)
        column = pos - (self.text.rfind("\n", 0, pos) + 1) + 1
        return f"line {line}, column {column}"

    def run(self) -> Script:
        text, n = self.text, self.n
        pos = 0
        words: list[Word] = []

        def finish(end: int) -> None:
            if words:
                self.script.statements.append(
                    Command(list(words), words[0].start, end, self.line_of(words[0].start)))
                words.clear()

        while pos < n:
            c = text[pos]
            if c in " \t\r":
                pos += 1
            elif c == "\\" and text.startswith("\\\n", pos):
                pos += 2  # line continuation between words
            elif c in ";\n":
                if c == ";":
                    self.script.separators.append(pos)
                finish(pos)
                pos += 1
            elif c == "#":
                end = text.find("\n", pos)
                end = n if end < 0 else end
                self.script.comments.append((pos, end))
                pos = end
            elif not words and is_py_at(text, pos):
                pos = self.py_block(pos)
            else:
                word, pos = self.word(pos)
                words.append(word)
        finish(n)
        return self.script

    # --- py blocks ------------------------------------------------------------

    def py_block(self, start: int) -> int:
        text, n = self.text, self.n
        end = text.find("\n", start)
        end = n if end < 0 else end
        first_raw = text[start + 2:end]
        code_start = start + 2 + (len(first_raw) - len(first_raw.lstrip()))
        first = first_raw.strip()
        is_open = first == "" or first.endswith(":")
        body: list[str] = []
        block_end = end
        if is_open:
            pos = end + 1
            pending: list[str] = []  # blank lines, kept only if an indented line follows
            while pos <= n - 1:
                line_end = text.find("\n", pos)
                line_end = n if line_end < 0 else line_end
                line = text[pos:line_end]
                if not line.strip():
                    pending.append("")
                elif line[0] in " \t":
                    body.extend(pending)
                    pending.clear()
                    body.append(line.rstrip("\r"))
                    block_end = line_end
                else:
                    break
                pos = line_end + 1
        if first == "":
            code = textwrap.dedent("\n".join(body))
        else:
            code = "\n".join([first, *body])
        self.script.statements.append(
            PyBlock(code, start, block_end, self.line_of(start), code_start, is_open))
        return block_end

    # --- words ----------------------------------------------------------------

    def word(self, pos: int) -> tuple[Word, int]:
        text, n = self.text, self.n
        start = pos
        parts: list[Part] = []
        buf: list[str] = []
        buf_start = pos
        open_quote = ""

        def flush(end: int) -> None:
            if buf:
                parts.append(Part("text", "".join(buf), buf_start, end))
                buf.clear()

        while pos < n:
            c = text[pos]
            if c in " \t\r\n;":
                break
            if not buf:
                buf_start = pos
            if c == "\\":
                if pos + 1 >= n:
                    buf.append("\\")  # a lone trailing backslash stays literal
                    pos += 1
                elif text[pos + 1] == "\n":
                    pos += 2
                else:
                    buf.append(text[pos + 1])
                    pos += 2
            elif c == "'":
                flush(pos)
                close = text.find("'", pos + 1)
                if close < 0:
                    if not self.partial:
                        raise ScriptError(f"unbalanced quotes: the ' at {self.where(pos)} "
                                          f"is never closed", pos)
                    parts.append(Part("single", text[pos + 1:], pos, n))
                    open_quote, pos = "'", n
                    break
                parts.append(Part("single", text[pos + 1:close], pos, close + 1))
                pos = close + 1
            elif c == '"':
                flush(pos)
                pos, closed = self.double(pos, parts)
                if not closed:
                    open_quote = '"'
                    break
            elif c == "$":
                name, end = self.variable(pos)
                if name:
                    flush(pos)
                    parts.append(Part("var", name, pos, end))
                    pos = end
                else:
                    buf.append("$")
                    pos += 1
            else:
                buf.append(c)
                pos += 1
        flush(pos)
        return Word(parts, start, pos, open_quote), pos

    def double(self, start: int, parts: list[Part]) -> tuple[int, bool]:
        """Lex "..." from its opening quote; returns (position after it, closed)."""
        text, n = self.text, self.n
        pos = start + 1
        buf: list[str] = []
        buf_start = pos
        emitted = False

        def flush(end: int) -> None:
            nonlocal emitted
            if buf:
                parts.append(Part("double", "".join(buf), buf_start, end))
                buf.clear()
                emitted = True

        while pos < n:
            c = text[pos]
            if not buf:
                buf_start = pos
            if c == '"':
                flush(pos)
                if not emitted:  # "" is an empty word, not no word
                    parts.append(Part("double", "", start, pos + 1))
                return pos + 1, True
            if c == "\\" and pos + 1 < n and text[pos + 1] in '\\"$`\n':
                if text[pos + 1] != "\n":
                    buf.append(text[pos + 1])
                pos += 2
            elif c == "$":
                name, end = self.variable(pos)
                if name:
                    flush(pos)
                    parts.append(Part("var", name, pos, end, quoted=True))
                    emitted = True
                    pos = end
                else:
                    buf.append("$")
                    pos += 1
            else:
                buf.append(c)
                pos += 1
        if not self.partial:
            raise ScriptError(f'unbalanced quotes: the " at {self.where(start)} is never closed',
                              start)
        flush(n)
        if not emitted:
            parts.append(Part("double", "", start, n))
        return n, False

    def variable(self, pos: int) -> tuple[str, int]:
        """`$?`, `$1`, `$name` or `${name}` at pos -> (name, end); ("", pos) if none."""
        text = self.text
        nxt = text[pos + 1:pos + 2]
        if nxt == "?" or nxt.isdigit():
            return nxt, pos + 2
        if nxt == "{":
            close = text.find("}", pos + 2)
            name = text[pos + 2:close] if close > 0 else ""
            if name == "?" or name.isdigit() or _NAME.fullmatch(name):
                return name, close + 1
            if self.partial:
                return "", pos
            raise ScriptError(f"bad variable reference at {self.where(pos)}: "
                              f"{text[pos:close + 1] if close > 0 else text[pos:pos + 12]}", pos)
        match = _NAME.match(text, pos + 1)
        if match:
            return match.group(0), match.end()
        return "", pos
