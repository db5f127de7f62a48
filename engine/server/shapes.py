"""Each API shape as a client of a given version expects it: the one place that
knows what changed between v1.12 and v1.24.

The daemon returns typed records that hold everything the newest supported
version shows; `Shapes(version)` turns them into JSON and, for an older
client, leaves out the fields its version did not have (FIELDS_SINCE). Reading
request bodies whose meaning changed with the version also happens here.
Handlers never compare versions themselves.
"""

from __future__ import annotations

from typing import Any

from ..api.codec import to_api
from ..daemon.records import ContainerRecord, mounts, networks
from ..errors import BadRequest
from ..api.versions import APIVersion

# shape -> dotted JSON path -> the API version that introduced it.
FIELDS_SINCE: dict[str, dict[str, str]] = {
    "container": {
        "Config.Labels": "1.18", "Config.StopSignal": "1.21", "State.Status": "1.21",
        "State.Dead": "1.21", "Mounts": "1.20", "GraphDriver": "1.20", "LogPath": "1.16",
        "NetworkSettings.Networks": "1.21", "HostConfig.LogConfig": "1.18",
        # HostConfig's resource fields (Memory, CpuShares, PidsLimit, ...) are accepted at
        # every version, since today's clients send them even at v1.14, so they show at every one.
    },
    "container_summary": {
        "Labels": "1.18", "ImageID": "1.21", "NetworkSettings": "1.21", "HostConfig": "1.21",
        "State": "1.23", "Mounts": "1.23",
    },
    "image_summary": {"Labels": "1.18", "RepoDigests": "1.18"},
    "image": {"RepoTags": "1.21", "RepoDigests": "1.21"},
    "version": {"MinAPIVersion": "1.21"},
}


def _drop(data: dict, path: str) -> None:
    *parents, last = path.split(".")
    for key in parents:
        data = data.get(key)
        if not isinstance(data, dict):
            return
    data.pop(last, None)


class Shapes:
    def __init__(self, version: APIVersion) -> None:
        self.version = version

    def _trim(self, shape: str, data: dict) -> dict:
        for path, since in FIELDS_SINCE[shape].items():
            if self.version < since:
                _drop(data, path)
        return data

    # --- responses ------------------------------------------------------
    def container(self, record: ContainerRecord) -> dict:
        data = to_api(record)
        data["State"]["Status"] = record.state.status
        data["State"]["Dead"] = False
        data["Mounts"] = mounts(record)
        data["GraphDriver"] = {"Name": record.driver, "Data": None}
        data["NetworkSettings"]["Networks"] = networks(record.network_settings,
                                                       record.host_config.network_mode)
        return self._trim("container", data)

    def container_summaries(self, summaries: list) -> list[dict]:
        return [self._trim("container_summary", to_api(s)) for s in summaries]

    def image_summaries(self, summaries: list) -> list[dict]:
        return [self._trim("image_summary", to_api(s)) for s in summaries]

    def image(self, details) -> dict:
        data = to_api(details.record)
        data["VirtualSize"] = details.virtual_size
        data["RepoTags"] = details.repo_tags
        data["RepoDigests"] = details.repo_digests
        return self._trim("image", data)

    def version_info(self, info) -> dict:
        return self._trim("version", to_api(info))

    # --- requests -------------------------------------------------------
    def start_body_allowed(self, body: Any) -> None:
        """HostConfig at start: what Docker 1.2's clients sent, refused from 1.24 on."""
        if body and not self.version < "1.24":
            raise BadRequest("starting container with HostConfig was deprecated since v1.10 "
                             "and removed in v1.12: send it with create")
