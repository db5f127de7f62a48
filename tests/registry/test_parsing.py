"""Parsing what registries and clients send: auth challenges, X-Registry-Auth,
manifests of every kind, image configs and chain ids, repository names."""

from __future__ import annotations

import base64
import hashlib
import json

import pytest

from pyctr.engine.errors import BadRequest
from pyctr.engine.registry import auth, endpoints, imageconfig, manifest
from pyctr.engine.registry.errors import NoMatchingPlatform, RegistryError
from registry.images import (DOCKER_LIST, OCI_INDEX, OCI_MANIFEST, make_config, make_layer,
                             make_list, make_manifest, sha)


def test_bearer_and_basic_challenges():
    [c] = auth.parse_challenges('Bearer realm="https://auth.example/token",service="registry.example",'
                                'scope="repository:a/b:pull,push"')
    assert c.scheme == "bearer"
    assert c.params == {"realm": "https://auth.example/token", "service": "registry.example",
                        "scope": "repository:a/b:pull,push"}
    [b] = auth.parse_challenges('Basic realm="basic-realm"')
    assert b == auth.Challenge("basic", {"realm": "basic-realm"})
    two = auth.parse_challenges('Basic realm="x", Bearer realm="y",service=z')
    assert [c.scheme for c in two] == ["basic", "bearer"] and two[1].params["service"] == "z"


def test_registry_auth_header_forms():
    def enc(obj, urlsafe=True) -> str:
        raw = json.dumps(obj).encode()
        return (base64.urlsafe_b64encode if urlsafe else base64.b64encode)(raw).decode()

    assert auth.decode_header(None).anonymous
    assert auth.decode_header(enc({})).anonymous
    creds = auth.decode_header(enc({"username": "alice", "password": "p+/=?", "serveraddress": "h:1"}))
    assert (creds.username, creds.password, creds.server_address) == ("alice", "p+/=?", "h:1")
    # the config file's "auth" field, and standard base64 without padding
    packed = base64.b64encode(b"bob:pw").decode()
    creds = auth.decode_header(enc({"auth": packed}, urlsafe=False).rstrip("="))
    assert (creds.username, creds.password) == ("bob", "pw")
    with pytest.raises(BadRequest):
        auth.decode_header("%%%not base64%%%")
    with pytest.raises(BadRequest):
        auth.decode_header(base64.b64encode(b"[1, 2]").decode())


def test_repository_names():
    info = endpoints.repository_info("127.0.0.1:5000/me/bb")
    assert (info.index, info.remote_name, info.local_name) == ("127.0.0.1:5000", "me/bb", "127.0.0.1:5000/me/bb")
    hub = endpoints.repository_info("docker.io/library/busybox")
    assert (hub.index, hub.remote_name, hub.local_name) == ("docker.io", "library/busybox", "busybox")
    assert endpoints.repository_info("alice/tool").remote_name == "alice/tool"
    assert endpoints.index_of_server("https://index.docker.io/v1/") == "docker.io"
    assert endpoints.index_of_server("http://127.0.0.1:5001/") == "127.0.0.1:5001"
    with pytest.raises(BadRequest):
        endpoints.repository_info("127.0.0.1:5000/UPPER")


def test_insecure_rules():
    config = endpoints.RegistryConfig(insecure=["10.1.0.0/16", "reg.internal:5000"])
    assert config.is_insecure("127.0.0.1:5000") and config.is_insecure("localhost:5000")
    assert config.is_insecure("[::1]:5000")
    assert config.is_insecure("10.1.2.3:443") and config.is_insecure("reg.internal:5000")
    assert not config.is_insecure("10.2.0.1:5000") and not config.is_insecure("reg.internal:6000")
    assert [e.url for e in config.endpoints("127.0.0.1:5000")] == ["https://127.0.0.1:5000",
                                                                   "http://127.0.0.1:5000"]
    assert [e.url for e in config.endpoints("example.com")] == ["https://example.com"]
    mirrored = endpoints.RegistryConfig(mirrors=["http://127.0.0.1:6000/"])
    assert [e.url for e in mirrored.endpoints("docker.io")] == ["http://127.0.0.1:6000",
                                                               "https://registry-1.docker.io"]
    assert [e.url for e in mirrored.endpoints("docker.io", for_pull=False)] == ["https://registry-1.docker.io"]


def test_schema2_and_oci_manifests():
    layers = [make_layer({"a": b"1"}), make_layer({"b": b"2"})]
    config = make_config(layers)
    for media_type in (manifest.DOCKER_V2, OCI_MANIFEST):
        raw = make_manifest(config, layers, media_type)
        parsed = manifest.parse("", raw)
        assert isinstance(parsed, manifest.ImageManifest)
        assert parsed.config.digest == sha(config)
        assert [l.digest for l in parsed.layers] == [l.digest for l in layers]


def test_manifest_list_picks_linux_amd64():
    amd = make_manifest(b"{}", [])
    arm = make_manifest(b"{ }", [])
    for media_type in (DOCKER_LIST, OCI_INDEX):
        parsed = manifest.parse(media_type, make_list([(arm, "arm64"), (amd, "amd64")], media_type))
        assert isinstance(parsed, manifest.ManifestList)
        assert parsed.pick().digest == sha(amd)
    only_arm = manifest.parse("", make_list([(arm, "arm64")]))
    with pytest.raises(NoMatchingPlatform, match="linux/arm64"):
        only_arm.pick()


def test_schema1_is_read_into_the_same_shape():
    blob_a, blob_b = "sha256:" + "a" * 64, "sha256:" + "b" * 64
    body = {
        "schemaVersion": 1, "name": "x", "tag": "1", "architecture": "amd64",
        "fsLayers": [{"blobSum": blob_b}, {"blobSum": blob_a}, {"blobSum": blob_a}],
        "history": [
            {"v1Compatibility": json.dumps({"id": "3", "parent": "2", "os": "linux", "architecture": "amd64",
                                            "config": {"Cmd": ["sh"]}, "created": "2020-01-01T00:00:02Z",
                                            "container_config": {"Cmd": ["/bin/sh", "-c", "echo b"]}})},
            {"v1Compatibility": json.dumps({"id": "2", "parent": "1", "throwaway": True,
                                            "container_config": {"Cmd": ["#(nop) ENV X=1"]}})},
            {"v1Compatibility": json.dumps({"id": "1", "container_config": {"Cmd": ["ADD a"]}})},
        ],
        "signatures": [],
    }
    parsed = manifest.parse(manifest.DOCKER_V1_SIGNED, json.dumps(body).encode())
    assert isinstance(parsed, manifest.ImageManifest) and parsed.config is None
    assert [l.digest for l in parsed.layers] == [blob_a, blob_b]  # oldest first, throwaway skipped
    config = json.loads(parsed.config_json)
    assert config["config"] == {"Cmd": ["sh"]} and "id" not in config
    assert [h.get("empty_layer", False) for h in config["history"]] == [False, True, False]


@pytest.mark.parametrize("raw", [b"not json", b"[]", json.dumps({"schemaVersion": 2, "mediaType": manifest.DOCKER_V2,
                                                               "config": {"digest": "md5:x"}}).encode()])
def test_bad_manifests(raw):
    with pytest.raises(RegistryError):
        manifest.parse("", raw)


def test_chain_ids_and_records():
    layers = [make_layer({"a": b"1"}), make_layer({"b": b"2"}), make_layer({"c": b"3"})]
    d = [l.diff_id for l in layers]
    chain = imageconfig.chain_ids(d)
    assert chain[0] == d[0]
    assert chain[1] == "sha256:" + hashlib.sha256(f"{d[0]} {d[1]}".encode()).hexdigest()
    assert chain[2] == "sha256:" + hashlib.sha256(f"{chain[1]} {d[2]}".encode()).hexdigest()
    config = imageconfig.parse(make_config(layers, cmd=["top"], history=["h0", "h1", "h2"]))
    ids = [c[7:] for c in chain[:-1]] + ["f" * 64]
    records = imageconfig.records(config, "f" * 64, ids)
    assert [r.id for r in records] == ids
    assert [r.parent for r in records] == ["", ids[0], ids[1]]
    assert [r.container_config.cmd for r in records] == [["h0"], ["h1"], ["h2"]]
    assert records[-1].config.cmd == ["top"] and records[0].config is None
    with pytest.raises(RegistryError):
        imageconfig.parse(json.dumps({"rootfs": {"diff_ids": ["nope"]}}).encode())
