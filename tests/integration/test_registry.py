"""pull, push, login, logout and search against the real Distribution registry
(Debian's docker-registry), through pyctrd's API, the `pyctr` CLI and the real docker
CLI; and the faults: unknown names, wrong passwords, a registry that is down, tampered
and cut blobs. A failed pull leaves no image, no layer directory and no temp file."""

from __future__ import annotations

import base64
import gzip
import json
import os
import stat

import pytest

from pyctr.engine.client.errors import APIError
from pyctr.engine.client.models import AuthConfig
from pyctr.engine.client.streams import json_messages
from registry.conftest import USERS, basic_registry, open_registry  # noqa: F401 (fixtures)
from registry.faulty import FaultyProxy
from registry.images import (DOCKER_LIST, OCI_INDEX, OCI_MANIFEST, Layer, RegistryHTTP, make_config,
                             make_layer, make_list, make_manifest, sha)
from registry.regserver import free_port


# --- helpers ------------------------------------------------------------------------------

def pull(d, name: str, tag: str = "", auth: AuthConfig | None = None) -> list[dict]:
    with d.client().pull(name, tag, auth) as resp:
        return list(json_messages(resp.chunks()))


def push(d, name: str, tag: str = "", auth: AuthConfig | None = None) -> list[dict]:
    with d.client().push(name, tag, auth) as resp:
        return list(json_messages(resp.chunks()))


def errors(messages: list[dict]) -> list[str]:
    return [m["error"] for m in messages if "error" in m]


def state(d) -> tuple[set, set, set]:
    """(image ids, layer dirs, temp files under the graph dir): what a failed pull must not change."""
    ids = {i.id for i in d.client().images(all=True)}
    layers_dir = os.path.join(d.root, "graph", "layers")
    layers = {n for n in os.listdir(layers_dir) if n != "l"}
    temps = {n for n in os.listdir(os.path.join(d.root, "graph")) if n.startswith(("pull-", "push-"))}
    return ids, layers, temps


@pytest.fixture(scope="module")
def base_layer(busybox_tar) -> Layer:
    """busybox as a gzipped registry layer, so pulled test images can run."""
    with open(busybox_tar, "rb") as f:
        raw = f.read()
    return Layer(gzip.compress(raw, compresslevel=1, mtime=0), sha(raw))


def put(registry, repo: str, tag: str, layers: list[Layer], **config) -> tuple[str, str]:
    """Put an image into the registry: (manifest digest, image id = config digest hex)."""
    cfg = make_config(layers, **config)
    digest = RegistryHTTP(registry.address).put_image(repo, tag, layers, cfg)
    return digest, sha(cfg)[7:]


# --- push and pull ------------------------------------------------------------------------

def test_push_then_pull_with_the_pyctr_cli(daemon, open_registry):
    name = f"{open_registry.address}/me/bb"
    daemon.pyctr("tag", "busybox", f"{name}:2")
    out = daemon.pyctr("push", f"{name}:2").stdout.decode()
    assert f"The push refers to repository [{name}]" in out and "2: digest: sha256:" in out
    digest = out.split("digest: ")[1].split()[0]
    again = push(daemon, name, "2")
    assert any(m.get("status") == "Layer already exists" for m in again), again

    daemon.pyctr("rmi", f"{name}:2")
    out = daemon.pyctr("pull", f"{name}:2").stdout.decode()
    assert f"Digest: {digest}" in out and "Status: Downloaded newer image" in out
    image = daemon.client().inspect_image(f"{name}:2")
    _, config_raw = None, RegistryHTTP(open_registry.address).request(
        "GET", f"/v2/me/bb/blobs/{json.loads(RegistryHTTP(open_registry.address).request('GET', f'/v2/me/bb/manifests/{digest}', headers={'Accept': 'application/vnd.docker.distribution.manifest.v2+json'})[2])['config']['digest']}")[2]
    assert image["Id"] == sha(config_raw)[7:]  # the image id is the config digest
    assert daemon.client().inspect_image(f"{name}@{digest}")["Id"] == image["Id"]
    listing = daemon.pyctr("images", "--digests").stdout.decode()
    assert any(name in line and digest in line and image["Id"][:12] in line for line in listing.splitlines())
    assert daemon.pyctr("run", "--rm", f"{name}:2", "echo", "pulled").stdout == b"pulled\n"


def test_multi_layer_image_keeps_its_chain(daemon, open_registry, base_layer):
    l2 = make_layer({"etc/motd": b"two\n", "data/gone": b"x"})
    l3 = make_layer({"etc/motd": b"three\n"}, whiteouts=("data/gone",))
    digest, image_id = put(open_registry, "me/layers", "v1", [base_layer, l2, l3],
                           cmd=["cat", "/etc/motd"], history=["ADD busybox", "ADD two", "RUN three"])
    name = f"{open_registry.address}/me/layers"
    messages = pull(daemon, name, "v1")
    assert not errors(messages), messages
    by_status = {m.get("status") for m in messages}
    assert {"Pulling fs layer", "Download complete", "Pull complete"} <= by_status
    progress = [m for m in messages if m.get("status") == "Downloading"]
    assert progress and all({"current", "total"} <= set(m["progressDetail"]) and m["id"] for m in progress)
    assert messages[-1]["status"] == f"Status: Downloaded newer image for {name}:v1"

    assert daemon.client().inspect_image(f"{name}:v1")["Id"] == image_id
    history = daemon.client().history(f"{name}:v1")
    assert len(history) == 3 and history[0].id == image_id
    assert [h.created_by for h in history] == ["RUN three", "ADD two", "ADD busybox"]
    tree = daemon.pyctr("images", "--tree").stdout.decode()
    assert f"{image_id[:12]} Virtual Size" in tree and f"Tags: {name}:v1" in tree
    assert daemon.pyctr("run", "--rm", f"{name}:v1").stdout == b"three\n"
    gone = daemon.pyctr("run", "--rm", f"{name}:v1", "ls", "/data", check=False)
    assert gone.stdout == b""  # the whiteout of layer 3 hides layer 2's file

    # A second image on the same two lower layers: only its own layer is downloaded.
    l4 = make_layer({"etc/motd": b"four\n"})
    _, second_id = put(open_registry, "me/layers", "v2", [base_layer, l2, l4], cmd=["cat", "/etc/motd"])
    with FaultyProxy(open_registry.address) as proxy:
        messages = pull(daemon, f"{proxy.address}/me/layers", "v2")
        blob_gets = [p for p in proxy.faults.hits if "/blobs/" in p]
    assert not errors(messages)
    assert sum(m.get("status") == "Already exists" for m in messages) == 2
    assert any(l4.digest in p for p in blob_gets) and not any(l2.digest in p for p in blob_gets)
    assert daemon.client().history(f"{proxy.address}/me/layers:v2")[1].id == history[1].id
    # pulling what is there already
    again = pull(daemon, name, "v1")
    assert again[-1]["status"] == f"Status: Image is up to date for {name}:v1"


def test_pull_all_tags_and_by_digest(daemon, open_registry, base_layer):
    d1, id1 = put(open_registry, "me/tags", "one", [base_layer, make_layer({"v": b"1"})])
    d2, id2 = put(open_registry, "me/tags", "two", [base_layer, make_layer({"v": b"2"})])
    name = f"{open_registry.address}/me/tags"
    out = daemon.pyctr("pull", "-a", name).stdout.decode()
    assert "Pulling repository" in out
    tags = {t for i in daemon.client().images() for t in i.repo_tags}
    assert {f"{name}:one", f"{name}:two"} <= tags
    daemon.pyctr("rmi", f"{name}:two")
    out = daemon.pyctr("pull", f"{name}@{d2}").stdout.decode()
    assert f"Digest: {d2}" in out
    assert daemon.client().inspect_image(f"{name}@{d2}")["Id"] == id2
    summary = next(i for i in daemon.client().images(digests=True) if i.id == id2)
    assert summary.repo_digests == [f"{name}@{d2}"]
    listing = daemon.pyctr("images", "--digests", name).stdout.decode()
    assert d1 in listing
    assert daemon.pyctr("images", "--digests").stdout.decode().count(d2) == 1
    bad = daemon.pyctr("pull", f"{name}@sha256:{'0' * 64}", check=False)
    assert bad.returncode != 0 and b"not found" in bad.stderr


@pytest.mark.parametrize("kind", [DOCKER_LIST, OCI_INDEX])
def test_manifest_list_picks_linux_amd64(daemon, open_registry, base_layer, kind):
    http = RegistryHTTP(open_registry.address)
    repo = "me/multi-" + ("oci" if kind == OCI_INDEX else "docker")
    amd = make_layer({"arch": b"amd64\n"})
    arm = make_layer({"arch": b"arm64\n"})
    amd_cfg = make_config([base_layer, amd], cmd=["cat", "/arch"])
    arm_cfg = make_config([base_layer, arm], cmd=["cat", "/arch"], arch="arm64")
    for layer in (base_layer, amd, arm):
        http.put_blob(repo, layer.gz)
    manifests = []
    for cfg, layers, arch in ((arm_cfg, [base_layer, arm], "arm64"), (amd_cfg, [base_layer, amd], "amd64")):
        http.put_blob(repo, cfg)
        raw = make_manifest(cfg, layers, OCI_MANIFEST)
        http.put_manifest(repo, sha(raw), raw, OCI_MANIFEST)
        manifests.append((raw, arch))
    list_digest = http.put_manifest(repo, "latest", make_list(manifests, kind), kind)
    http.put_manifest(repo, "armonly", make_list(manifests[:1], kind), kind)
    name = f"{open_registry.address}/{repo}"

    messages = pull(daemon, name, "latest")
    assert not errors(messages), messages
    assert f"Digest: {list_digest}" in [m.get("status") for m in messages]  # the list's digest
    assert daemon.client().inspect_image(f"{name}:latest")["Id"] == sha(amd_cfg)[7:]
    assert daemon.pyctr("run", "--rm", name).stdout == b"amd64\n"

    before = state(daemon)
    with pytest.raises(APIError) as err:
        pull(daemon, name, "armonly")
    assert err.value.status == 404 and "linux/amd64" in err.value.message and "linux/arm64" in err.value.message
    assert state(daemon) == before


def test_schema1_manifest_is_read(daemon, open_registry, base_layer):
    http = RegistryHTTP(open_registry.address)
    extra = make_layer({"s1": b"schema one\n"})
    for layer in (base_layer, extra):
        http.put_blob("me/s1", layer.gz)
    v1 = [
        {"id": "b" * 64, "parent": "a" * 64, "created": "2016-01-01T00:00:01Z", "os": "linux",
         "architecture": "amd64", "config": {"Cmd": ["cat", "/s1"]},
         "container_config": {"Cmd": ["/bin/sh", "-c", "#(nop) ADD s1"]}},
        {"id": "a" * 64, "created": "2016-01-01T00:00:00Z",
         "container_config": {"Cmd": ["/bin/sh", "-c", "#(nop) ADD busybox"]}},
    ]
    body = json.dumps({"schemaVersion": 1, "name": "me/s1", "tag": "old", "architecture": "amd64",
                       "fsLayers": [{"blobSum": extra.digest}, {"blobSum": base_layer.digest}],
                       "history": [{"v1Compatibility": json.dumps(h)} for h in v1],
                       "signatures": []}).encode()
    with FaultyProxy(open_registry.address) as proxy:
        proxy.faults.manifests["/v2/me/s1/manifests/old"] = (
            "application/vnd.docker.distribution.manifest.v1+prettyjws", body)
        messages = pull(daemon, f"{proxy.address}/me/s1", "old")
        name = f"{proxy.address}/me/s1:old"
        assert not errors(messages), messages
        assert daemon.pyctr("run", "--rm", name).stdout == b"schema one\n"
        history = daemon.client().history(name)
        assert len(history) == 2 and history[0].created_by == "/bin/sh -c #(nop) ADD s1"
        first_id = daemon.client().inspect_image(name)["Id"]
        daemon.pyctr("rmi", name)
        pull(daemon, f"{proxy.address}/me/s1", "old")
        assert daemon.client().inspect_image(name)["Id"] == first_id  # stable id


# --- auth ---------------------------------------------------------------------------------

def test_login_push_logout_with_the_pyctr_cli(daemon, basic_registry, tmp_path):
    env_config = str(tmp_path / "pyctrcfg")
    address = basic_registry.address

    def cli(*args, check=True):
        old = os.environ.get("PYCTR_CONFIG")
        os.environ["PYCTR_CONFIG"] = env_config
        try:
            return daemon.pyctr(*args, check=check)
        finally:
            if old is None:
                del os.environ["PYCTR_CONFIG"]
            else:
                os.environ["PYCTR_CONFIG"] = old

    daemon.pyctr("tag", "busybox", f"{address}/alice/bb:1")
    unauth = cli("push", f"{address}/alice/bb:1", check=False)
    assert unauth.returncode != 0 and b"requires authentication" in unauth.stderr

    wrong = cli("login", "-u", "alice", "-p", "wrong", address, check=False)
    assert wrong.returncode != 0 and b"incorrect username or password" in wrong.stderr
    assert not os.path.exists(env_config)

    assert b"Login Succeeded" in cli("login", "-u", "alice", "-p", USERS["alice"], address).stdout
    assert stat.S_IMODE(os.stat(env_config).st_mode) == 0o600
    saved = json.load(open(env_config))[address]
    assert base64.b64decode(saved["auth"]) == f"alice:{USERS['alice']}".encode()

    out = cli("push", f"{address}/alice/bb:1").stdout.decode()
    assert "1: digest: sha256:" in out
    daemon.pyctr("rmi", f"{address}/alice/bb:1")
    assert b"Status: " in cli("pull", f"{address}/alice/bb:1").stdout
    assert f"{address}/alice/bb" in cli("search", f"{address}/ali").stdout.decode()
    assert b"Remove login credentials" in cli("logout", address).stdout
    assert address not in json.load(open(env_config))
    again = cli("pull", f"{address}/alice/bb:1", check=False)
    assert again.returncode != 0 and b"requires authentication" in again.stderr


def test_auth_endpoint(daemon, basic_registry, open_registry):
    client = daemon.client()
    ok = client.auth(AuthConfig("alice", USERS["alice"], "", f"http://{basic_registry.address}/"))
    assert ok == {"Status": "Login Succeeded"}
    with pytest.raises(APIError) as err:
        client.auth(AuthConfig("alice", "nope", "", basic_registry.address))
    assert err.value.status == 401
    with pytest.raises(APIError) as err:
        client.auth(AuthConfig("", "", "", basic_registry.address))
    assert err.value.status == 400
    with pytest.raises(APIError) as err:
        client.auth(AuthConfig("alice", "x", "", f"127.0.0.1:{free_port()}"))
    assert err.value.status == 500 and "not reachable" in err.value.message
    # an open registry takes any credentials, as Docker's did
    assert client.auth(AuthConfig("x", "y", "", open_registry.address))["Status"] == "Login Succeeded"


# --- the real docker CLI ------------------------------------------------------------------

@pytest.mark.docker_cli
def test_docker_cli_login_push_pull_search(daemon, basic_registry, open_registry):
    address = basic_registry.address
    wrong = daemon.docker("login", "-u", "alice", "-p", "bad", address, check=False)
    assert wrong.returncode != 0 and b"incorrect username or password" in wrong.stderr
    assert b"Login Succeeded" in daemon.docker("login", "-u", "alice", "-p", USERS["alice"], address).stdout
    daemon.docker("tag", "busybox", f"{address}/alice/dock:7")
    out = daemon.docker("push", f"{address}/alice/dock:7").stdout.decode()
    assert "7: digest: sha256:" in out
    daemon.docker("rmi", f"{address}/alice/dock:7")
    out = daemon.docker("pull", f"{address}/alice/dock:7").stdout.decode()
    assert "Digest: sha256:" in out and f"{address}/alice/dock:7" in out
    assert b"alice/dock" in daemon.docker("search", f"{address}/dock").stdout
    daemon.docker("logout", address)

    missing = daemon.docker("pull", f"{open_registry.address}/nope/nothing:1", check=False)
    assert missing.returncode != 0 and b"not found" in missing.stderr
    # docker run pulls a missing image first
    daemon.docker("tag", "busybox", f"{open_registry.address}/me/auto:1")
    daemon.docker("push", f"{open_registry.address}/me/auto:1")
    daemon.docker("rmi", f"{open_registry.address}/me/auto:1")
    ran = daemon.docker("run", "--rm", f"{open_registry.address}/me/auto:1", "echo", "auto")
    assert ran.stdout == b"auto\n"


def test_pyctr_run_pulls_a_missing_image(fresh_daemon, open_registry):
    d = fresh_daemon()
    name = f"{open_registry.address}/me/autorun:1"
    d.pyctr("tag", "busybox", name)
    d.pyctr("push", name)
    d.pyctr("rmi", "-f", "busybox")
    d.pyctr("rmi", name)
    result = d.pyctr("run", "--rm", name, "echo", "hi")
    assert result.stdout == b"hi\n"
    assert b"Unable to find image" in result.stderr and b"Pulling from me/autorun" in result.stderr
    created = d.pyctr("create", f"{open_registry.address}/me/nothing:1", check=False)
    assert created.returncode != 0 and b"not found" in created.stderr


# --- bad input and faults -----------------------------------------------------------------

def test_unknown_names_and_bad_input(daemon, open_registry):
    client = daemon.client()
    before = state(daemon)
    for name, tag, status, text in [
        (f"{open_registry.address}/no/such", "latest", 404, "not found"),
        (f"{open_registry.address}/me/bb", "nosuchtag", 404, "manifest for"),
        (f"{open_registry.address}/UPPER", "latest", 400, "invalid repository name"),
        (f"{open_registry.address}/me/bb", "bad tag!", 400, "invalid tag"),
        (f"{open_registry.address}/me/bb", "sha256:123", 400, "invalid digest"),
    ]:
        with pytest.raises(APIError) as err:
            pull(daemon, name, tag)
        assert (err.value.status, text in err.value.message) == (status, True), err.value
    with pytest.raises(APIError) as err:
        client.request("POST", "/images/create", {"fromImage": ""})
    assert err.value.status == 400
    with pytest.raises(APIError) as err:
        client.request("POST", "/images/create", {"fromImage": "busybox"},
                       headers={"X-Registry-Auth": "!!not base64!!"})
    assert err.value.status == 400 and "X-Registry-Auth" in err.value.message
    with pytest.raises(APIError) as err:
        push(daemon, f"{open_registry.address}/never/tagged", "1")
    assert err.value.status == 404 and "does not exist locally" in err.value.message
    with pytest.raises(APIError) as err:
        client.search("")
    assert err.value.status == 400
    assert state(daemon) == before


def test_registry_down(daemon):
    before = state(daemon)
    port = free_port()
    with pytest.raises(APIError) as err:
        pull(daemon, f"127.0.0.1:{port}/x/y", "1")
    assert err.value.status == 500 and f"127.0.0.1:{port} is not reachable" in err.value.message
    out = daemon.pyctr("pull", f"127.0.0.1:{port}/x/y:1", check=False)
    assert out.returncode != 0 and b"is not reachable" in out.stderr
    assert state(daemon) == before


@pytest.mark.parametrize("position", ["streamed", "to-file"])
@pytest.mark.parametrize("fault", ["tamper", "cut"])
def test_bad_blob_leaves_nothing_and_the_next_pull_works(daemon, open_registry, base_layer, fault,
                                                         position):
    """The first layer to fetch is unpacked as it streams in; later ones go through temp files."""
    marker = f"{fault}-{position}-".encode()
    top = make_layer({"fault": os.urandom(1000) + marker * 100000})  # big enough to be cut mid-way
    below = [base_layer] if position == "streamed" else [base_layer, make_layer({"mid": marker})]
    _, image_id = put(open_registry, f"me/{fault}-{position}", "1", below + [top])
    fault_size = 1000 + len(marker) * 100000
    before = state(daemon)
    with FaultyProxy(open_registry.address) as proxy:
        getattr(proxy.faults, fault).add(top.digest)
        name = f"{proxy.address}/me/{fault}-{position}"
        messages = pull(daemon, name, "1")
        [error] = errors(messages)
        assert ("verification failed" in error) if fault == "tamper" else ("failed after" in error or "ended after" in error)
        assert messages[-1]["errorDetail"]["message"] == error
        assert state(daemon) == before, "a failed pull left something behind"
        cli = daemon.pyctr("pull", f"{name}:1", check=False)
        assert cli.returncode != 0 and cli.stderr.strip()
        assert state(daemon) == before
        getattr(proxy.faults, fault).clear()
        messages = pull(daemon, name, "1")
        assert not errors(messages)
    assert daemon.client().inspect_image(f"{name}:1")["Id"] == image_id
    assert daemon.pyctr("run", "--rm", f"{name}:1", "sh", "-c", "wc -c < /fault").stdout.strip() == \
        str(fault_size).encode()


def test_diff_id_mismatch_is_rejected(daemon, open_registry, base_layer):
    """A registry can serve a blob that matches its digest but not the config's diff id."""
    liar = make_layer({"x": b"y"})
    liar = Layer(liar.gz, "sha256:" + "e" * 64)
    before = state(daemon)
    put(open_registry, "me/liar", "1", [base_layer, liar])
    messages = pull(daemon, f"{open_registry.address}/me/liar", "1")
    assert "diff id" in errors(messages)[0]
    assert state(daemon) == before
