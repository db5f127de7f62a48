"""Shell-style word expansion of Dockerfile arguments, as Docker's shell lexer does it
for ADD, COPY, ENV, EXPOSE, FROM, LABEL, STOPSIGNAL, USER, VOLUME, WORKDIR and ARG:
quotes removed, `$VAR`, `${VAR}`, `${VAR:-word}`, `${VAR:+word}` (and their forms
without `:`) replaced from the variables of the moment, the escape character
taking the next character literally. An unset variable is empty."""

from __future__ import annotations


class ExpansionError(ValueError):
    pass


def lookup(env: list[str], name: str) -> str | None:
    """The first `name=value` of `env` (ENV before ARG, as Docker orders them)."""
    prefix = name + "="
    for item in env:
        if item.startswith(prefix):
            return item[len(prefix):]
    return None


class _Lexer:
    def __init__(self, text: str, env: list[str], escape: str) -> None:
        self.text, self.env, self.escape, self.pos = text, env, escape, 0

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def next(self) -> str:
        c = self.peek()
        self.pos += 1 if c else 0
        return c

    def word(self, stop: str = "") -> str:
        out = []
        while True:
            c = self.peek()
            if not c or (stop and c == stop):
                return "".join(out)
            self.next()
            if c == "'":
                out.append(self.single_quoted())
            elif c == '"':
                out.append(self.double_quoted())
            elif c == "$":
                out.append(self.dollar())
            elif c == self.escape:
                out.append(self.next())   # a trailing escape is dropped
            else:
                out.append(c)

    def single_quoted(self) -> str:
        end = self.text.find("'", self.pos)
        if end < 0:
            raise ExpansionError("unexpected end of statement while looking for matching single-quote")
        value, self.pos = self.text[self.pos:end], end + 1
        return value

    def double_quoted(self) -> str:
        out = []
        while True:
            c = self.next()
            if not c:
                raise ExpansionError("unexpected end of statement while looking for matching double-quote")
            if c == '"':
                return "".join(out)
            if c == "$":
                out.append(self.dollar())
            elif c == self.escape:
                n = self.next()
                out.append(n if n in ('"', "$", self.escape) else c + n)
            else:
                out.append(c)

    def name(self) -> str:
        start = self.pos
        if self.peek().isdigit():
            while self.peek().isdigit():
                self.pos += 1
        else:
            while self.peek() and (self.peek().isalnum() or self.peek() == "_"):
                self.pos += 1
        return self.text[start:self.pos]

    def dollar(self) -> str:
        if self.peek() != "{":
            name = self.name()
            if not name:
                return "$"
            return lookup(self.env, name) or ""
        self.next()
        name = self.name()
        if not name:
            raise ExpansionError(f"bad substitution in {self.text!r}")
        c = self.next()
        value = lookup(self.env, name)
        if c == "}":
            return value or ""
        colon = c == ":"
        if colon:
            c = self.next()
        if c not in ("-", "+", "?"):
            raise ExpansionError(f"unsupported modifier ({c}) in substitution of {self.text!r}")
        word = self.word("}")
        if self.next() != "}":
            raise ExpansionError(f"missing '}}' in substitution of {self.text!r}")
        is_set = value is not None and (value != "" or not colon)
        if c == "-":
            return value if is_set else word
        if c == "+":
            return word if is_set else ""
        if not is_set:
            raise ExpansionError(f"{name}: {word or 'is not allowed to be unset'}")
        return value or ""


def process_word(text: str, env: list[str], escape: str = "\\") -> str:
    return _Lexer(text, env, escape).word()
