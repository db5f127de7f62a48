"""What a build is asked to do (BuildOptions) and how it fails (BuildError): all that the
API server and the job's args need of the builder, without importing the builder itself
(evaluator.py and the rest come with the first build)."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..api.config import HostConfig
from ..errors import EngineError


class BuildError(EngineError):
    """A step failed; `code` is a failed RUN's exit status (0 otherwise)."""
    status = 500

    def __init__(self, message: str, code: int = 0) -> None:
        super().__init__(message)
        self.code = code


@dataclass
class BuildOptions:
    tags: list[str] = field(default_factory=list)      # repo[:tag] names for the result
    quiet: bool = False       # only the image id in the stream
    nocache: bool = False
    pull: bool = False        # pull FROM images even when present
    rm: bool = True           # remove intermediate containers after each successful step
    forcerm: bool = False     # ... and after a failed one too
    build_args: dict[str, str | None] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    target: str = ""
    cache_from: list[str] = field(default_factory=list)
    host_config: HostConfig = field(default_factory=HostConfig)   # RUN containers' resources
    platform: str = ""
    aux: bool = True          # `{"aux": {"ID": ...}}` per stage (API 1.30 and later)
    sha256_ids: bool = True   # image ids in the stream as `sha256:<hex>` (API 1.22 and later)
