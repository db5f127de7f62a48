"""Filesystems and images as tarballs on a real pyctrd: diff, commit, cp, export/import,
save/load (both archive layouts, and with a real Docker engine both ways), and the
corrupt or hostile input that must leave nothing stored."""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import time

import pytest

from harness import DOCKER, mounts_under, wait_for
from pyctr.engine.client.errors import APIError
from test_build import build

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")


def out(result) -> str:
    return result.stdout.decode()


def images(daemon) -> set[str]:
    return {i["Id"] for i in daemon.client().json("GET", "/images/json", {"all": 1})}


def layer_dirs(daemon) -> set[str]:
    home = os.path.join(daemon.root, "graph", "layers")
    return {d for d in os.listdir(home) if len(d) == 64}


def members(data: bytes) -> dict[str, bytes | None]:
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return {m.name: (tar.extractfile(m).read() if m.isfile() else None) for m in tar}


@pytest.fixture(scope="module")
def motd(daemon):
    result = build(daemon, {"Dockerfile": "FROM busybox\nRUN echo welcome > /etc/motd\n"}, t="test/motd")
    assert not result.error
    return "test/motd"


@pytest.fixture
def changed(daemon, motd):
    """A stopped container that added /new and deleted /etc/motd."""
    name = "changed-" + os.urandom(3).hex()
    daemon.pyctr("run", "--name", name, motd, "sh", "-c", "echo x > /new; rm /etc/motd")
    yield name
    daemon.pyctr("rm", "-f", name, check=False)


def test_diff(daemon, changed):
    assert daemon.client().json("GET", f"/containers/{changed}/changes") == [
        {"Path": "/etc", "Kind": 0}, {"Path": "/etc/motd", "Kind": 2}, {"Path": "/new", "Kind": 1}]
    expected = "C /etc\nD /etc/motd\nA /new\n"
    assert out(daemon.pyctr("diff", changed)) == expected
    assert out(daemon.docker("diff", changed)) == expected
    with pytest.raises(APIError) as missing:
        daemon.client().json("GET", "/containers/nosuch/changes")
    assert missing.value.status == 404


def test_commit_message_author_and_run_config(daemon, changed, motd):
    image_id = out(daemon.pyctr("commit", "-m", "msg", "-a", "me", '--run={"Cmd":["cat","/new"]}',
                                changed, "test/app:3")).strip()
    details = daemon.client().json("GET", "/images/test/app:3/json")
    container = daemon.client().inspect_container(changed)
    assert details["Id"] == image_id and details["Comment"] == "msg" and details["Author"] == "me"
    assert details["Parent"] == container["Image"] and details["Container"] == container["Id"]
    assert details["Config"]["Cmd"] == ["cat", "/new"]
    assert out(daemon.pyctr("run", "--rm", "test/app:3")) == "x\n"
    gone = daemon.pyctr("run", "--rm", "test/app:3", "ls", "/etc/motd", check=False)
    assert gone.returncode != 0
    # today's docker CLI: --change instructions
    daemon.docker("commit", "--change", "ENV FROM_CHANGE=1", "--change", 'CMD ["env"]', changed, "test/app:4")
    assert "FROM_CHANGE=1" in out(daemon.docker("run", "--rm", "test/app:4"))


def test_commit_pauses_a_running_container_and_resumes_it(daemon):
    cid = out(daemon.docker("run", "-d", "busybox", "sh", "-c", "echo live > /live; exec sleep 1000")).strip()
    try:
        # `run -d` returns once it started, maybe before the shell wrote /live (under load)
        wait_for(lambda: daemon.docker("exec", cid, "cat", "/live", check=False).stdout == b"live\n")
        running_before = len(daemon.client().json("GET", "/containers/json"))
        image_id = daemon.client().commit(cid, repo="test/live")
        state = daemon.client().inspect_container(cid)["State"]
        assert state["Running"] and not state["Paused"]
        assert out(daemon.docker("run", "--rm", image_id, "cat", "/live")) == "live\n"
        with pytest.raises(APIError) as refused:   # an unfrozen read could be raced out
            daemon.client().commit(cid, pause=False)
        assert refused.value.status == 400 and "pause=false" in str(refused.value)
        daemon.docker("pause", cid)   # paused by its user: read as it is, left paused
        no_pause = daemon.client().commit(cid, pause=False)
        assert no_pause and no_pause != image_id
        assert daemon.client().inspect_container(cid)["State"]["Paused"]
        daemon.docker("unpause", cid)
        assert len(daemon.client().json("GET", "/containers/json")) == running_before
    finally:
        daemon.docker("rm", "-f", cid)


def test_commit_bad_input_stores_nothing(daemon, changed):
    before = images(daemon)
    for params, status in (({"container": changed, "repo": "Bad Name"}, 400),
                           ({"container": "nosuch"}, 404),
                           ({}, 400),
                           ({"container": changed, "changes": "RUN rm -rf /"}, 400)):
        with pytest.raises(APIError) as failed:
            daemon.client().json("POST", "/commit", params, body={})
        assert failed.value.status == status, failed.value.message
    with pytest.raises(APIError) as bad_body:
        daemon.client().json("POST", "/commit", {"container": changed}, body={"Cmd": 5})
    assert bad_body.value.status == 400
    assert images(daemon) == before


def test_cp(daemon, changed, tmp_path):
    container_id = daemon.client().inspect_container(changed)["Id"]
    dest = tmp_path / "out"
    dest.mkdir()
    daemon.pyctr("cp", f"{changed}:/etc/hostname", f"{dest}/")
    assert (dest / "hostname").read_text() == container_id[:12] + "\n"
    daemon.pyctr("cp", f"{changed}:/etc", f"{dest}/")
    assert (dest / "etc/passwd").is_file() and not (dest / "etc/motd").exists()
    daemon.docker("cp", f"{changed}:/new", str(dest / "new-by-docker"))
    assert (dest / "new-by-docker").read_text() == "x\n"
    with daemon.client().copy(changed, "/new") as resp:
        assert members(resp.read()) == {"new": b"x\n"}
    with daemon.client().request("HEAD", f"/containers/{changed}/archive", {"path": "/etc"}) as resp:
        import base64
        info = json.loads(base64.b64decode(resp.headers["X-Docker-Container-Path-Stat"]))
        assert info["name"] == "etc" and info["mode"] & (1 << 31)  # Go's os.ModeDir
    for resource, status in (("../../etc/shadow", 400), ("/etc/../../etc/passwd", 400),
                             ("/nothere", 404), ("", 400)):
        with pytest.raises(APIError) as failed:
            daemon.client().copy(changed, resource)
        assert failed.value.status == status
    failed_cli = daemon.pyctr("cp", f"{changed}:../etc/passwd", str(dest), check=False)
    assert failed_cli.returncode != 0 and "'..' is not allowed" in failed_cli.stderr.decode()


def test_cp_from_a_volume(daemon, tmp_path):
    name = "vol-" + os.urandom(3).hex()
    daemon.docker("run", "--name", name, "-v", "/data", "busybox", "sh", "-c", "echo in-volume > /data/f")
    try:
        with daemon.client().copy(name, "/data/f") as resp:
            assert members(resp.read()) == {"f": b"in-volume\n"}
    finally:
        daemon.docker("rm", "-v", name)


def test_export_import_round_trip(daemon, changed, tmp_path):
    with daemon.client().export(changed) as resp:
        data = resp.read()
    names = members(data)
    assert names["new"] == b"x\n" and "etc/motd" not in names and "bin/busybox" in names
    path = tmp_path / "c.tar"
    daemon.pyctr("export", "-o", str(path), changed)
    assert path.stat().st_size == len(data)
    imported = subprocess.run(f"cat {path} | {sys.executable} -m pyctr.shell.cli import - test/flat:1",
                              shell=True, capture_output=True, env=daemon.env())
    assert imported.returncode == 0, imported.stderr
    assert out(daemon.pyctr("run", "--rm", "test/flat:1", "cat", "/new")) == "x\n"
    assert len(daemon.client().json("GET", "/images/test/flat:1/history")) == 1  # flattened
    docker_export = subprocess.run([DOCKER, "export", changed], capture_output=True,
                                   env=daemon.env())
    assert docker_export.returncode == 0 and members(docker_export.stdout)["new"] == b"x\n"


def test_import_of_a_truncated_tarball_stores_nothing(daemon, changed):
    with daemon.client().export(changed) as resp:
        data = resp.read()
    before, layers = images(daemon), layer_dirs(daemon)
    for bad in (data[: len(data) // 2], b"not a tar at all" * 100):
        with pytest.raises(APIError) as failed:
            daemon.client().import_image("-", repo="test/broken", body=bad).read()
        assert failed.value.status == 400
    assert images(daemon) == before and layer_dirs(daemon) == layers


@pytest.fixture(scope="module")
def saved(daemon):
    result = build(daemon, {"Dockerfile": "FROM busybox\nRUN echo saved > /saved\nCMD [\"cat\", \"/saved\"]\n"},
                   t="test/saved:1")
    assert not result.error
    image_id = daemon.client().json("GET", "/images/test/saved:1/json")["Id"]
    with daemon.client().get_image("test/saved:1") as resp:
        return image_id, resp.read()


def test_save_layout(daemon, saved):
    image_id, data = saved
    files = members(data)
    chain = [h["Id"] for h in daemon.client().json("GET", f"/images/{image_id}/history")]
    assert len(chain) == 3
    for layer in chain:
        assert files[f"{layer}/VERSION"] == b"1.0"
        assert json.loads(files[f"{layer}/json"])["id"] == layer
        assert f"{layer}/layer.tar" in files
    assert json.loads(files["repositories"]) == {"test/saved": {"1": image_id}}
    manifest = json.loads(files["manifest.json"])
    assert manifest[0]["RepoTags"] == ["test/saved:1"]
    assert manifest[0]["Layers"] == [f"{layer}/layer.tar" for layer in reversed(chain)]
    config = json.loads(files[manifest[0]["Config"]])
    assert config["rootfs"]["diff_ids"][-1] == "sha256:" + hashlib.sha256(
        files[f"{image_id}/layer.tar"]).hexdigest()
    assert b"saved" in files[f"{chain[1]}/layer.tar"]  # the RUN step; CMD is empty


def test_save_rmi_load_keeps_ids(daemon, saved, tmp_path):
    image_id, _ = saved
    path = tmp_path / "app.tar"
    daemon.pyctr("save", "-o", str(path), "test/saved:1")
    daemon.pyctr("rmi", "test/saved:1")
    assert image_id not in images(daemon)
    assert "Loaded image: test/saved:1" in out(daemon.pyctr("load", "-i", str(path)))
    assert daemon.client().json("GET", "/images/test/saved:1/json")["Id"] == image_id
    assert out(daemon.pyctr("run", "--rm", "test/saved:1")) == "saved\n"
    before = images(daemon)
    daemon.docker("load", "-i", str(path))  # again: nothing new, tags kept
    assert images(daemon) == before
    by_docker = tmp_path / "by-docker.tar"
    daemon.docker("save", "-o", str(by_docker), "test/saved:1", "busybox")
    loaded = members(by_docker.read_bytes())
    assert set(json.loads(loaded["repositories"])) == {"test/saved", "busybox"}


def oci_style(data: bytes) -> bytes:
    """Rewrite a save as Docker 25+ writes it: only manifest.json, the config and the
    layers under blobs/sha256/ (no per-layer json)."""
    files = members(data)
    manifest = json.loads(files["manifest.json"])
    out_files: dict[str, bytes] = {}
    for item in manifest:
        config = files[item["Config"]]
        item["Config"] = "blobs/sha256/" + hashlib.sha256(config).hexdigest()
        out_files[item["Config"]] = config
        layers = []
        for layer in item["Layers"]:
            blob = files[layer]
            name = "blobs/sha256/" + hashlib.sha256(blob).hexdigest()
            out_files[name] = blob
            layers.append(name)
        item["Layers"] = layers
    out_files["manifest.json"] = json.dumps(manifest).encode()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, blob in out_files.items():
            info = tarfile.TarInfo(name)
            info.size = len(blob)
            tar.addfile(info, io.BytesIO(blob))
    return buf.getvalue()


def test_load_manifest_layout(daemon, saved):
    _, data = saved
    archive = oci_style(data)
    with daemon.client().load_image(archive) as resp:
        assert b"Loaded image: test/saved:1" in resp.read()
    top = json.loads(members(archive)["manifest.json"])[0]["Config"].rsplit("/", 1)[-1]
    assert daemon.client().json("GET", "/images/test/saved:1/json")["Id"] == top
    assert out(daemon.docker("run", "--rm", "test/saved:1")) == "saved\n"
    history = daemon.client().json("GET", "/images/test/saved:1/history")
    assert history[0]["CreatedBy"] == '/bin/sh -c #(nop)  CMD ["cat" "/saved"]'   # as dockerd 20.10 writes it
    daemon.client().tag(saved[0], "test/saved", "1", force=True)


def test_corrupt_or_truncated_archives_store_nothing(daemon, saved):
    image_id, data = saved
    files = members(data)
    before, layers, tags = images(daemon), layer_dirs(daemon), daemon.client().images()

    def rebuild(changes: dict[str, bytes | None]) -> bytes:
        buf = io.BytesIO()
        with tarfile.open(fileobj=buf, mode="w") as tar:
            for name, blob in {**files, **changes}.items():
                if blob is None:
                    continue
                info = tarfile.TarInfo(name)
                info.size = len(blob)
                tar.addfile(info, io.BytesIO(blob))
        return buf.getvalue()

    # New ids so that nothing of it is already stored; the RUN layer's tar is cut short.
    fresh = {old: hashlib.sha256(old.encode() + b"x").hexdigest() for old in
             [h["Id"] for h in daemon.client().json("GET", f"/images/{image_id}/history")][:2]}
    renamed: dict[str, bytes | None] = {name: None for name in files if name.split("/")[0] in fresh}
    for old, new in fresh.items():
        meta = json.loads(files[f"{old}/json"])
        meta["id"] = new
        meta["parent"] = fresh.get(meta.get("parent"), meta.get("parent"))
        renamed[f"{new}/json"] = json.dumps(meta).encode()
        renamed[f"{new}/VERSION"] = b"1.0"
        renamed[f"{new}/layer.tar"] = files[f"{old}/layer.tar"]
    top_new = fresh[image_id]
    run_layer = next(old for old in fresh if old != image_id)
    renamed[f"{fresh[run_layer]}/layer.tar"] = files[f"{run_layer}/layer.tar"][:700]
    renamed["repositories"] = json.dumps({"test/corrupt": {"1": top_new}}).encode()
    renamed["manifest.json"] = None
    cases = {
        "truncated archive": data[: len(data) // 3],
        "truncated layer": rebuild(renamed),
        "garbage": b"\x1f\x8b garbage that claims to be gzip",
        "empty": b"",
        "not an image": rebuild({n: None for n in files} | {"hello.txt": b"hi"}),
    }
    oci = members(oci_style(data))
    manifest = json.loads(oci["manifest.json"])
    config = json.loads(oci[manifest[0]["Config"]])
    config["rootfs"]["diff_ids"][-1] = "sha256:" + "0" * 64
    config["config"]["Env"] = ["DIFFERENT=1"]  # a new top id: nothing already stored
    blob = json.dumps(config).encode()
    oci[manifest[0]["Config"]] = None
    manifest[0]["Config"] = "blobs/sha256/" + hashlib.sha256(blob).hexdigest()
    oci[manifest[0]["Config"]] = blob
    oci["manifest.json"] = json.dumps(manifest).encode()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, content in oci.items():
            if content is not None:
                info = tarfile.TarInfo(name)
                info.size = len(content)
                tar.addfile(info, io.BytesIO(content))
    cases["bad diff id"] = buf.getvalue()
    for what, archive in cases.items():
        with pytest.raises(APIError, match=".") as failed:
            daemon.client().load_image(archive).read()
            pytest.fail(f"{what}: loaded")
        assert failed.value.status == 400, what
        assert failed.value.message, what
        assert images(daemon) == before, what
        assert layer_dirs(daemon) == layers, what
    assert daemon.client().images() == tags
    assert not os.listdir(os.path.join(daemon.root, "tmp"))


def test_cli_load_error(daemon, tmp_path):
    bad = tmp_path / "bad.tar"
    bad.write_bytes(b"\0" * 100)
    result = daemon.pyctr("load", "-i", str(bad), check=False)
    assert result.returncode == 1 and "Error processing the image archive" in result.stderr.decode()


@pytest.mark.skipif(not shutil.which("dockerd"), reason="needs Debian's docker.io")
def test_images_move_between_pyctr_and_docker(daemon, saved, busybox_tar, tmp_path):
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "bench"))
    from engines import Docker
    import tempfile
    # containerd's socket path under pytest's long tmp path would pass the 108-byte limit
    workdir = tempfile.mkdtemp(prefix="dk-", dir="/tmp")
    engine = None
    try:
        engine = Docker(workdir)
        env = {**engine.env(), "DOCKER_BUILDKIT": "0"}

        def docker(*args):
            result = subprocess.run([DOCKER, *args], capture_output=True, env=env, timeout=120)
            assert result.returncode == 0, result.stderr.decode()
            return result.stdout.decode()
        docker("import", busybox_tar, "busybox:latest")
        ctx = tmp_path / "ctx"
        ctx.mkdir()
        (ctx / "Dockerfile").write_text("FROM busybox\nENV MADE_BY docker\nRUN echo from-docker > /origin\n"
                                        "COPY Dockerfile /\nCMD [\"cat\", \"/origin\"]\n")
        docker("build", "-t", "test/from-docker:1", str(ctx))
        docker("save", "-o", str(tmp_path / "from-docker.tar"), "test/from-docker:1")
        assert "Loaded image: test/from-docker:1" in out(daemon.pyctr("load", "-i", str(tmp_path / "from-docker.tar")))
        assert out(daemon.pyctr("run", "--rm", "test/from-docker:1")) == "from-docker\n"
        details = daemon.client().json("GET", "/images/test/from-docker:1/json")
        assert "MADE_BY=docker" in details["Config"]["Env"]
        history = out(daemon.pyctr("history", "--no-trunc", "test/from-docker:1"))
        assert "echo from-docker > /origin" in history  # from the config's history (20.10's bare jsons)

        daemon.pyctr("save", "-o", str(tmp_path / "from-pyctr.tar"), "test/saved:1")
        docker("load", "-i", str(tmp_path / "from-pyctr.tar"))
        assert docker("run", "--rm", "--net=none", "test/saved:1") == "saved\n"
        assert "RUN" in docker("history", "test/saved:1") or "echo saved" in docker("history", "--no-trunc", "test/saved:1")
    finally:
        if engine is not None:
            engine.stop()
            engine.proc.wait(60)
            engine.log.close()
        left = mounts_under(workdir)
        for point in sorted(left, key=len, reverse=True):
            subprocess.run(["umount", "-l", point], check=False)
        shutil.rmtree(workdir, ignore_errors=True)
        assert not left, f"dockerd left mounts: {left}"


@pytest.mark.parametrize("driver", ["overlay", "vfs"])
def test_replaced_directory_through_diff_commit_save_load(driver, tmp_path, busybox_tar):
    """An emptied and refilled directory (overlay: an opaque dir; vfs: by comparison)
    shows in diff, survives commit as a layer, and a save/load round trip."""
    from harness import start_with_busybox
    d = start_with_busybox(str(tmp_path / driver), busybox_tar, ["--storage-driver", driver])
    try:
        d.docker("run", "--name", "c", "busybox", "sh", "-c", "rm -rf /usr; mkdir /usr; echo n > /usr/new")
        assert out(d.docker("diff", "c")) == "C /usr\nD /usr/bin\nA /usr/new\nD /usr/sbin\n"
        d.docker("commit", "c", "test/opaque")
        assert out(d.docker("run", "--rm", "test/opaque", "ls", "/usr")) == "new\n"
        d.docker("save", "-o", str(tmp_path / "o.tar"), "test/opaque")
        d.docker("rm", "c")
        d.docker("rmi", "test/opaque")
        d.docker("load", "-i", str(tmp_path / "o.tar"))
        assert out(d.docker("run", "--rm", "test/opaque", "ls", "/usr")) == "new\n"
        assert out(d.docker("run", "--rm", "busybox", "ls", "/usr")) == "bin\nsbin\n"
    finally:
        try:
            d.stop()
        finally:
            left = d.leftovers()
            d.cleanup_by_force()
        assert not left, left


def test_docker_cp_into_a_container(daemon, tmp_path):
    """Today's `docker cp` (API 1.24: PUT /containers/(id)/archive) both ways."""
    cid = daemon.docker("run", "-d", "busybox", "sleep", "100").stdout.decode().strip()
    try:
        src = tmp_path / "hello.txt"
        src.write_text("from the host\n")
        daemon.docker("cp", str(src), f"{cid}:/tmp/")
        assert daemon.docker("exec", cid, "cat", "/tmp/hello.txt").stdout == b"from the host\n"
        out = tmp_path / "back"
        out.mkdir()
        daemon.docker("cp", f"{cid}:/tmp/hello.txt", str(out))
        assert (out / "hello.txt").read_text() == "from the host\n"
        missing = daemon.docker("cp", str(src), f"{cid}:/no/such/dir/", check=False)
        assert missing.returncode != 0
        with open(src, "rb") as f:
            data = f.read()
        with pytest.raises(Exception) as err:  # not a tar at all
            daemon.client().call("PUT", f"/containers/{cid}/archive", {"path": "/tmp"}, body=data * 10)
        assert getattr(err.value, "status", 0) == 400
    finally:
        daemon.client().remove_container(cid, force=True)


SYMLINK_SETUP = ("mkdir -p /dir/sub; echo content > /dir/target; echo s > /dir/sub/s; "
                 "ln -s target /dir/link; ln -s /dir/target /dir/abslink; ln -s sub /dir/linkdir; "
                 "touch /dir/ready; sleep 300")
SYMLINK_CASES = [   # (docker cp arguments; {} is the container), the destination looked at
    (["{}:/dir/link", "link-plain"], "link-plain"),
    (["-L", "{}:/dir/link", "link-followed"], "link-followed"),
    (["-L", "{}:/dir/abslink", "abs-followed"], "abs-followed"),
    (["{}:/dir/link", "into/"], "into"),
    (["-L", "{}:/dir/link", "into-followed/"], "into-followed"),
    (["{}:/dir/linkdir", "linkdir-plain"], "linkdir-plain"),
    (["{}:/dir/linkdir/", "linkdir-slash"], "linkdir-slash"),
    (["{}:/dir/.", "dir-content"], "dir-content"),
    (["{}:/dir", "dir-whole"], "dir-whole"),
]


def describe(path) -> object:
    """What a cp left: a link's target, a file's content, a directory's tree."""
    if os.path.islink(path):
        return ("link", os.readlink(path))
    if os.path.isfile(path):
        return ("file", open(path).read())
    if not os.path.exists(path):
        return ("missing", sorted(os.listdir(os.path.dirname(path))))
    return ("dir", {name: describe(os.path.join(path, name)) for name in sorted(os.listdir(path))})


def symlink_cases(docker, where) -> dict:
    """Run the symlink cases with a `docker` runner (args -> CompletedProcess); what each left."""
    cid = docker("run", "-d", "--net=none", "busybox", "sh", "-c", SYMLINK_SETUP).stdout.decode().strip()
    try:
        wait_for = time.monotonic() + 20
        while docker("exec", cid, "test", "-e", "/dir/ready", check=False).returncode != 0:
            assert time.monotonic() < wait_for, "the container did not set up its links"
            time.sleep(0.1)
        os.makedirs(where)
        for d in ("into", "into-followed"):
            os.mkdir(os.path.join(where, d))
        seen = {}
        for args, dest in SYMLINK_CASES:
            args = [a.format(cid) for a in args]
            args[-1] = os.path.join(where, args[-1])
            result = docker("cp", *args, check=False)
            seen[" ".join(args[:-1]).replace(cid, "C") + " " + dest] = (
                describe(os.path.join(where, dest)) if result.returncode == 0
                else ("error", result.stderr.decode().strip()))
        return seen
    finally:
        docker("rm", "-f", cid, check=False)


def test_cp_of_symlinks(daemon, busybox_tar, tmp_path):
    """`docker cp C:/dir/link DEST` makes a symlink DEST, `-L` a file DEST with the content;
    a trailing `/` follows; with a real Docker engine present, both engines agree."""
    def pyctr_docker(*args, check=True):
        return daemon.docker(*args, check=check)
    seen = symlink_cases(pyctr_docker, str(tmp_path / "pyctr"))
    assert seen["C:/dir/link link-plain"] == ("link", "target")
    assert seen["-L C:/dir/link link-followed"] == ("file", "content\n")
    assert seen["-L C:/dir/abslink abs-followed"] == ("file", "content\n")
    assert seen["C:/dir/link into"] == ("dir", {"link": ("link", "target")})
    assert seen["-L C:/dir/link into-followed"] == ("dir", {"link": ("file", "content\n")})
    assert seen["C:/dir/linkdir linkdir-plain"] == ("link", "sub")
    assert seen["C:/dir/linkdir/ linkdir-slash"] == ("dir", {"s": ("file", "s\n")})
    tree = {"abslink": ("link", "/dir/target"), "link": ("link", "target"),
            "linkdir": ("link", "sub"), "ready": ("file", ""), "sub": ("dir", {"s": ("file", "s\n")}),
            "target": ("file", "content\n")}
    assert seen["C:/dir/. dir-content"] == ("dir", tree)
    assert seen["C:/dir dir-whole"] == ("dir", tree)
    if not shutil.which("dockerd"):
        return
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "bench"))
    from engines import Docker
    import tempfile
    workdir = tempfile.mkdtemp(prefix="dk-", dir="/tmp")   # containerd's socket path limit
    engine = None
    try:
        engine = Docker(workdir)
        env = {**engine.env(), "DOCKER_BUILDKIT": "0"}

        def real_docker(*args, check=True):
            result = subprocess.run(["/usr/local/bin/docker", *args], capture_output=True, env=env,
                                    timeout=120)
            assert not check or result.returncode == 0, result.stderr.decode()
            return result
        with open(busybox_tar, "rb") as f:
            subprocess.run(["/usr/local/bin/docker", "import", "-", "busybox:latest"], stdin=f,
                           env=env, check=True, capture_output=True)
        theirs = symlink_cases(real_docker, str(tmp_path / "docker"))
        print("\ncp of symlinks, pyctr | docker:")
        for case in seen:
            print(f"  {case}: {seen[case]} | {theirs[case]}")
        assert seen == theirs
    finally:
        if engine is not None:
            engine.stop()
            engine.log.close()
        left = mounts_under(workdir)
        for point in sorted(left, key=len, reverse=True):
            subprocess.run(["umount", "-l", point], check=False)
        shutil.rmtree(workdir, ignore_errors=True)
        assert not left, f"dockerd left mounts: {left}"


def test_cp_into_a_read_only_container_is_refused(daemon, tmp_path):
    """As Docker: a `--read-only` container's filesystem and its read-only volumes take no
    copies (400), its writable volumes do."""
    src = tmp_path / "f.txt"
    src.write_text("x\n")
    vol = tmp_path / "ro-vol"
    vol.mkdir()
    cid = out(daemon.docker("run", "-d", "--read-only", "-v", f"{vol}:/ro:ro", "-v", "/rw",
                            "busybox", "sleep", "100")).strip()
    try:
        for dest in ("/tmp/", "/ro/"):
            result = daemon.docker("cp", str(src), f"{cid}:{dest}", check=False)
            assert result.returncode != 0 and b"read-only" in result.stderr, (dest, result.stderr)
        assert os.listdir(vol) == []
        daemon.docker("cp", str(src), f"{cid}:/rw/")
        assert out(daemon.docker("exec", cid, "cat", "/rw/f.txt")) == "x\n"
    finally:
        daemon.client().remove_container(cid, force=True)
