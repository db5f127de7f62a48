"""`--format` for list verbs, as the docker CLI's formatter reads it: "table" (the
default columns), "table TEMPLATE" (a header row, then aligned rows), "json" (one
JSON object a line) or a bare Go template (one line a row); `\\t` and `\\n` in the
text are a tab and a newline, and surrounding spaces are trimmed."""

from __future__ import annotations

from typing import Any, Iterable, Mapping

from pyctr.engine.client.frontend.text import tabwrite

from .context import CLIError

JSON = "{{json .}}"


class _Headers(dict):
    """The header row's data: a column whose field has no header name shows empty,
    where the rows would fail on it only if the field does not exist."""

    def __contains__(self, key: object) -> bool:
        return True

    def __missing__(self, key: str):
        if key == "Label":  # `.Label "key"`: docker heads that column with the key
            return lambda name: name
        return ""


def label_of(labels: dict | None):
    """The `.Label "key"` method of a row: that label's value, "" when it has none."""
    labels = dict(labels or {})
    return lambda key: str(labels.get(key, ""))


def template(fmt: str, prefix: str = "template parsing error", status: int = 1):
    """`prefix`/`status`: how the verb reports a bad template (`events` says "Error parsing format", 64)."""
    from .gotemplate import Template, TemplateError

    try:
        made = Template(fmt)
    except TemplateError as exc:
        raise CLIError(f"{prefix}: {exc}", status=status) from None
    made.failure = (prefix, status)
    return made


def execute(tmpl, data: Any) -> str:
    from .gotemplate import ExecError

    try:
        return tmpl.execute(data)
    except ExecError as exc:
        prefix, status = getattr(tmpl, "failure", ("template parsing error", 1))
        raise CLIError(f"{prefix}: {exc}" if prefix else str(exc), status=status) from None


def resolve(fmt: str, default_table: str, quiet: bool = False, quiet_field: str = "{{.ID}}") -> str:
    """The template a list verb runs: docker's NewFormat (quiet only changes "table")."""
    if not fmt or fmt == "table":
        return quiet_field if quiet else default_table
    if fmt == "json":
        return JSON
    return fmt


def render(rows: Iterable[Mapping[str, Any]], fmt: str, headers: Mapping[str, str]) -> str:
    """The text of `rows` under a resolved format `fmt`."""
    fmt = fmt.strip(" ").replace("\\t", "\t").replace("\\n", "\n")
    if fmt.startswith("table"):
        body = template(fmt[len("table"):].strip(" "))
        lines = [execute(body, _Headers(headers))] + [execute(body, row) for row in rows]
        return tabwrite("\n".join(lines) + "\n", minwidth=10, padding=3)
    one = template(fmt)
    return "".join(execute(one, row) + "\n" for row in rows)


FORMAT_HELP = ("Format output using a custom template:\n"
               "'table':            Print output in table format with column headers (default)\n"
               "'table TEMPLATE':   Print output in table format using the given Go template\n"
               "'json':             Print in JSON format\n"
               "'TEMPLATE':         Print output using the given Go template")


def show_inspected(ctx, found: list, errors: list, fmt: str) -> None:
    """docker's typed inspect output: what was found (indented JSON; `json`, one line;
    or the template per object), then each failure, exit 1 if any."""
    import json

    from .context import StatusExit
    from .gotemplate import FUNCTIONS

    if not fmt:
        ctx.out(json.dumps(found, indent=4, ensure_ascii=False) + "\n")
    elif fmt == "json":
        ctx.out(FUNCTIONS["json"](found) + "\n")
    else:
        tmpl = template(fmt.replace("\\t", "\t").replace("\\n", "\n"))
        ctx.out("".join(execute(tmpl, obj) + "\n" for obj in found))
    for exc in errors:
        ctx.report(exc)
    if errors:
        raise StatusExit(1)
