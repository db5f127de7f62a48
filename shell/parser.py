"""The pyctr-shell language: the lexer's tokens made into a tree of commands.

A small subset of the POSIX shell grammar, the part scripts of containers use:

    list      := and_or ((';' | newline) and_or)*
    and_or    := pipeline (('&&' | '||') pipeline)*
    pipeline  := ['!'] command ('|' command)*
    command   := simple | if | for | while | until | { list } | NAME () { list }
                 | function NAME { list } | py ...   (each may carry redirections)
    simple    := (WORD | redirection)+
    redirection := [n]> WORD | [n]>> WORD | < WORD | n>&m | &> WORD

Reserved words (if then elif else fi for in do done while until { } function !)
count only where a command starts, as in sh. No background jobs (`&`), case,
subshells or here-documents: `&` and `(` outside `name()` are refused with a
message, never run as something else.

`Incomplete` (a ScriptError) means the text stops inside a construct, so the
REPL can let Enter continue the line."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union

from .lexer import Op, PyBlock, ScriptError, Word, lex

RESERVED = {"if", "then", "elif", "else", "fi", "for", "in", "do", "done", "while", "until",
            "{", "}", "function", "!"}


class Incomplete(ScriptError):
    """The text ends inside an `if`, a loop, a function, after `|` or `&&`..."""


@dataclass
class Redirect:
    fd: int          # 0, 1 or 2 (and -1 for `&>`: both 1 and 2)
    mode: str        # "<", ">", ">>", ">&" (dup)
    target: Word | None  # the file; None for a dup
    dup: int = -1    # `2>&1`: the fd copied
    line: int = 0


@dataclass
class Simple:
    words: list[Word]
    redirects: list[Redirect]
    line: int


@dataclass
class Pipeline:
    commands: list["Node"]
    negate: bool
    line: int


@dataclass
class AndOr:
    first: "Node"
    rest: list[tuple[str, "Node"]]  # ('&&' | '||', pipeline)
    line: int


@dataclass
class Sequence:
    items: list["Node"]
    line: int


@dataclass
class If:
    clauses: list[tuple["Node", "Node"]]  # (condition, body)
    otherwise: "Node | None"
    line: int
    redirects: list[Redirect] = field(default_factory=list)


@dataclass
class For:
    name: str
    words: list[Word] | None  # None: `for x; do` loops over "$@"
    body: "Node"
    line: int
    redirects: list[Redirect] = field(default_factory=list)


@dataclass
class While:
    condition: "Node"
    body: "Node"
    until: bool
    line: int
    redirects: list[Redirect] = field(default_factory=list)


@dataclass
class Group:
    body: "Node"
    line: int
    redirects: list[Redirect] = field(default_factory=list)


@dataclass
class FunctionDef:
    name: str
    body: "Node"
    line: int


@dataclass
class Python:
    block: PyBlock
    line: int
    redirects: list[Redirect] = field(default_factory=list)


Node = Union[Simple, Pipeline, AndOr, Sequence, If, For, While, Group, FunctionDef, Python]


def parse(text: str) -> Sequence:
    """The tree of `text`; ScriptError (Incomplete at an unfinished construct)."""
    return _Parser(text).program()


def is_name(text: str) -> bool:
    return text.isidentifier() or (text.replace("-", "_").isidentifier() and not text.startswith("-"))


class _Parser:
    def __init__(self, text: str):
        script = lex(text)
        self.text = text
        self.tokens = script.tokens
        self.pos = 0

    # --- tokens ---------------------------------------------------------------

    def line_of(self, pos: int) -> int:
        return self.text.count("\n", 0, pos) + 1

    def peek(self) -> Word | Op | PyBlock | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def peek_word(self) -> str | None:
        """The next token as a plain word (reserved-word checks), or None."""
        tok = self.peek()
        if isinstance(tok, Word) and tok.is_plain:
            return tok.literal
        return None

    def at_op(self, *values: str) -> bool:
        tok = self.peek()
        return isinstance(tok, Op) and tok.value in values

    def line_here(self) -> int:
        tok = self.peek()
        return self.line_of(tok.start) if tok is not None else self.line_of(len(self.text))

    def fail(self, message: str) -> ScriptError:
        tok = self.peek()
        if tok is None:
            return Incomplete(f"line {self.line_of(len(self.text))}: {message} at the end of the text")
        return ScriptError(f"line {self.line_of(tok.start)}: {message}", tok.start)

    def skip_newlines(self) -> None:
        while self.at_op("\n", ";") and self.peek().value == "\n":
            self.pos += 1

    def skip_separators(self) -> None:
        while self.at_op("\n", ";"):
            self.pos += 1

    def expect_word(self, word: str) -> None:
        self.skip_separators()
        if self.peek_word() != word:
            raise self.fail(f"expected '{word}'")
        self.pos += 1

    # --- grammar --------------------------------------------------------------

    def program(self) -> Sequence:
        body = self.list_until(set())
        if self.peek() is not None:
            tok = self.peek()
            what = tok.literal if isinstance(tok, Word) else getattr(tok, "value", "py")
            raise self.fail(f"unexpected '{what}'")
        return body

    def list_until(self, stops: set[str]) -> Sequence:
        """and_or items up to one of the reserved words in `stops` (not consumed)."""
        line = self.line_here()
        items: list[Node] = []
        while True:
            self.skip_separators()
            tok = self.peek()
            if tok is None or (self.peek_word() in stops):
                break
            if isinstance(tok, Op) and tok.value == ")":
                raise self.fail("unexpected ')'")
            items.append(self.and_or())
            if self.at_op("&"):
                raise self.fail("background jobs ('&') are not supported")
            if self.peek() is not None and not self.at_op("\n", ";") \
                    and self.peek_word() not in stops:
                tok = self.peek()
                raise self.fail(f"unexpected '{tok.value if isinstance(tok, Op) else 'text'}'")
        return Sequence(items, line)

    def and_or(self) -> Node:
        line = self.line_here()
        first = self.pipeline()
        rest: list[tuple[str, Node]] = []
        while self.at_op("&&", "||"):
            op = self.peek().value
            self.pos += 1
            self.skip_newlines()
            if self.peek() is None:
                raise Incomplete(f"line {line}: a command must follow '{op}'")
            rest.append((op, self.pipeline()))
        return first if not rest else AndOr(first, rest, line)

    def pipeline(self) -> Node:
        line = self.line_here()
        negate = False
        if self.peek_word() == "!":
            negate = True
            self.pos += 1
        commands = [self.command()]
        while self.at_op("|"):
            self.pos += 1
            self.skip_newlines()
            if self.peek() is None:
                raise Incomplete(f"line {line}: a command must follow '|'")
            commands.append(self.command())
        if len(commands) == 1 and not negate:
            return commands[0]
        return Pipeline(commands, negate, line)

    def command(self) -> Node:
        tok = self.peek()
        line = self.line_here()
        if isinstance(tok, PyBlock):
            self.pos += 1
            return Python(tok, tok.line, self.redirects())
        word = self.peek_word()
        if word == "if":
            return self.if_clause()
        if word in ("while", "until"):
            self.pos += 1
            condition = self.list_until({"do"})
            self.expect_word("do")
            body = self.list_until({"done"})
            self.expect_word("done")
            return While(condition, body, word == "until", line, self.redirects())
        if word == "for":
            return self.for_clause()
        if word == "{":
            self.pos += 1
            body = self.list_until({"}"})
            self.expect_word("}")
            return Group(body, line, self.redirects())
        if word == "function":
            self.pos += 1
            name = self.peek_word()
            if name is None or not is_name(name):
                raise self.fail("expected a function name after 'function'")
            self.pos += 1
            if self.at_op("("):
                self.parens()
            return self.function_body(name, line)
        if word in RESERVED:
            raise self.fail(f"unexpected '{word}'")
        if isinstance(tok, Word) and word is not None and is_name(word) \
                and self.pos + 1 < len(self.tokens) and isinstance(self.tokens[self.pos + 1], Op) \
                and self.tokens[self.pos + 1].value == "(":
            self.pos += 1
            self.parens()
            return self.function_body(word, line)
        return self.simple()

    def parens(self) -> None:
        self.pos += 1  # '('
        if not self.at_op(")"):
            raise self.fail("expected ')' after '(' (subshells are not supported)")
        self.pos += 1

    def function_body(self, name: str, line: int) -> FunctionDef:
        self.skip_newlines()
        if self.peek_word() != "{":
            raise self.fail(f"expected '{{' to start the body of {name}")
        return FunctionDef(name, self.command(), line)

    def if_clause(self) -> If:
        line = self.line_here()
        self.pos += 1  # if
        clauses = []
        condition = self.list_until({"then"})
        self.expect_word("then")
        body = self.list_until({"elif", "else", "fi"})
        clauses.append((condition, body))
        otherwise = None
        while True:
            self.skip_separators()
            word = self.peek_word()
            if word == "elif":
                self.pos += 1
                condition = self.list_until({"then"})
                self.expect_word("then")
                clauses.append((condition, self.list_until({"elif", "else", "fi"})))
            elif word == "else":
                self.pos += 1
                otherwise = self.list_until({"fi"})
            else:
                self.expect_word("fi")
                break
        return If(clauses, otherwise, line, self.redirects())

    def for_clause(self) -> For:
        line = self.line_here()
        self.pos += 1  # for
        name = self.peek_word()
        if name is None or not name.isidentifier():
            raise self.fail("expected a variable name after 'for'")
        self.pos += 1
        words: list[Word] | None = None
        self.skip_newlines()
        if self.peek_word() == "in":
            self.pos += 1
            words = []
            while isinstance(self.peek(), Word):
                words.append(self.peek())
                self.pos += 1
            if not self.at_op(";", "\n"):
                raise self.fail("expected ';' or a newline before 'do'")
        self.expect_word("do")
        body = self.list_until({"done"})
        self.expect_word("done")
        return For(name, words, body, line, self.redirects())

    def redirects(self) -> list[Redirect]:
        found: list[Redirect] = []
        while True:
            tok = self.peek()
            if not (isinstance(tok, Op) and tok.is_redirect):
                return found
            found.append(self.redirect())

    def redirect(self) -> Redirect:
        op = self.peek()
        line = self.line_of(op.start)
        self.pos += 1
        target = self.peek()
        if not isinstance(target, Word):  # an error even at the end: sh does not wait for more
            raise ScriptError(f"line {line}: expected a file name after '{op.value}'", op.start)
        self.pos += 1
        value = op.value
        if value.startswith("&>"):
            return Redirect(-1, value[1:], target, line=line)
        digits = value[0] if value[0].isdigit() else ""
        symbol = value[len(digits):]
        fd = int(digits) if digits else (0 if symbol.startswith("<") else 1)
        if fd > 2:
            raise ScriptError(f"line {line}: only file descriptors 0, 1 and 2 can be redirected",
                              op.start)
        if symbol in (">&", "<&"):
            literal = target.literal
            if literal not in ("0", "1", "2"):
                raise ScriptError(f"line {line}: '{value}' needs 0, 1 or 2 after it, not "
                                  f"'{literal}'", op.start)
            return Redirect(fd, ">&", None, int(literal), line)
        return Redirect(fd, symbol, target, line=line)

    def simple(self) -> Simple:
        line = self.line_here()
        words: list[Word] = []
        redirects: list[Redirect] = []
        while True:
            tok = self.peek()
            if isinstance(tok, Word):
                words.append(tok)
                self.pos += 1
            elif isinstance(tok, Op) and tok.is_redirect:
                redirects.append(self.redirect())
            else:
                break
        if not words and not redirects:
            tok = self.peek()
            if tok is None:
                raise self.fail("expected a command")
            raise self.fail(f"unexpected '{tok.value if isinstance(tok, Op) else 'py'}'")
        return Simple(words, redirects, line)
