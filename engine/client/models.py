"""What the client sends and reads, and how it maps to and from the v1.14 API's JSON.

The request records (`ContainerConfig`, `HostConfig`, ...) are the API's own,
from engine/api/config.py, encoded by its codec for v1.14: Docker 1.2's field
order and nulls (a Go nil slice is JSON null), so a create body from `pyctr run`
reads like the one from `docker run`. The response records
are the API's own too (engine/api/records.py), read leniently (missing keys and
nulls become empty values, unknown keys are ignored), since any daemon, of any
version, may answer."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, TypeVar

from ..api.codec import from_api, to_api
from ..api.config import ContainerConfig, HostConfig
from ..api.records import ImageSummary, SearchResult, SystemInfo

T = TypeVar("T")


def _int(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


# --- request side ----------------------------------------------------------
# The create/start records are the API's own (engine/api/config.py); what is the
# client's is how Docker 1.2's CLI filled them in.

REQUEST_VERSION = "1.14"   # the API version whose shape the request bodies have


def host_config_body(host_config: HostConfig) -> dict:
    """A HostConfig as Docker 1.2's CLI sent it: empty LxcConf, PortBindings and
    Devices rather than null, "bridge" when no network mode was asked for."""
    filled = dataclasses.replace(
        host_config,
        lxc_conf=host_config.lxc_conf if host_config.lxc_conf is not None else [],  # no lxc driver
        port_bindings=host_config.port_bindings or {},
        devices=host_config.devices or [],
        network_mode=host_config.network_mode or "bridge")
    return to_api(filled, version=REQUEST_VERSION)


def create_body(config: ContainerConfig, host_config: HostConfig | None) -> dict:
    """The POST /containers/create body: the Config fields (Docker 1.2's CLI sent
    empty ExposedPorts, Env and Volumes rather than null) plus `HostConfig`."""
    filled = dataclasses.replace(config, exposed_ports=config.exposed_ports or {},
                                 env=config.env or [], volumes=config.volumes or {})
    body = to_api(filled, version=REQUEST_VERSION)
    if host_config is not None:
        body["HostConfig"] = host_config_body(host_config)
    return body


MODERN_REQUEST_VERSION = "1.41"   # what `pyctr run`/`create` speak, as docker CLI 28 with pyctrd


def modern_create_body(config: ContainerConfig, host_config: HostConfig,
                       endpoints: dict[str, dict] | None = None) -> dict:
    """The create body of today's docker CLI: Config and HostConfig of API v1.41 as the
    records hold them (no Docker 1.2 fill-ins), and NetworkingConfig's endpoints."""
    body = to_api(config, version=MODERN_REQUEST_VERSION)
    body["HostConfig"] = to_api(host_config, version=MODERN_REQUEST_VERSION)
    body["NetworkingConfig"] = {"EndpointsConfig": endpoints or {}}
    return body


@dataclass
class AuthConfig:
    username: str = ""
    password: str = ""
    email: str = ""
    server_address: str = ""

    def to_api(self) -> dict:
        return {"username": self.username, "password": self.password,
                "email": self.email, "serveraddress": self.server_address}


# --- response side ---------------------------------------------------------
# The response records are the API's own (engine/api/records.py), read with the
# codec's lenient decoding; what is the client's is the few places where Docker's
# CLI read a field its own way.


def read(cls: type[T], data: Any) -> T:
    """One record of a daemon's answer, whatever the daemon's version left out."""
    return from_api(cls, data, lenient=True)


def read_list(cls: type[T], data: Any) -> list[T]:
    return [read(cls, item) for item in data if isinstance(item, dict)] if isinstance(data, list) else []


def image_summaries(data: Any) -> list[ImageSummary]:
    """GET /images/json; an image without tags shows as <none>:<none>, as Docker's CLI."""
    images = read_list(ImageSummary, data)
    for image in images:
        image.repo_tags = image.repo_tags or ["<none>:<none>"]
    return images


def system_info(data: Any) -> SystemInfo:
    if isinstance(data, dict) and isinstance(data.get("IndexServerAddress"), list):
        # the v1.14 doc shows a list, Docker sent a string
        index = data["IndexServerAddress"]
        data = {**data, "IndexServerAddress": index[0] if index else ""}
    return read(SystemInfo, data)


def search_results(data: Any) -> list[SearchResult]:
    """GET /images/search; older registries said is_trusted for is_automated."""
    items = [{**item, "is_automated": item.get("is_automated") or item.get("is_trusted")}
             for item in data if isinstance(item, dict)] if isinstance(data, list) else []
    return read_list(SearchResult, items)
