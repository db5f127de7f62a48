"""Dataclass records <-> the Docker API's JSON, in one place.

Records use snake_case fields; the API spells them in CamelCase. The name is
derived (`memory_swap` -> `MemorySwap`) unless a field says otherwise with
`api("ContainerIDFile")`. Records are stored on disk in the same shape, as
Docker stores config.json, so one codec serves the API and persistence.

A field may say which API version introduced it (`api(since="1.18")`). Encoding
for a version (`to_api(record, version="1.14")`, what a client speaking v1.14
sends) leaves such a newer field out unless it is set, so a record carries a
newer option only when it is asked for.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import types
import typing
from typing import Any, TypeVar

T = TypeVar("T")
INT64_MIN, INT64_MAX = -(1 << 63), (1 << 63) - 1


def api(name: str = "", omit_none: bool = False, since: str = "", **kwargs: Any) -> Any:
    """A dataclass field whose API name is not the derived CamelCase one, that
    is left out of the JSON when None (Go's `omitempty`), or that came with API
    version `since`."""
    metadata = dict(kwargs.pop("metadata", {}) or {}, api=name, omit_none=omit_none,
                    since=since)
    return dataclasses.field(metadata=metadata, **kwargs)


def _camel(name: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in name.split("_"))


def api_key(f: dataclasses.Field) -> str:
    """The API's name of a record's field."""
    return f.metadata.get("api") or _camel(f.name)


@functools.cache
def _fields(cls: type) -> tuple[tuple[str, str, Any, bool], ...]:
    hints = typing.get_type_hints(cls)
    return tuple(
        (f.name, f.metadata.get("api") or _camel(f.name), hints[f.name],
         bool(f.metadata.get("omit_none")))
        for f in dataclasses.fields(cls)
    )


_PLAIN = (str, int, float, bool, type(None))


def to_api(value: Any, version: str | None = None) -> Any:
    """Encode a record (recursively) as API JSON values; for `version`, without
    the unset fields that came after it."""
    if version is not None:
        return _to_api_for(value, _version_key(version))
    # Most values are plain: check those first (this runs per field of every record of
    # a listing, so `ps` with hundreds of containers feels it).
    if isinstance(value, _PLAIN):
        return value
    if isinstance(value, dict):
        return {k: v if isinstance(v, _PLAIN) else to_api(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [v if isinstance(v, _PLAIN) else to_api(v) for v in value]
    fields = _dataclass_fields(type(value))
    if fields is None:
        return value
    out = {}
    for name, key, omit_none in fields:
        item = getattr(value, name)
        if item is None:
            if not omit_none:
                out[key] = None
        else:
            out[key] = item if isinstance(item, _PLAIN) else to_api(item)
    return out


@functools.cache
def _dataclass_fields(cls: type) -> tuple[tuple[str, str, bool], ...] | None:
    """(field, API name, omit when None) of a dataclass; None for any other type."""
    if not dataclasses.is_dataclass(cls):
        return None
    return tuple((name, key, omit_none) for name, key, _, omit_none in _fields(cls))


def _version_key(version: str) -> tuple[int, int]:
    major, _, minor = version.partition(".")
    return int(major), int(minor or 0)


def _to_api_for(value: Any, version: tuple[int, int]) -> Any:
    """`to_api` for a version (request bodies: small, so no fast path)."""
    if isinstance(value, dict):
        return {k: _to_api_for(v, version) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_to_api_for(v, version) for v in value]
    if not dataclasses.is_dataclass(value) or isinstance(value, type):
        return value
    out = {}
    for f, key, omit_none in _versioned_fields(type(value)):
        item = getattr(value, f.name)
        since = f.metadata.get("since")
        if since and version < _version_key(since) and item == _default(f):
            continue
        if item is None and omit_none:
            continue
        out[key] = _to_api_for(item, version)
    return out


@functools.cache
def _versioned_fields(cls: type) -> tuple[tuple[dataclasses.Field, str, bool], ...]:
    return tuple((f, f.metadata.get("api") or _camel(f.name), bool(f.metadata.get("omit_none")))
                 for f in dataclasses.fields(cls))


def _default(f: dataclasses.Field) -> Any:
    if f.default is not dataclasses.MISSING:
        return f.default
    if f.default_factory is not dataclasses.MISSING:
        return f.default_factory()
    return dataclasses.MISSING


def from_api(cls: type[T], data: Any, lenient: bool = False) -> T:
    """Decode API JSON into `cls`, tolerating missing keys, nulls and unknown keys.

    Unknown keys are ignored as Docker ignored them; a value of the wrong type
    raises ValueError naming the field so the server can answer 400.

    `lenient` is for clients reading a daemon's answer, and daemons of other
    versions add and drop fields: a key that is missing or null, or whose value
    has the wrong type, reads as its type's empty value ("", 0, False, [], None
    for an optional field). Not the record's default: that says what this daemon
    fills in, not what another daemon meant by leaving the key out."""
    if data is None:
        data = {}
    if not isinstance(data, dict):
        if lenient:
            data = {}
        else:
            raise ValueError(f"expected an object for {cls.__name__}, got {type(data).__name__}")
    if not lenient:
        return _from_api_strict(cls, data)
    kwargs = {}
    for name, key, hint, _ in _fields(cls):
        value = data.get(key)
        kwargs[name] = _zero(hint) if value is None else _decode_lenient(hint, value, key)
    return cls(**kwargs)


def _from_api_strict(cls: type[T], data: dict) -> T:
    kwargs = {}
    for name, key, hint, _ in _fields(cls):
        if key in data and data[key] is not None:
            kwargs[name] = _decode(hint, data[key], key)
    return cls(**kwargs)


def _optional(hint: Any) -> tuple[bool, Any]:
    """(whether None is allowed, the hint without None) of a union hint."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        args = typing.get_args(hint)
        options = [a for a in args if a is not type(None)]
        return len(options) < len(args), options[0] if len(options) == 1 else Any
    return False, hint


def _zero(hint: Any) -> Any:
    """The empty value of a type, which a lenient decode gives a missing key."""
    optional, hint = _optional(hint)
    if optional:
        return None
    origin = typing.get_origin(hint)
    if origin is list:
        return []
    if origin is dict:
        return {}
    if dataclasses.is_dataclass(hint):
        return from_api(hint, {}, lenient=True)
    return {str: "", int: 0, float: 0.0, bool: False}.get(hint)


def _decode_lenient(hint: Any, value: Any, key: str) -> Any:
    """`_decode` that reads a value of the wrong type as the type's empty value,
    an item of a list or object at a time."""
    _, inner = _optional(hint)
    origin = typing.get_origin(inner)
    if dataclasses.is_dataclass(inner):
        return from_api(inner, value, lenient=True)
    if origin is list and isinstance(value, list):
        (item,) = typing.get_args(inner) or (Any,)
        return [_decode_lenient(item, v, key) if v is not None else _zero(item) for v in value]
    if origin is dict and isinstance(value, dict):
        _, item = typing.get_args(inner) or (Any, Any)
        return {k: _decode_lenient(item, v, key) if v is not None else _zero(item)
                for k, v in value.items()}
    try:
        return _decode(hint, value, key)
    except ValueError:
        return _zero(hint)


def _decode(hint: Any, value: Any, key: str) -> Any:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(hint) if a is not type(None)]
        return _decode(options[0], value, key) if len(options) == 1 else value
    if dataclasses.is_dataclass(hint):
        return from_api(hint, value)
    if origin is list:
        if isinstance(value, str) and typing.get_args(hint) == (str,):
            return [value]  # Docker accepts "Entrypoint": "sh" for ["sh"]
        if not isinstance(value, list):
            raise ValueError(f"{key}: expected a list")
        (item,) = typing.get_args(hint) or (Any,)
        return [_decode(item, v, key) for v in value]
    if origin is dict:
        if not isinstance(value, dict):
            raise ValueError(f"{key}: expected an object")
        _, item = typing.get_args(hint) or (Any, Any)
        if any(isinstance(k, str) and "\0" in k for k in value):
            raise ValueError(f"{key}: a NUL byte in a key")
        return {k: _decode(item, v, key) for k, v in value.items()}
    if hint is bool:
        if not isinstance(value, bool):
            raise ValueError(f"{key}: expected true or false")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"{key}: expected a number")
        if isinstance(value, float) and not math.isfinite(value) or not INT64_MIN <= value <= INT64_MAX:
            raise ValueError(f"{key}: {value} is out of range (a 64-bit integer)")   # as Go's decoder
        return int(value)
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(f"{key}: expected a number")
        if not math.isfinite(float(value)):
            raise ValueError(f"{key}: {value} is not a finite number")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise ValueError(f"{key}: expected a string")
        if "\0" in value:   # no path, name, argument or variable may hold one (execve, open refuse it)
            raise ValueError(f"{key}: a NUL byte in a string")
        if not value.isascii():
            try:
                value.encode()
            except UnicodeEncodeError:   # JSON's "\ud800": a lone surrogate, no UTF-8 text
                raise ValueError(f"{key}: not valid Unicode text (a lone surrogate)") from None
        return value
    return value
