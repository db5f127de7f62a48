"""Which implementations a driver family's conformance suite runs against: every one the
family registers, or, to show that the suite catches a broken driver, the classes an
environment variable names instead ("module:Class,module:Class")."""

from __future__ import annotations

import importlib
import os


def implementations(env_var: str, registered: dict[str, type]) -> dict[str, type]:
    named = os.environ.get(env_var, "")
    if not named:
        return dict(registered)
    out = {}
    for spec in named.split(","):
        module, _, cls = spec.partition(":")
        out[cls] = getattr(importlib.import_module(module), cls)
    return out
