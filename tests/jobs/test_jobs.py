"""The engine's typed contract: a job is dispatched by its args' type, traced by
the name its args class gives, and every daemon job has exactly one handler."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import ClassVar

import pytest

from pyctr.engine.daemon.handlers import JOBS
from pyctr.engine.errors import NotFound
from pyctr.engine.jobs import Engine, Job, JobArgs


@dataclass
class Greet(JobArgs[str]):
    job: ClassVar[str] = "greet"
    who: str


@dataclass
class Shout(Greet):   # the same fields, another job
    job: ClassVar[str] = "shout"


def test_dispatch_by_args_type_and_trace_by_its_name():
    engine = Engine()

    async def greet(job: Job[Greet]) -> str:
        return f"hello {job.args.who}"

    async def shout(job: Job[Shout]) -> str:
        return f"HELLO {job.args.who.upper()}"

    engine.register(Greet, greet)
    engine.register(Shout, shout)

    async def scenario() -> list[str]:
        return [await engine.run(Greet("a")), await engine.run(Shout("b"))]

    assert asyncio.run(scenario()) == ["hello a", "HELLO B"]
    assert [(t.name, t.status) for t in engine.traces] == [("greet", "ok"), ("shout", "ok")]
    assert engine.handlers() == ["greet", "shout"]


def test_unknown_job_and_double_registration():
    engine = Engine()

    async def greet(job: Job[Greet]) -> str:
        return ""

    engine.register(Greet, greet)
    with pytest.raises(ValueError):
        engine.register(Greet, greet)
    with pytest.raises(NotFound):
        asyncio.run(engine.run(Shout("x")))
    assert [(t.name, t.status) for t in engine.traces] == []


def test_every_daemon_job_has_one_name_and_one_handler():
    names = [args_type.job for args_type in JOBS]
    assert len(names) == len(set(names)), sorted(n for n in names if names.count(n) > 1)
    # today's trace names, unchanged by typing the jobs
    assert {"container_create", "container_restart", "container_stop", "image_pull", "version",
            "container_archive_stat", "container_copy", "exec_inspect"} <= set(names)
    assert all(callable(handler) for handler in JOBS.values())
