"""Each API shape as a client of a given version expects it: the one place that
knows what changed between v1.12 and v1.41.

The daemon returns typed records that hold everything the newest supported
version shows; `Shapes(version).encode(record)` is the one place a record
becomes JSON (wire.respond calls it; so do the streaming routes), and for an
older client it leaves out the fields its version did not have (FIELDS_SINCE).
Reading request bodies whose meaning changed with the version also happens
here. Handlers never compare versions, nor write JSON themselves.

What changed beyond added fields, and from which version:
- 1.22: image ids (and parents, and the image a container runs) are
  `sha256:<hex>`, as Docker 1.10's content-addressed store shows them; the graph
  DB keeps bare hex, and input is accepted in both forms.
- 1.22: `POST /images/(name)/tag` moves a tag that names another image.
- 1.25: an image's `Size` is the whole image (its chain of layers), as
  `VirtualSize` is; before, the top layer's. An untagged image lists with
  `RepoTags: []` instead of `["<none>:<none>"]`.
- 1.25: stats of a stopped container: one empty reading naming it (not a 409).
- 1.25: `HostConfig.AutoRemove`, which today's CLI sends for `run --rm` and
  leaves the removal to the daemon (daemon/autoremove.py; honoured whenever sent).
- 1.25: `DELETE /images/(name)` follows today's dockerd rules (daemon/rmi.py).
- 1.30: `wait` answers its headers at once and its body carries `Error`.
"""

from __future__ import annotations

from typing import Any

from ..api.codec import to_api
from ..api.records import (ContainerPruneReport, ContainerSummary, HistoryEntry, ImageDeleted,
                           ImagePruneReport, ImageSummary, VersionInfo)
from ..api.versions import APIVersion
from ..daemon.container_record import ContainerRecord, mounts, networks
from ..errors import BadRequest
from ..graph.image_record import ImageDetails

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
    "image_summary": {"Labels": "1.18", "RepoDigests": "1.18", "Containers": "1.25", "SharedSize": "1.25"},
    "image": {"RepoTags": "1.21", "RepoDigests": "1.21"},
    "version": {"MinAPIVersion": "1.21"},
}

# record type -> its shape in FIELDS_SINCE (a record not named here shows the same at every version)
SHAPE_OF: dict[type, str] = {
    ContainerSummary: "container_summary", ImageSummary: "image_summary", VersionInfo: "version",
}

SHA256_IDS_SINCE = "1.22"
TAG_MOVES_SINCE = "1.22"
WHOLE_IMAGE_SIZE_SINCE = "1.25"
EMPTY_STATS_OF_STOPPED_SINCE = "1.25"
EMPTY_REPO_TAGS_SINCE = "1.25"
NONE_TAG, NONE_DIGEST = "<none>:<none>", "<none>@<none>"


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
        self._dropped: dict[str, list[str]] = {}   # shape -> the paths this version leaves out

    def _trim(self, shape: str, data: dict) -> dict:
        paths = self._dropped.get(shape)
        if paths is None:   # once per shape, not once per item of a listing
            paths = self._dropped[shape] = [p for p, since in FIELDS_SINCE[shape].items()
                                            if self.version < since]
        for path in paths:
            _drop(data, path)
        return data

    def since(self, version: str) -> bool:
        return not self.version < version

    def image_id(self, image_id: str) -> str:
        """An image id as this version shows it (bare hex before 1.22)."""
        bare = image_id.removeprefix("sha256:")
        return "sha256:" + bare if bare and self.since(SHA256_IDS_SINCE) else bare

    # --- responses ------------------------------------------------------
    def encode(self, data: Any) -> Any:
        """A record, a list of records, or JSON already, as this version's JSON."""
        if isinstance(data, (list, tuple)):
            return [self.encode(item) for item in data]
        shaped = {ContainerRecord: self._container, ImageDetails: self._image,
                  ContainerSummary: self._container_summary, ImageSummary: self._image_summary,
                  HistoryEntry: self._history_entry, ImageDeleted: self._image_deleted,
                  ContainerPruneReport: self._prune_report, ImagePruneReport: self._prune_report}
        shape_of = shaped.get(type(data))
        if shape_of is not None:
            return shape_of(data)
        shape = SHAPE_OF.get(type(data))
        return self._trim(shape, to_api(data)) if shape else to_api(data)

    def _container(self, record: ContainerRecord) -> dict:
        data = to_api(record)
        data["Image"] = self.image_id(record.image)
        data.pop("HasBeenManuallyStopped", None)   # on disk only, as Docker's
        data["State"]["Status"] = record.state.status
        data["State"]["Dead"] = False
        data["Mounts"] = mounts(record)
        data.pop("MountPoints", None)
        data["GraphDriver"] = {"Name": record.driver, "Data": None}
        data["NetworkSettings"]["Networks"] = networks(record.network_settings,
                                                       record.host_config.network_mode)
        return self._trim("container", data)

    def _container_summary(self, summary: ContainerSummary) -> dict:
        data = to_api(summary)
        data["ImageID"] = self.image_id(summary.image_id)
        return self._trim("container_summary", data)

    def _image_summary(self, summary: ImageSummary) -> dict:
        data = to_api(summary)
        data["Id"] = self.image_id(summary.id)
        data["ParentId"] = self.image_id(summary.parent_id)
        if self.since(WHOLE_IMAGE_SIZE_SINCE):
            data["Size"] = summary.virtual_size
        if not summary.repo_tags and not summary.repo_digests and not self.since(EMPTY_REPO_TAGS_SINCE):
            data["RepoTags"], data["RepoDigests"] = [NONE_TAG], [NONE_DIGEST]
        return self._trim("image_summary", data)

    def _image(self, details: ImageDetails) -> dict:
        data = to_api(details.record)
        data["Id"] = self.image_id(details.record.id)
        data["Parent"] = self.image_id(details.record.parent)
        data["VirtualSize"] = details.virtual_size
        if self.since(WHOLE_IMAGE_SIZE_SINCE):
            data["Size"] = details.virtual_size
        data["RepoTags"] = details.repo_tags
        data["RepoDigests"] = details.repo_digests
        return self._trim("image", data)

    def _history_entry(self, entry: HistoryEntry) -> dict:
        data = to_api(entry)
        data["Id"] = self.image_id(entry.id)
        return data

    def _image_deleted(self, line: ImageDeleted) -> dict:
        data = to_api(line)
        if "Deleted" in data:
            data["Deleted"] = self.image_id(data["Deleted"])
        return data

    def _prune_report(self, report) -> dict:
        data = to_api(report)
        if getattr(report, "images_deleted", None) is not None:
            data["ImagesDeleted"] = self.encode(report.images_deleted)
        return data

    def disk_usage(self, usage) -> dict:
        """`GET /system/df`: the images and containers as their lists show them, plus
        what df adds; no build cache (the classic builder's cache is images)."""
        images = self.encode([u.summary for u in usage.images])
        for data, u in zip(images, usage.images):
            data["SharedSize"], data["Containers"] = u.shared_size, u.containers
        volumes = [to_api(v) for v in usage.volumes]
        return {"LayersSize": usage.layers_size, "Images": images,
                "Containers": self.encode(usage.containers),
                "Volumes": volumes, "BuildCache": [], "BuilderSize": 0}

    def image_delete_of_today(self) -> bool:
        """`DELETE /images/(name)`: today's rules from 1.25 (daemon/rmi.py), 1.2's before."""
        return self.since("1.25")

    def wait_result(self, status) -> dict:
        """`wait`'s body: from 1.30 with `Error` (null: the wait itself did not fail)."""
        data: dict = {"StatusCode": status.status_code}
        if self.since("1.30"):
            data["Error"] = None
        return data

    def wait_answers_headers_first(self) -> bool:
        """From 1.30 `wait` sends its 200 at once (clients start the container after it)."""
        return self.since("1.30")

    # --- requests -------------------------------------------------------
    def empty_stats_when_stopped(self) -> bool:
        return self.since(EMPTY_STATS_OF_STOPPED_SINCE)

    def tag_moves(self) -> bool:
        """Whether tagging over a tag of another image moves it (1.22+), or needs force."""
        return self.since(TAG_MOVES_SINCE)

    def start_body_allowed(self, body: Any) -> None:
        """HostConfig at start: what Docker 1.2's clients sent, refused from 1.24 on."""
        if body and not self.version < "1.24":
            raise BadRequest("starting container with HostConfig was deprecated since v1.10 "
                             "and removed in v1.12: send it with create")
