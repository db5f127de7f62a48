"""`light_record`: an immutable record class (fields, defaults, ==, hash, repr) made
without typing.NamedTuple or dataclasses, whose imports cost the CLI's start-up
~10 ms (issue 24): for the few records every `pyctr` start makes (Host, TLSConfig)."""

from __future__ import annotations


def light_record(name: str, fields: dict, doc: str = "") -> type:
    """A class `name` with `fields` (field -> default, or ... for a required one)."""
    order = tuple(fields)

    def __init__(self, *args, **kwargs):
        if len(args) > len(order):
            raise TypeError(f"{name} takes at most {len(order)} arguments")
        values = dict(zip(order, args))
        for key, value in kwargs.items():
            if key not in fields or key in values:
                raise TypeError(f"{name}: unexpected or repeated argument {key!r}")
            values[key] = value
        for key in order:
            if key not in values:
                if fields[key] is ...:
                    raise TypeError(f"{name}: missing argument {key!r}")
                values[key] = fields[key]
            object.__setattr__(self, key, values[key])

    def __setattr__(self, key, value):
        raise AttributeError(f"{name} is immutable")

    def astuple(self) -> tuple:
        return tuple(getattr(self, key) for key in order)

    namespace = {
        "__slots__": order, "__doc__": doc, "__init__": __init__, "__setattr__": __setattr__,
        "__eq__": lambda self, other: type(other) is type(self) and astuple(self) == astuple(other),
        "__hash__": lambda self: hash(astuple(self)),
        "__repr__": lambda self: f"{name}(" + ", ".join(f"{k}={getattr(self, k)!r}" for k in order) + ")",
        "__iter__": lambda self: iter(astuple(self)),
    }
    return type(name, (), namespace)
