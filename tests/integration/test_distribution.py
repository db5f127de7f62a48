"""GET /distribution/(name)/json against the real Distribution registry on 127.0.0.1:
a single image's descriptor and platform (from its config), a manifest list's
platforms, by tag and by digest, unknown names, and docker-py's inspect_distribution."""

from __future__ import annotations

import json
import os

import pytest

from registry.conftest import open_registry  # noqa: F401 (fixture)
from registry.images import DOCKER_LIST, DOCKER_V2, OCI_MANIFEST, RegistryHTTP, make_config, make_layer, \
    make_list, make_manifest, sha
from test_system_api import V, needs, request

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")


@pytest.fixture(scope="module")
def images_in_registry(open_registry):  # noqa: F811
    http = RegistryHTTP(open_registry.address)
    layer = make_layer({"hello": b"hi\n"})
    amd_cfg, arm_cfg = make_config([layer]), make_config([layer], arch="arm64")
    single = http.put_image("dist/one", "v1", [layer], amd_cfg)
    manifests = []
    for cfg, arch in ((amd_cfg, "amd64"), (arm_cfg, "arm64")):
        http.put_blob("dist/multi", layer.gz)
        http.put_blob("dist/multi", cfg)
        raw = make_manifest(cfg, [layer], OCI_MANIFEST)
        http.put_manifest("dist/multi", sha(raw), raw, OCI_MANIFEST)
        manifests.append((raw, arch))
    listing = make_list(manifests)
    multi = http.put_manifest("dist/multi", "latest", listing, DOCKER_LIST)
    one_size = len(make_manifest(amd_cfg, [layer], DOCKER_V2))
    return open_registry.address, single, one_size, multi, len(listing)


def test_distribution_of_a_single_image_and_a_list(daemon, images_in_registry):
    address, single, one_size, multi, list_size = images_in_registry
    for name in (f"{address}/dist/one:v1", f"{address}/dist/one@{single}"):
        status, _, body = request(daemon, "GET", f"{V}/distribution/{name}/json")
        assert status == 200, body
        assert json.loads(body) == {"Descriptor": {"mediaType": DOCKER_V2, "digest": single, "size": one_size},
                                    "Platforms": [{"architecture": "amd64", "os": "linux"}]}
    status, _, body = request(daemon, "GET", f"{V}/distribution/{address}/dist/multi/json")  # :latest
    info = json.loads(body)
    assert status == 200 and info["Descriptor"] == {"mediaType": DOCKER_LIST, "digest": multi, "size": list_size}
    assert info["Platforms"] == [{"architecture": "amd64", "os": "linux"}, {"architecture": "arm64", "os": "linux"}]
    # nothing was pulled
    assert not any(address in t for i in daemon.client().json("GET", "/images/json") for t in i["RepoTags"])


def test_distribution_of_what_is_not_there(daemon, images_in_registry):
    address = images_in_registry[0]
    status, _, body = request(daemon, "GET", f"{V}/distribution/{address}/dist/one:nosuch/json")
    assert status == 404 and "nosuch" in json.loads(body)["message"]
    status, _, body = request(daemon, "GET", f"{V}/distribution/{address}/dist/one@sha256:zz/json")
    assert status == 400 and "invalid digest" in json.loads(body)["message"]
    status, _, body = request(daemon, "GET", f"{V}/distribution/busybox/json")   # Docker Hub: off in tests
    assert status == 404 and "no default registry" in json.loads(body)["message"]


@needs("1.30")
def test_docker_py_inspect_distribution(daemon, images_in_registry):
    docker = pytest.importorskip("docker")
    address, single = images_in_registry[:2]
    info = docker.APIClient(base_url=daemon.host, version="auto").inspect_distribution(f"{address}/dist/one:v1")
    assert info["Descriptor"]["digest"] == single and info["Platforms"][0]["architecture"] == "amd64"
