"""A subset of Go's text/template, for `inspect --format`.

Covers what people write against docker inspect: field chains
(`{{.State.ExitCode}}`), `{{json .Config}}`, `{{index .Map "key"}}`,
`{{(index .Ports "80/tcp" 0).HostPort}}`, pipelines, variables,
`{{range}}`/`{{if}}`/`{{with}}` with `{{else}}`/`{{else if}}`, `{{- -}}` trimming
and Go's builtin functions (and, or, not, len, index, print, printf, println,
eq, ne, lt, le, gt, ge) plus docker's json, join, split, upper, lower, title.

Data is decoded JSON, as docker 1.2 executed templates on the decoded JSON.
One deliberate difference from Go: a missing map key is an error
("map has no entry for key"), not "<no value>", so typos are not silent.
Integers print as integers, where Go would print JSON numbers as floats
(1.367854155e+09)."""

from __future__ import annotations

import json
import re
from typing import Any, Callable


class TemplateError(Exception):
    """Parse error (bad template) — docker exits 64 on these."""


class ExecError(Exception):
    """The template ran into data it cannot handle."""


# --- lexing -----------------------------------------------------------------

_TOKEN = re.compile(r"""
    (?P<ws>\s+)
  | (?P<string>"(?:[^"\\\n]|\\.)*")
  | (?P<raw>`[^`]*`)
  | (?P<declare>:=)
  | (?P<assign>=)
  | (?P<punct>[()|,])
  | (?P<var>\$[A-Za-z0-9_]*)
  | (?P<field>\.[A-Za-z_][A-Za-z0-9_]*)
  | (?P<dot>\.)
  | (?P<number>[-+]?(?:0[xX][0-9a-fA-F]+|\d+(?:\.\d*)?(?:[eE][-+]?\d+)?|\.\d+))
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
""", re.VERBOSE)


class Tok:
    __slots__ = ("kind", "text", "pos", "spaced")

    def __init__(self, kind: str, text: str, pos: int, spaced: bool):
        self.kind, self.text, self.pos, self.spaced = kind, text, pos, spaced

    def __repr__(self) -> str:
        return f"Tok({self.kind}, {self.text!r})"


def _tokens(src: str, offset: int, where: Callable[[int], str]) -> list[Tok]:
    toks: list[Tok] = []
    pos = 0
    spaced = True
    while pos < len(src):
        m = _TOKEN.match(src, pos)
        if not m:
            raise TemplateError(f"template: {where(offset + pos)}: unexpected {src[pos]!r} in command")
        kind = m.lastgroup
        if kind == "ws":
            spaced = True
        else:
            toks.append(Tok(kind, m.group(), offset + pos, spaced))
            spaced = False
        pos = m.end()
    return toks


# --- nodes ------------------------------------------------------------------

class Node:
    pos = 0
    src = ""


class Text(Node):
    def __init__(self, text: str):
        self.text = text


class Literal(Node):
    def __init__(self, value: Any, src: str, pos: int):
        self.value, self.src, self.pos = value, src, pos


class Dot(Node):
    def __init__(self, pos: int):
        self.src, self.pos = ".", pos


class Field(Node):
    """`.A.B` (receiver None = dot), `$x.A`, or `(pipeline).A`."""

    def __init__(self, receiver: Node | None, names: list[str], src: str, pos: int):
        self.receiver, self.names, self.src, self.pos = receiver, names, src, pos


class Variable(Node):
    def __init__(self, name: str, pos: int):
        self.name, self.src, self.pos = name, name, pos


class Function(Node):
    def __init__(self, name: str, pos: int):
        self.name, self.src, self.pos = name, name, pos


class Pipeline(Node):
    def __init__(self, decl: list[str], assign: bool, cmds: list[list[Node]], pos: int, src: str):
        self.decl, self.assign, self.cmds, self.pos, self.src = decl, assign, cmds, pos, src


class Action(Node):
    def __init__(self, pipe: Pipeline):
        self.pipe = pipe


class Control(Node):
    def __init__(self, kind: str, pipe: Pipeline, body: list[Node], orelse: list[Node]):
        self.kind, self.pipe, self.body, self.orelse = kind, pipe, body, orelse


# --- parsing ----------------------------------------------------------------

_ACTION = re.compile(r"\{\{(-\s)?(.*?)(\s-)?\}\}", re.DOTALL)


class Template:
    def __init__(self, source: str):
        self.source = source
        self.root = _Parser(source).parse()

    def execute(self, data: Any) -> str:
        out: list[str] = []
        _Exec(self.source, data, out).run(self.root, data)
        return "".join(out)


def render(source: str, data: Any) -> str:
    return Template(source).execute(data)


class _Parser:
    def __init__(self, source: str):
        self.source = source
        self.items: list[tuple[str, Any, int]] = []  # ("text", str) / ("action", toks, pos)

    def where(self, pos: int) -> str:
        return f":{self.source.count(chr(10), 0, pos) + 1}"

    def parse(self) -> list[Node]:
        src = self.source
        pos = 0
        pending_trim = False
        for m in _ACTION.finditer(src):
            text = src[pos:m.start()]
            if pending_trim:
                text = text.lstrip()
            if m.group(1):
                text = text.rstrip()
            if text:
                self.items.append(("text", text, pos))
            body = m.group(2)
            body_pos = m.start(2)
            stripped = body.strip()
            if stripped.startswith("/*"):
                if not stripped.endswith("*/"):
                    raise TemplateError(f"template: {self.where(body_pos)}: unclosed comment")
            else:
                toks = _tokens(body, body_pos, self.where)
                if not toks:
                    raise TemplateError(f"template: {self.where(body_pos)}: missing value for command")
                self.items.append(("action", toks, body_pos))
            pending_trim = bool(m.group(3))
            pos = m.end()
        rest = src[pos:]
        if "{{" in rest:
            raise TemplateError(f"template: {self.where(pos + rest.index('{{'))}: unclosed action")
        if pending_trim:
            rest = rest.lstrip()
        if rest:
            self.items.append(("text", rest, pos))
        self.i = 0
        nodes, end = self._list()
        if end is not None:
            raise TemplateError(f"template: {self.where(end[2])}: unexpected {{{{{end[0]}}}}}")
        return nodes

    def _list(self) -> tuple[list[Node], tuple | None]:
        """Parse nodes until {{end}}/{{else ...}}; return them and the terminator."""
        nodes: list[Node] = []
        while self.i < len(self.items):
            kind, value, pos = self.items[self.i]
            self.i += 1
            if kind == "text":
                nodes.append(Text(value))
                continue
            first = value[0]
            if first.kind == "ident" and first.text in ("end", "else"):
                return nodes, (first.text, value[1:], pos)
            if first.kind == "ident" and first.text in ("if", "range", "with"):
                nodes.append(self._control(first.text, value[1:], pos))
                continue
            if first.kind == "ident" and first.text in ("define", "template", "block"):
                raise TemplateError(f"template: {self.where(pos)}: {{{{{first.text}}}}} is not supported")
            nodes.append(Action(self._pipeline(value, pos)))
        return nodes, None

    def _control(self, kind: str, toks: list[Tok], pos: int) -> Control:
        if not toks:
            raise TemplateError(f"template: {self.where(pos)}: missing value for {kind}")
        pipe = self._pipeline(toks, pos, allow_decl=True)
        body, end = self._list()
        if end is None:
            raise TemplateError(f"template: {self.where(pos)}: unexpected EOF")
        orelse: list[Node] = []
        if end[0] == "else":
            rest = end[1]
            if rest and rest[0].kind == "ident" and rest[0].text in ("if", "with"):
                # {{else if x}} is {{else}}{{if x}}...{{end}} sharing the outer {{end}}
                orelse = [self._control(rest[0].text, rest[1:], end[2])]
                return Control(kind, pipe, body, orelse)
            if rest:
                raise TemplateError(f"template: {self.where(end[2])}: unexpected {rest[0].text!r} in else")
            orelse, end2 = self._list()
            if end2 is None or end2[0] != "end":
                raise TemplateError(f"template: {self.where(end[2])}: expected end; found EOF")
        return Control(kind, pipe, body, orelse)

    def _pipeline(self, toks: list[Tok], pos: int, allow_decl: bool = True) -> Pipeline:
        src = " ".join(t.text for t in toks)
        decl: list[str] = []
        assign = False
        # `$x := pipeline`, `$k, $v := pipeline` (range), `$x = pipeline`
        for j, tok in enumerate(toks):
            if tok.kind in ("declare", "assign"):
                names = [t for t in toks[:j] if t.kind != "punct" or t.text != ","]
                if not names or any(t.kind != "var" for t in names) or len(names) > 2:
                    raise TemplateError(f"template: {self.where(pos)}: bad variable declaration")
                decl = [t.text for t in names]
                assign = tok.kind == "assign"
                toks = toks[j + 1:]
                break
        cmds: list[list[Node]] = [[]]
        k = 0
        while k < len(toks):
            tok = toks[k]
            if tok.kind == "punct" and tok.text == "|":
                if not cmds[-1]:
                    raise TemplateError(f"template: {self.where(tok.pos)}: missing command")
                cmds.append([])
                k += 1
                continue
            node, k = self._operand(toks, k)
            cmds[-1].append(node)
        if not cmds[-1]:
            raise TemplateError(f"template: {self.where(pos)}: missing value for command")
        return Pipeline(decl, assign, cmds, pos, src)

    def _operand(self, toks: list[Tok], k: int) -> tuple[Node, int]:
        tok = toks[k]
        k += 1
        node: Node
        if tok.kind == "punct" and tok.text == "(":
            depth, j = 1, k
            while j < len(toks) and depth:
                if toks[j].kind == "punct":
                    depth += {"(": 1, ")": -1}.get(toks[j].text, 0)
                j += 1
            if depth:
                raise TemplateError(f"template: {self.where(tok.pos)}: unclosed left paren")
            node = self._pipeline(toks[k:j - 1], tok.pos, allow_decl=False)
            node.src = "(" + node.src + ")"
            k = j
        elif tok.kind == "field":
            names = [tok.text[1:]]
            while k < len(toks) and toks[k].kind == "field" and not toks[k].spaced:
                names.append(toks[k].text[1:])
                k += 1
            return Field(None, names, "." + ".".join(names), tok.pos), k
        elif tok.kind == "dot":
            node = Dot(tok.pos)
        elif tok.kind == "var":
            node = Variable(tok.text, tok.pos)
        elif tok.kind == "string":
            node = Literal(json.loads(tok.text), tok.text, tok.pos)
        elif tok.kind == "raw":
            node = Literal(tok.text[1:-1], tok.text, tok.pos)
        elif tok.kind == "number":
            text = tok.text
            value: Any = int(text, 0) if re.fullmatch(r"[-+]?(0[xX][0-9a-fA-F]+|\d+)", text) else float(text)
            node = Literal(value, text, tok.pos)
        elif tok.kind == "ident":
            if tok.text in ("true", "false"):
                node = Literal(tok.text == "true", tok.text, tok.pos)
            elif tok.text == "nil":
                node = Literal(None, "nil", tok.pos)
            elif tok.text in FUNCTIONS:
                node = Function(tok.text, tok.pos)
            else:
                raise TemplateError(f'template: {self.where(tok.pos)}: function "{tok.text}" not defined')
        else:
            raise TemplateError(f"template: {self.where(tok.pos)}: unexpected {tok.text!r} in operand")
        # a field chain glued to a variable or a parenthesized pipeline: $x.A, (…).B
        names = []
        while k < len(toks) and toks[k].kind == "field" and not toks[k].spaced:
            names.append(toks[k].text[1:])
            k += 1
        if names:
            if not isinstance(node, (Variable, Pipeline)):
                raise TemplateError(f"template: {self.where(tok.pos)}: unexpected . after term {node.src!r}")
            node = Field(node, names, node.src + "." + ".".join(names), node.pos)
        return node, k


# --- values as Go prints them -------------------------------------------------

def go_float(value: float) -> str:
    """fmt's %v for float64 (strconv 'g' with shortest precision, exponent at >= 21 digits)."""
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "+Inf" if value > 0 else "-Inf"
    if value == int(value) and abs(value) < 1e21:
        return str(int(value))
    text = repr(value)
    if "e" in text:
        mantissa, exp = text.split("e")
        return f"{mantissa}e{'-' if exp.startswith('-') else '+'}{abs(int(exp)):02d}"
    return text


def go_string(value: Any, top: bool = True) -> str:
    if value is None:
        return "<no value>" if top else "<nil>"
    if value is True or value is False:
        return "true" if value else "false"
    if isinstance(value, float):
        return go_float(value)
    if isinstance(value, list):
        return "[" + " ".join(go_string(v, False) for v in value) + "]"
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{go_string(value[k], False)}" for k in sorted(value)) + "]"
    return str(value)


def truth(value: Any) -> bool:
    if value is None:
        return False
    if isinstance(value, (bool, int, float, str, list, dict)):
        return bool(value)
    return True


def go_type(value: Any) -> str:
    return {type(None): "<nil>", bool: "bool", int: "float64", float: "float64", str: "string",
            list: "[]interface {}", dict: "map[string]interface {}"}.get(type(value), "interface {}")


# --- functions --------------------------------------------------------------

class Struct(dict):
    """A decoded object whose keys keep their order under `json`, as a Go struct's
    fields do (a plain dict is a Go map: its keys are sorted). `json_names` maps a
    field's name, as templates say it (`.TimeNano`), to its JSON key (`timeNano`)."""

    json_names: dict[str, str] = {}
    go_name = ""   # the Go type a missing field's error names ("*formatter.imageContext")


class GoContext(dict):
    """A docker formatter context: its fields, which `json` sorts (docker marshals a
    context as a map), and the Go type a missing field's error names."""

    def __init__(self, go_name: str, fields: dict):
        super().__init__(fields)
        self.go_name = go_name


def _go_order(value: Any) -> Any:
    if isinstance(value, Struct):
        return {value.json_names.get(k, k): _go_order(v) for k, v in value.items() if not callable(v)}
    if isinstance(value, dict):  # methods (callables) are not data: json leaves them out, as Go's does
        return {k: _go_order(value[k]) for k in sorted(value) if not callable(value[k])}
    if isinstance(value, (list, tuple)):
        return [_go_order(v) for v in value]
    return value


def _json(value: Any) -> str:
    text = json.dumps(_go_order(value), separators=(",", ":"), ensure_ascii=False)
    # Go's encoding/json escapes these for HTML safety, and docker showed it.
    return (text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def _index(value: Any, *keys: Any) -> Any:
    for key in keys:
        if isinstance(value, dict):
            if not isinstance(key, str):
                raise ExecError(f"value has type {go_type(key)}; should be string")
            value = value.get(key)
        elif isinstance(value, (list, str)):
            if not isinstance(key, int) or isinstance(key, bool):
                raise ExecError(f"cannot index slice/array with type {go_type(key)}")
            if not 0 <= key < len(value):
                raise ExecError(f"index out of range: {key}")
            value = value[key] if isinstance(value, list) else ord(value[key])
        elif value is None:
            raise ExecError("index of untyped nil")
        else:
            raise ExecError(f"can't index item of type {go_type(value)}")
    return value


def _len(value: Any) -> int:
    if isinstance(value, (str, list, dict)):
        return len(value)
    raise ExecError(f"len of type {go_type(value)}")


def _print(*args: Any) -> str:
    # fmt.Sprint: a space between operands when neither side is a string
    out = ""
    for i, arg in enumerate(args):
        if i and not isinstance(arg, str) and not isinstance(args[i - 1], str):
            out += " "
        out += go_string(arg, False)
    return out


_VERB = re.compile(r"%([-+# 0]*)(\d+|\*)?(?:\.(\d+))?([a-zA-Z%])")


def _printf(fmt: str, *args: Any) -> str:
    items = list(args)

    def verb(m: re.Match) -> str:
        flags, width, prec, v = m.groups()
        if v == "%":
            return "%"
        if not items:
            return f"%!{v}(MISSING)"
        arg = items.pop(0)
        if v in "vs":
            text = go_string(arg, False)
        elif v == "q":
            text = json.dumps(go_string(arg, False), ensure_ascii=False)
        elif v == "t":
            text = go_string(arg, False)
        elif v in "dxXob":
            if not isinstance(arg, (int, float)) or isinstance(arg, bool):
                return f"%!{v}({go_type(arg)}={go_string(arg, False)})"
            text = format(int(arg), {"d": "d", "x": "x", "X": "X", "o": "o", "b": "b"}[v])
        elif v in "feEgG":
            if not isinstance(arg, (int, float)) or isinstance(arg, bool):
                return f"%!{v}({go_type(arg)}={go_string(arg, False)})"
            text = format(float(arg), f".{prec or 6}{v}") if v != "g" or prec else go_float(float(arg))
        else:
            text = go_string(arg, False)
        if width and width != "*":
            text = text.ljust(int(width)) if "-" in flags else text.rjust(int(width), "0" if "0" in flags else " ")
        return text

    out = _VERB.sub(verb, fmt)
    if items:
        out += "%!(EXTRA " + ", ".join(f"{go_type(a)}={go_string(a, False)}" for a in items) + ")"
    return out


def _cmp(name: str, op: Callable[[Any, Any], bool]) -> Callable[..., bool]:
    def compare(a: Any, b: Any) -> bool:
        kinds = (str, int, float, bool, type(None))
        if not isinstance(a, kinds) or not isinstance(b, kinds):
            raise ExecError(f"{name}: invalid type for comparison")
        if isinstance(a, str) != isinstance(b, str):
            raise ExecError(f"{name}: incompatible types for comparison")
        return op(a, b)
    return compare


def _eq(a: Any, *others: Any) -> bool:
    if not others:
        raise ExecError("missing argument for comparison")
    return any(_cmp("eq", lambda x, y: x == y)(a, b) for b in others)


def _and(*args: Any) -> Any:
    for arg in args:
        if not truth(arg):
            return arg
    return args[-1]


def _or(*args: Any) -> Any:
    for arg in args:
        if truth(arg):
            return arg
    return args[-1]


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "json": _json,
    "index": _index,
    "len": _len,
    "print": _print,
    "printf": _printf,
    "println": lambda *a: " ".join(go_string(x, False) for x in a) + "\n",
    "eq": _eq,
    "ne": lambda a, b: not _eq(a, b),
    "lt": _cmp("lt", lambda a, b: a < b),
    "le": _cmp("le", lambda a, b: a <= b),
    "gt": _cmp("gt", lambda a, b: a > b),
    "ge": _cmp("ge", lambda a, b: a >= b),
    "and": _and,
    "or": _or,
    "not": lambda a: not truth(a),
    # docker's own template helpers (added after 1.2, harmless and handy)
    "join": lambda items, sep: sep.join(go_string(x, False) for x in (items or [])),
    "split": lambda text, sep: text.split(sep),
    "upper": lambda text: str(text).upper(),
    "lower": lambda text: str(text).lower(),
    "title": lambda text: str(text).title(),
}

_ARITY = {"not": (1, 1), "len": (1, 1), "index": (1, None), "json": (1, 1), "and": (1, None),
          "or": (1, None), "eq": (2, None), "ne": (2, 2), "lt": (2, 2), "le": (2, 2), "gt": (2, 2),
          "ge": (2, 2), "printf": (1, None), "join": (2, 2), "split": (2, 2), "upper": (1, 1),
          "lower": (1, 1), "title": (1, 1)}


# --- execution --------------------------------------------------------------

class _Exec:
    def __init__(self, source: str, root: Any, out: list[str]):
        self.source = source
        self.out = out
        self.vars: list[tuple[str, Any]] = [("$", root)]

    def fail(self, node: Node, message: str) -> ExecError:
        line = self.source.count("\n", 0, node.pos) + 1
        col = node.pos - (self.source.rfind("\n", 0, node.pos) + 1)
        return ExecError(f'template: :{line}:{col}: executing "" at <{node.src}>: {message}')

    def run(self, nodes: list[Node], dot: Any) -> None:
        for node in nodes:
            if isinstance(node, Text):
                self.out.append(node.text)
            elif isinstance(node, Action):
                value = self.pipeline(node.pipe, dot)
                if not node.pipe.decl:
                    self.out.append(go_string(value))
            elif isinstance(node, Control):
                mark = len(self.vars)
                try:
                    self.control(node, dot)
                finally:
                    del self.vars[mark:]

    def control(self, node: Control, dot: Any) -> None:
        if node.kind == "range":
            value = self.pipeline(node.pipe, dot, declare=False)
            if isinstance(value, dict):
                pairs = [(k, value[k]) for k in sorted(value)]
            elif isinstance(value, list):
                pairs = list(enumerate(value))
            elif value is None:
                pairs = []
            elif isinstance(value, int) and not isinstance(value, bool):
                pairs = [(i, i) for i in range(value)]
            else:
                raise self.fail(node.pipe, f"range can't iterate over {go_string(value, False)}")
            if not pairs:
                self.run(node.orelse, dot)
                return
            mark = len(self.vars)
            for key, item in pairs:
                del self.vars[mark:]
                if len(node.pipe.decl) == 1:
                    self.vars.append((node.pipe.decl[0], item))
                elif len(node.pipe.decl) == 2:
                    self.vars.append((node.pipe.decl[0], key))
                    self.vars.append((node.pipe.decl[1], item))
                self.run(node.body, item)
            return
        value = self.pipeline(node.pipe, dot)
        if truth(value):
            self.run(node.body, value if node.kind == "with" else dot)
        else:
            self.run(node.orelse, dot)

    def pipeline(self, pipe: Pipeline, dot: Any, declare: bool = True) -> Any:
        value: Any = None
        for i, cmd in enumerate(pipe.cmds):
            value = self.command(cmd, dot, value, final=i > 0)
        if declare and pipe.decl:
            if pipe.assign:
                for j in range(len(self.vars) - 1, -1, -1):
                    if self.vars[j][0] == pipe.decl[0]:
                        self.vars[j] = (pipe.decl[0], value)
                        break
                else:
                    raise self.fail(pipe, f"undefined variable: {pipe.decl[0]}")
            else:
                self.vars.append((pipe.decl[-1], value))
        return value

    def command(self, cmd: list[Node], dot: Any, prev: Any, final: bool) -> Any:
        head = cmd[0]
        if isinstance(head, Function):
            args = [self.arg(a, dot) for a in cmd[1:]]
            if final:
                args.append(prev)
            lo, hi = _ARITY.get(head.name, (0, None))
            if len(args) < lo or (hi is not None and len(args) > hi):
                raise self.fail(head, f"wrong number of args for {head.name}: want {lo} got {len(args)}")
            try:
                return FUNCTIONS[head.name](*args)
            except ExecError as exc:
                raise self.fail(head, f"error calling {head.name}: {exc}") from None
            except (TypeError, AttributeError) as exc:
                raise self.fail(head, f"error calling {head.name}: {exc}") from None
        if isinstance(head, Field):
            # a method of the data (docker's `.Label "key"`): a callable field takes the arguments
            value = self.arg(head, dot)
            if callable(value):
                args = [self.arg(a, dot) for a in cmd[1:]] + ([prev] if final else [])
                try:
                    return value(*args)
                except TypeError:
                    raise self.fail(head, f"wrong number of args for {head.names[-1]}: "
                                          f"got {len(args)}") from None
            if len(cmd) > 1 or final:
                raise self.fail(head, f"can't give argument to non-function {head.src}")
            return value
        if len(cmd) > 1 or final:
            raise self.fail(head, f"can't give argument to non-function {head.src}")
        return self.arg(head, dot)

    def arg(self, node: Node, dot: Any) -> Any:
        if isinstance(node, Literal):
            return node.value
        if isinstance(node, Dot):
            return dot
        if isinstance(node, Variable):
            for name, value in reversed(self.vars):
                if name == node.name:
                    return value
            raise self.fail(node, f"undefined variable: {node.name}")
        if isinstance(node, Pipeline):
            return self.pipeline(node, dot, declare=False)
        if isinstance(node, Function):
            return self.command([node], dot, None, False)
        if isinstance(node, Field):
            value = dot if node.receiver is None else self.arg(node.receiver, dot)
            for name in node.names:
                if isinstance(value, dict):
                    if name not in value and getattr(value, "go_name", ""):
                        raise self.fail(node, f"can't evaluate field {name} in type {value.go_name}")
                    if name not in value:
                        raise self.fail(node, f'map has no entry for key "{name}"')
                    value = value[name]
                elif value is None:
                    raise self.fail(node, f"nil pointer evaluating interface {{}}.{name}")
                else:
                    raise self.fail(node, f"can't evaluate field {name} in type {go_type(value)}")
            return value
        raise self.fail(node, "unexpected node")
