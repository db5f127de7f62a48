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
        return "".join("$" + p.value if p.kind == "var" else f"$({p.value})" if p.kind == "cmd"
                       else p.value for p in self.parts)

    @property
    def is_plain(self) -> bool:
        return all(p.kind == "text" for p in self.parts)

    def fields(self, lookup: Callable[[str], str], substitute: Callable[[str], str],
               arguments: Callable[[], list[str]] = list, split: bool = True) -> list[str]:
        """The word's values, as sh makes them: what an unquoted `$name` or
        `$(...)` gives is split at whitespace (no globbing), a quoted one is
        kept whole, and a word of only unquoted expansions that gave nothing
        disappears. "$@" is one field per argument. split=False: one field
        (the value of an assignment)."""
        fields: list[str] = []
        current: list[str] = []
        started = False  # the current field exists even if empty ("" or "$empty")

        def end_field() -> None:
            nonlocal started
            if current or started:
                fields.append("".join(current))
            current.clear()
            started = False

        for part in self.parts:
            if part.kind not in ("var", "cmd"):
                current.append(part.value)
                started = True
                continue
            if part.kind == "var" and part.value == "@" and part.quoted:
                args = arguments()
                for i, arg in enumerate(args):
                    if i:
                        end_field()
                    current.append(arg)
                    started = True
                continue
            value = lookup(part.value) if part.kind == "var" else substitute(part.value)
            if part.quoted or not split:
                current.append(value)
                started = True
                continue
            pieces = value.split()
            if value[:1].isspace():
                end_field()
            for i, piece in enumerate(pieces):
                if i:
                    end_field()
                current.append(piece)
                started = True
            if value[-1:].isspace():
                end_field()
        end_field()
        return fields


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
class Op:
    """An operator token: `|`, `||`, `&&`, `&`, `(`, `)`, `;`, a newline, or a
    redirection (`>`, `>>`, `<`, `2>`, `2>>`, `2>&1`, `>&2`, `&>`)."""

    value: str
    start: int
    end: int

    @property
    def is_redirect(self) -> bool:
        return "<" in self.value or ">" in self.value


@dataclass
class Script:
    statements: list[Command | PyBlock] = field(default_factory=list)
    comments: list[tuple[int, int]] = field(default_factory=list)
    separators: list[int] = field(default_factory=list)  # positions of ';' and operators
    tokens: list[Word | Op | PyBlock] = field(default_factory=list)  # all of it, for the parser
    text: str = ""


_REDIRECT = re.compile(r"(\d?)(>>|>&|<&|>|<)|&>>?")
_OPERATORS = ("&&", "||", "|", "&", "(", ")")
WORD_BREAK = " \t\r\n;|&<>()"


def find_close_paren(text: str, pos: int) -> int:
    """The index of the `)` closing the `$(` whose `(` is at pos-1, or -1:
    skips quotes and nested parentheses, as the inner text will be lexed again."""
    depth, n = 1, len(text)
    while pos < n:
        c = text[pos]
        if c == "\\":
            pos += 2
            continue
        if c == "'":
            close = text.find("'", pos + 1)
            if close < 0:
                return -1
            pos = close + 1
            continue
        if c == '"':
            pos += 1
            while pos < n and text[pos] != '"':
                pos += 2 if text[pos] == "\\" else 1
            pos += 1
            continue
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                return pos
        pos += 1
    return -1


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
        script = self.script
        script.text = text
        pos = 0
        words: list[Word] = []
        after_redirect = False  # the next word is a redirection's target, not an argument

        def finish(end: int) -> None:
            if words:
                script.statements.append(
                    Command(list(words), words[0].start, end, self.line_of(words[0].start)))
                words.clear()

        while pos < n:
            c = text[pos]
            if c in " \t\r":
                pos += 1
                continue
            elif c == "\\" and text.startswith("\\\n", pos):
                pos += 2  # line continuation between words
                continue
            elif c in ";\n":
                script.separators.append(pos)
                script.tokens.append(Op(c, pos, pos + 1))
                finish(pos)
                pos += 1
            elif c == "#":
                end = text.find("\n", pos)
                end = n if end < 0 else end
                script.comments.append((pos, end))
                pos = end
                continue
            elif (redirect := _REDIRECT.match(text, pos)) is not None:
                script.tokens.append(Op(redirect.group(0), pos, redirect.end()))
                pos = redirect.end()
                after_redirect = True
                continue
            elif c in "|&()":
                op = next(o for o in _OPERATORS if text.startswith(o, pos))
                script.separators.append(pos)
                script.tokens.append(Op(op, pos, pos + len(op)))
                finish(pos)
                pos += len(op)
            elif not words and not after_redirect and is_py_at(text, pos):
                start = pos
                pos = self.py_block(pos)
                script.tokens.append(script.statements[-1])
            else:
                word, pos = self.word(pos)
                script.tokens.append(word)
                if not after_redirect:
                    words.append(word)
            after_redirect = False
        finish(n)
        return script

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
            if c in WORD_BREAK:
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
            elif text.startswith("$(", pos):
                flush(pos)
                pos, closed = self.substitution(pos, parts, quoted=False)
                if not closed:
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
            elif text.startswith("$(", pos):
                flush(pos)
                pos, closed = self.substitution(pos, parts, quoted=True)
                emitted = True
                if not closed:
                    return n, False
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

    def substitution(self, start: int, parts: list[Part], quoted: bool) -> tuple[int, bool]:
        """`$(...)` from its `$`: a `cmd` part holding the inner text, run when
        the word is expanded. Returns (position after it, closed)."""
        if self.text.startswith("$((", start) and not self.partial:
            raise ScriptError(f"arithmetic expansion $((...)) at {self.where(start)} is not "
                              f"supported (a container's sh -c has it)", start)
        close = find_close_paren(self.text, start + 2)
        if close < 0:
            if not self.partial:
                raise ScriptError(f"unbalanced parentheses: the $( at {self.where(start)} "
                                  f"is never closed", start)
            parts.append(Part("cmd", self.text[start + 2:], start, self.n, quoted))
            return self.n, False
        parts.append(Part("cmd", self.text[start + 2:close], start, close + 1, quoted))
        return close + 1, True

    def variable(self, pos: int) -> tuple[str, int]:
        """`$?`, `$1`, `$name` or `${name}` at pos -> (name, end); ("", pos) if none."""
        text = self.text
        nxt = text[pos + 1:pos + 2]
        if nxt in ("?", "#", "@", "*") or nxt.isdigit():
            return nxt, pos + 2
        if nxt == "{":
            close = text.find("}", pos + 2)
            name = text[pos + 2:close] if close > 0 else ""
            if name in ("?", "#", "@", "*") or name.isdigit() or _NAME.fullmatch(name):
                return name, close + 1
            if self.partial:
                return "", pos
            raise ScriptError(f"bad variable reference at {self.where(pos)}: "
                              f"{text[pos:close + 1] if close > 0 else text[pos:pos + 12]}", pos)
        match = _NAME.match(text, pos + 1)
        if match:
            return match.group(0), match.end()
        return "", pos
