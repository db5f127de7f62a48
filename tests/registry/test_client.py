"""The registry client against the real Distribution registry: blobs up (monolithic and
chunked) and down (verified), manifests, tags, catalog, mounts, Basic and Bearer auth,
and the faults: a registry that is down, a tampered blob, a connection cut mid-blob."""

from __future__ import annotations

import asyncio
import io
import os

import pytest

from pyctr.engine.registry import client as client_mod
from pyctr.engine.registry import manifest
from pyctr.engine.registry.auth import Credentials
from pyctr.engine.registry.client import RegistryClient, new_session
from pyctr.engine.registry.endpoints import RegistryConfig
from pyctr.engine.registry.errors import (DigestMismatch, RegistryError, Unauthorized, Unreachable,
                                          UnknownManifest)
from registry.faulty import FaultyProxy
from registry.images import RegistryHTTP, make_config, make_layer, sha
from registry.regserver import free_port

from .conftest import USERS

ALICE = Credentials("alice", USERS["alice"])


def run(coro_fn, address: str, repo: str = "t/client", creds: Credentials = Credentials(),
        actions: str = "pull,push"):
    async def main():
        async with new_session() as session:
            client = RegistryClient(session, RegistryConfig(), address, creds, repo, actions)
            return await coro_fn(client)
    return asyncio.run(main())


def _file(tmp_path, data: bytes) -> str:
    path = tmp_path / f"blob-{sha(data)[7:19]}"
    path.write_bytes(data)
    return str(path)


def test_upload_monolithic_and_chunked_then_download(open_registry, tmp_path, monkeypatch):
    monkeypatch.setattr(client_mod, "CHUNK_UPLOAD", 64 << 10)
    small = os.urandom(1000)
    large = os.urandom(300 << 10)   # 5 PATCH chunks of 64 KiB
    seen: list[int] = []

    async def scenario(c: RegistryClient):
        for data in (small, large):
            assert not await c.blob_exists(sha(data))
            await c.upload_blob(_file(tmp_path, data), sha(data), len(data), seen.append)
            assert await c.blob_exists(sha(data))
        out = io.BytesIO()
        await c.fetch_blob(sha(large), len(large), out)
        return out.getvalue()

    assert run(scenario, open_registry.address) == large
    assert seen[-1] == len(large) and len([n for n in seen if n < len(large)]) >= 4


def test_manifest_roundtrip_tags_catalog_and_mount(open_registry, tmp_path):
    layer = make_layer({"hello": b"world"})
    config = make_config([layer])

    async def scenario(c: RegistryClient):
        await c.upload_blob(_file(tmp_path, layer.gz), layer.digest, len(layer.gz))
        await c.upload_blob(_file(tmp_path, config), sha(config), len(config))
        raw = manifest.schema2(manifest.Descriptor(manifest.DOCKER_CONFIG, sha(config), len(config)),
                               [manifest.Descriptor(manifest.DOCKER_LAYER, layer.digest, len(layer.gz))])
        digest = await c.put_manifest("v1", manifest.DOCKER_V2, raw)
        await c.put_manifest("v2", manifest.DOCKER_V2, raw)
        ctype, got, got_digest = await c.get_manifest("v1")
        assert (ctype, got, got_digest) == (manifest.DOCKER_V2, raw, digest)
        assert (await c.get_manifest(digest))[1] == raw
        assert sorted(await c.tags()) == ["v1", "v2"]
        assert "t/roundtrip" in await c.catalog()
        other = RegistryClient(c.session, c.config, c.index, c.credentials, "t/other", "pull,push")
        assert await other.mount_blob(layer.digest, "t/roundtrip") is None
        assert await other.blob_exists(layer.digest)
        with pytest.raises(UnknownManifest, match="nope"):
            await c.get_manifest("nope")
        with pytest.raises(UnknownManifest):
            await RegistryClient(c.session, c.config, c.index, c.credentials, "t/missing").tags()

    run(scenario, open_registry.address, "t/roundtrip")


def test_search_falls_back_to_the_catalog(open_registry):
    async def scenario(c: RegistryClient):
        await c.connect()
        return await c.search_v1("x")

    assert run(scenario, open_registry.address) is None  # no v1 endpoint on a v2 registry


def test_basic_auth(basic_registry):
    async def login(c: RegistryClient):
        await c.login()

    run(login, basic_registry.address, creds=ALICE)
    with pytest.raises(Unauthorized, match="incorrect username or password"):
        run(login, basic_registry.address, creds=Credentials("alice", "wrong"))
    with pytest.raises(Unauthorized, match="log in"):
        run(lambda c: c.blob_exists("sha256:" + "0" * 64), basic_registry.address)
    assert run(lambda c: c.blob_exists("sha256:" + "0" * 64), basic_registry.address, creds=ALICE) is False


def test_bearer_token_flow(token_registry, tmp_path):
    data = os.urandom(5000)

    async def scenario(c: RegistryClient):
        await c.login()
        await c.upload_blob(_file(tmp_path, data), sha(data), len(data))
        out = io.BytesIO()
        await c.fetch_blob(sha(data), len(data), out)
        assert out.getvalue() == data
        assert "t/token" in await c.catalog()   # a second scope: registry:catalog:*

    token_registry.tokens.issued.clear()
    run(scenario, token_registry.address, "t/token", ALICE)
    scopes = {(a["type"], a["name"]) for t in token_registry.tokens.issued for a in t["access"]}
    assert ("repository", "t/token") in scopes and ("registry", "catalog") in scopes
    with pytest.raises(Unauthorized, match="incorrect username or password"):
        run(lambda c: c.login(), token_registry.address, "t/token", Credentials("alice", "bad"))
    # anonymous: the token server gives a token that grants nothing
    with pytest.raises(Unauthorized):
        run(lambda c: c.get_manifest("latest"), token_registry.address, "t/token")


def test_registry_down():
    port = free_port()
    with pytest.raises(Unreachable, match=f"127.0.0.1:{port} is not reachable"):
        run(lambda c: c.get_manifest("latest"), f"127.0.0.1:{port}")


def test_tampered_and_cut_blobs_are_rejected(open_registry):
    http = RegistryHTTP(open_registry.address)
    data = os.urandom(200 << 10)
    digest = http.put_blob("t/faulty", data)
    with FaultyProxy(open_registry.address) as proxy:
        proxy.faults.tamper.add(digest)
        with pytest.raises(DigestMismatch, match="verification failed"):
            run(lambda c: c.fetch_blob(digest, len(data), io.BytesIO()), proxy.address, "t/faulty")
        proxy.faults.tamper.clear()
        proxy.faults.cut.add(digest)
        with pytest.raises(RegistryError, match="failed after|ended after"):
            run(lambda c: c.fetch_blob(digest, len(data), io.BytesIO()), proxy.address, "t/faulty")
        proxy.faults.cut.clear()
        out = io.BytesIO()
        run(lambda c: c.fetch_blob(digest, len(data), out), proxy.address, "t/faulty")
        assert out.getvalue() == data
    # a manifest asked for by digest must hash to it
    with FaultyProxy(open_registry.address) as proxy:
        wrong = "sha256:" + "1" * 64
        proxy.faults.manifests[f"/v2/t/faulty/manifests/{wrong}"] = (manifest.DOCKER_V2, b"{}")
        with pytest.raises(DigestMismatch):
            run(lambda c: c.get_manifest(wrong), proxy.address, "t/faulty")
