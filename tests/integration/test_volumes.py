"""Named volumes and the mount model (issue 21, and the mount parts of issue 19),
through the real docker CLI and docker-py on a real pyctrd: what a user sees, the
mount inside the container, and the state left on the host."""

from __future__ import annotations

import concurrent.futures
import json
import os
import subprocess

import docker
import pytest

from harness import mounts_under, wait_for
from pyctr.engine.client.errors import APIError

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root and a real kernel")


def volume_names(daemon) -> set[str]:
    return {v["Name"] for v in daemon.client().json("GET", "/volumes")["Volumes"] or []}


def container_mounts(daemon, cid) -> dict[str, dict]:
    """`Mounts` of `docker inspect` (the CLI speaks today's API)."""
    record = json.loads(daemon.docker("inspect", cid).stdout)[0]
    return {m["Destination"]: m for m in record["Mounts"]}


def run(daemon, *args, check=True):
    return daemon.docker("run", "--rm", *args, check=check)


@pytest.fixture
def dpy(daemon):
    client = docker.DockerClient(base_url=daemon.host, version="1.41")
    yield client
    client.close()


def test_the_issue_walkthrough_with_the_docker_cli(daemon, tmp_path):
    d = daemon.docker
    d("volume", "create", "--label", "keep=1", "data")
    d("volume", "create", "other")
    try:
        listed = d("volume", "ls", "-q", "--filter", "label=keep").stdout.decode().split()
        assert listed == ["data"]
        info = json.loads(d("volume", "inspect", "data").stdout)[0]
        assert info["Name"] == "data" and info["Driver"] == "local" and info["Labels"] == {"keep": "1"}
        assert info["Mountpoint"] == os.path.join(daemon.root, "volumes", "data", "_data")
        assert info["Scope"] == "local"
        run(daemon, "-v", "data:/d", "busybox", "sh", "-c", "echo hi > /d/f")
        assert run(daemon, "-v", "data:/d:ro", "busybox", "cat", "/d/f").stdout == b"hi\n"
        ro = run(daemon, "-v", "data:/d:ro", "busybox", "sh", "-c", "echo x > /d/g", check=False)
        assert ro.returncode != 0 and b"Read-only file system" in ro.stderr
        assert run(daemon, "--mount", "type=volume,src=data,dst=/d,volume-nocopy",
                   "busybox", "ls", "/d").stdout == b"f\n"
        # in use: refused while a container (even a stopped one) refers to it
        cid = d("create", "-v", "data:/d", "busybox", "true").stdout.decode().strip()
        busy = d("volume", "rm", "data", check=False)
        assert busy.returncode != 0 and b"volume is in use" in busy.stderr
        pruned = d("volume", "prune", "-f").stdout.decode()
        assert "other" in pruned and "data" not in pruned
        assert volume_names(daemon) == {"data"}
        d("rm", cid)
        d("volume", "rm", "data")
        assert volume_names(daemon) == set()
        assert not os.path.exists(info["Mountpoint"])
        gone = d("volume", "inspect", "data", check=False)
        assert gone.returncode != 0 and b"no such volume" in gone.stderr
    finally:
        d("volume", "rm", "-f", "data", "other", check=False)


def test_tmpfs_and_bind_volumes_of_the_local_driver(daemon, tmp_path):
    d = daemon.docker
    host_dir = tmp_path / "srv-x"
    host_dir.mkdir()
    (host_dir / "from-host").write_text("host data\n")
    d("volume", "create", "-d", "local", "-o", "type=tmpfs", "-o", "device=tmpfs", "-o", "o=size=16m",
      "scratch")
    d("volume", "create", "-d", "local", "-o", "type=none", "-o", "o=bind", "-o", f"device={host_dir}",
      "hostdir")
    try:
        info = json.loads(d("volume", "inspect", "scratch").stdout)[0]
        assert info["Options"] == {"type": "tmpfs", "device": "tmpfs", "o": "size=16m"}
        df = run(daemon, "-v", "scratch:/s", "busybox", "sh", "-c", "grep ' /s ' /proc/mounts; df -k /s")
        assert b"tmpfs /s tmpfs" in df.stdout and b"16384" in df.stdout
        assert not mounts_under(info["Mountpoint"])   # down again once no container uses it
        out = run(daemon, "-v", "hostdir:/h", "busybox", "sh", "-c", "cat /h/from-host; echo back > /h/new")
        assert out.stdout == b"host data\n"
        assert (host_dir / "new").read_text() == "back\n"
        assert not mounts_under(str(tmp_path))
        d("volume", "rm", "hostdir")
        assert (host_dir / "new").exists()   # removing the volume never deletes the host's data
    finally:
        d("volume", "rm", "-f", "scratch", "hostdir", check=False)


def test_copy_up_seeds_a_new_volume_with_the_images_content_and_owners(daemon):
    d = daemon.docker
    build = ("FROM busybox\n"
             "RUN mkdir -p /data/sub && echo seed > /data/sub/f && chown -R 1234:5678 /data "
             "&& chmod 0750 /data && chmod 0604 /data/sub/f && ln -s /etc/passwd /data/link\n"
             "VOLUME /anon\n")
    d("build", "-t", "seeded", "-", input=build.encode())
    try:
        out = run(daemon, "-v", "seeded-vol:/data", "seeded", "sh", "-c",
                  "stat -c '%u:%g %a' /data /data/sub/f; cat /data/sub/f; readlink /data/link").stdout
        assert out == b"1234:5678 750\n1234:5678 604\nseed\n/etc/passwd\n"
        path = json.loads(d("volume", "inspect", "seeded-vol").stdout)[0]["Mountpoint"]
        st = os.stat(path)
        assert (st.st_uid, st.st_gid, st.st_mode & 0o7777) == (1234, 5678, 0o750)
        assert os.readlink(os.path.join(path, "link")) == "/etc/passwd"   # copied, not followed
        # not with nocopy, and not into a volume that already has data
        nocopy = run(daemon, "--mount", "type=volume,src=empty-vol,dst=/data,volume-nocopy", "seeded",
                     "ls", "-A", "/data").stdout
        assert nocopy == b""
        run(daemon, "-v", "seeded-vol:/data", "seeded", "sh", "-c", "rm /data/sub/f")
        assert run(daemon, "-v", "seeded-vol:/data", "seeded", "ls", "/data/sub").stdout == b""
    finally:
        d("volume", "rm", "-f", "seeded-vol", "empty-vol", check=False)
        d("rmi", "seeded", check=False)


def test_anonymous_volumes_are_named_volumes_removed_by_rm_v_and_rm(daemon):
    d = daemon.docker
    before = volume_names(daemon)
    cid = d("run", "-d", "-v", "/anon", "-v", "named-keep:/named", "busybox", "sleep", "30").stdout.decode().strip()
    try:
        mounts = container_mounts(daemon, cid)
        anon = mounts["/anon"]
        assert anon["Type"] == "volume" and len(anon["Name"]) == 64 and anon["Driver"] == "local"
        assert anon["Source"] == os.path.join(daemon.root, "volumes", anon["Name"], "_data")
        assert anon["RW"] is True and anon["Propagation"] == ""
        assert mounts["/named"]["Name"] == "named-keep"
        assert volume_names(daemon) - before == {anon["Name"], "named-keep"}
        d("rm", "-f", "-v", cid)
        assert volume_names(daemon) - before == {"named-keep"}   # the named one stays
        d("run", "--rm", "-v", "/anon2", "busybox", "true")      # --rm removes its anonymous volume
        assert volume_names(daemon) - before == {"named-keep"}
    finally:
        d("rm", "-f", cid, check=False)
        d("volume", "rm", "-f", "named-keep", check=False)


def test_volumes_from_carries_named_and_anonymous_volumes(daemon):
    d = daemon.docker
    src = d("create", "--name", "vsrc", "-v", "shared-named:/n", "-v", "/a", "busybox", "true").stdout.decode().strip()
    try:
        run(daemon, "--volumes-from", "vsrc", "busybox", "sh", "-c", "echo 1 > /n/f; echo 2 > /a/f")
        out = run(daemon, "--volumes-from", "vsrc:ro", "busybox", "sh", "-c", "cat /n/f /a/f; touch /n/x",
                  check=False)
        assert out.stdout == b"1\n2\n" and b"Read-only file system" in out.stderr
        mounts = container_mounts(daemon, src)
        assert {m["Name"] for m in mounts.values()} >= {"shared-named"}
    finally:
        d("rm", "-f", "-v", src, check=False)
        d("volume", "rm", "-f", "shared-named", check=False)
    assert "shared-named" not in volume_names(daemon)


def test_binds_of_files_and_directories_with_options(daemon, tmp_path):
    f = tmp_path / "hosts-file"
    f.write_text("from the host\n")
    result = run(daemon, "-v", f"{f}:/etc/myfile:ro", "busybox", "sh", "-c", "cat /etc/myfile; echo x > /etc/myfile",
                 check=False)
    assert result.stdout == b"from the host\n" and b"Read-only file system" in result.stderr
    assert run(daemon, "-v", f"{f}:/new/dir/file", "busybox", "cat", "/new/dir/file").stdout == b"from the host\n"
    made = tmp_path / "made" / "by" / "bind"
    run(daemon, "-v", f"{made}:/m:rw,z", "busybox", "touch", "/m/x")   # -v makes a missing host dir
    assert (made / "x").exists()
    cid = daemon.docker("create", "-v", f"{tmp_path}:/t:ro,rslave", "--mount",
                        f"type=bind,src={f},dst=/f,readonly", "busybox", "true").stdout.decode().strip()
    try:
        mounts = container_mounts(daemon, cid)
        assert mounts["/t"] == {"Type": "bind", "Source": str(tmp_path), "Destination": "/t",
                                "Mode": "ro,rslave", "RW": False, "Propagation": "rslave"}
        assert mounts["/f"]["Type"] == "bind" and mounts["/f"]["RW"] is False
        assert mounts["/f"]["Propagation"] == "rprivate"
    finally:
        daemon.docker("rm", cid)
    missing = daemon.docker("run", "--rm", "--mount", f"type=bind,src={tmp_path}/nope,dst=/x", "busybox", "true",
                            check=False)
    assert missing.returncode != 0 and b"bind source path does not exist" in missing.stderr
    assert not (tmp_path / "nope").exists()


def test_tmpfs_mounts_with_size_and_mode(daemon):
    out = run(daemon, "--tmpfs", "/x:size=16m,mode=1770", "--mount", "type=tmpfs,dst=/y,tmpfs-size=8m",
              "busybox", "sh", "-c", "grep -E ' /(x|y) ' /proc/mounts; stat -c %a /x").stdout.decode()
    lines = out.splitlines()
    x = next(line for line in lines if " /x " in line)
    y = next(line for line in lines if " /y " in line)
    assert "size=16384k" in x and "mode=1770" in x and "noexec" in x and "nosuid" in x
    assert "size=8192k" in y
    assert lines[-1] == "1770"
    cid = daemon.docker("create", "--tmpfs", "/run:exec", "--mount", "type=tmpfs,dst=/y",
                        "busybox", "true").stdout.decode().strip()
    try:
        record = json.loads(daemon.docker("inspect", cid).stdout)[0]
        assert record["HostConfig"]["Tmpfs"] == {"/run": "exec"}
        assert [m["Type"] for m in record["Mounts"]] == ["tmpfs"]   # --tmpfs is not listed, as in Docker
    finally:
        daemon.docker("rm", cid)


def test_docker_py_volume_api(daemon, dpy):
    created = dpy.volumes.create("pyvol", labels={"a": "b"})
    try:
        assert created.name == "pyvol" and created.attrs["Labels"] == {"a": "b"}
        assert dpy.volumes.get("pyvol").attrs["Driver"] == "local"
        generated = dpy.api.create_volume()
        assert len(generated["Name"]) == 64
        dpy.api.remove_volume(generated["Name"])
        again = dpy.api.create_volume("pyvol")          # an existing volume is the answer
        assert again["Labels"] == {"a": "b"}
        assert [v.name for v in dpy.volumes.list(filters={"name": "pyv"})] == ["pyvol"]
        assert [v.name for v in dpy.volumes.list(filters={"driver": "local", "dangling": True})] == ["pyvol"]
        out = dpy.containers.run("busybox", "sh -c 'echo py > /v/f; cat /v/f'", remove=True,
                                 volumes={"pyvol": {"bind": "/v", "mode": "rw"}})
        assert out == b"py\n"
        container = dpy.containers.create("busybox", "true", volumes=["pyvol:/v"])
        assert dpy.volumes.list(filters={"dangling": True}) == []
        with pytest.raises(docker.errors.APIError) as err:
            dpy.api.remove_volume("pyvol")
        assert err.value.status_code == 409
        container.remove()
        report = dpy.volumes.prune()
        assert report["VolumesDeleted"] == ["pyvol"] and report["SpaceReclaimed"] == 3
        # force: a missing volume is no error (docker-py 7 drops `force` from the URL: asked directly)
        daemon.client().call("DELETE", "/volumes/never-was", {"force": 1})
        with pytest.raises(docker.errors.NotFound):
            dpy.api.remove_volume("never-was")
    finally:
        try:
            dpy.api.remove_volume("pyvol", force=True)
        except docker.errors.APIError:
            pass


def test_system_df_lists_volumes_with_their_size_and_users(daemon):
    d = daemon.docker
    run(daemon, "-v", "dfvol:/d", "busybox", "sh", "-c", "head -c 5000 /dev/zero > /d/f")
    cid = d("create", "-v", "dfvol:/d", "busybox", "true").stdout.decode().strip()
    try:
        usage = daemon.client().json("GET", "/system/df")
        vol = next(v for v in usage["Volumes"] if v["Name"] == "dfvol")
        assert vol["UsageData"] == {"Size": 5000, "RefCount": 1}
        assert b"dfvol" in d("system", "df", "-v").stdout
    finally:
        d("rm", cid)
        d("volume", "rm", "dfvol")


BAD_CREATES = [
    (["volume", "create", "a/b"], b"includes invalid characters for a local volume name"),
    (["volume", "create", "v" * 300], b"a local volume's name has at most 250"),
    (["run", "--rm", "-v", "v" * 300 + ":/x", "busybox", "true"], b"a local volume's name has at most 250"),
    (["volume", "create", "-d", "nosuch", "v1"], b'plugin "nosuch" not found'),
    (["volume", "create", "-o", "colour=red", "v2"], b'invalid option key: "colour"'),
    (["volume", "create", "-o", "type=tmpfs", "-o", "device=tmpfs", "-o", "o=size=lots", "v3"],
     b"invalid volume options"),
    (["volume", "create", "-o", "type=none", "-o", "o=bind", "-o", "device=/no/such/dir", "v4"],
     b"bind device /no/such/dir does not exist"),
    (["volume", "create", "-o", "type=nosuchfs", "-o", "device=x", "v5"], b"unknown filesystem type"),
    (["run", "--rm", "-v", "a/b:/x", "busybox", "true"], b"includes invalid characters"),
    (["run", "--rm", "--mount", "type=volume,src=v6,dst=/x,volume-driver=nosuch", "busybox", "true"],
     b'plugin "nosuch" not found'),
    (["run", "--rm", "--tmpfs", "/x:size=lots", "busybox", "true"], b"invalid tmpfs size"),
    (["run", "--rm", "--tmpfs", "/x:frobnicate", "busybox", "true"], b"invalid tmpfs option"),
    (["run", "--rm", "-v", "v7:/x:bogus", "busybox", "true"], b"invalid mode: bogus"),
    (["run", "--rm", "-v", "v8:/x", "-v", "v9:/x", "busybox", "true"], b"Duplicate mount point: /x"),
    (["run", "--rm", "-v", "v10:relative", "busybox", "true"], b"must be absolute"),
]


@pytest.mark.parametrize("args,message", BAD_CREATES, ids=[" ".join(a[:4]) for a, _ in BAD_CREATES])
def test_bad_input_is_a_clear_error_and_leaves_nothing(daemon, args, message):
    volumes_before, containers_before = volume_names(daemon), daemon.client().json(
        "GET", "/containers/json", {"all": 1})
    entries_before = sorted(os.listdir(os.path.join(daemon.root, "volumes")))
    result = daemon.docker(*args, check=False)
    assert result.returncode != 0 and message in result.stderr, result.stderr
    assert b"Error response from daemon" in result.stderr
    assert volume_names(daemon) == volumes_before
    assert sorted(os.listdir(os.path.join(daemon.root, "volumes"))) == entries_before
    assert daemon.client().json("GET", "/containers/json", {"all": 1}) == containers_before
    assert not mounts_under(os.path.join(daemon.root, "volumes"))


def test_a_name_too_long_for_a_file_is_no_such_volume(daemon):
    """(The fuzzer's find: inspect of a 300-character name was a 500 ENAMETOOLONG.)"""
    result = daemon.docker("volume", "inspect", "a" * 300, check=False)
    assert result.returncode == 1 and b"no such volume" in result.stderr, result.stderr
    with pytest.raises(APIError) as err:
        daemon.client().json("DELETE", f"/volumes/{'a' * 300}")
    assert err.value.status == 404


def test_bad_input_answers_400(daemon):
    c = daemon.client()
    for body in ({"Name": "a/b"}, {"Name": "x1", "Driver": "nosuch"}, {"Name": "x2", "DriverOpts": {"size": "1"}}):
        with pytest.raises(APIError) as err:
            c.json("POST", "/volumes/create", body=body)
        assert err.value.status == 400, err.value
    assert volume_names(daemon).isdisjoint({"x1", "x2"})


def test_two_containers_creating_one_named_volume_at_once_share_it(daemon):
    def one(i: int):
        return daemon.docker("run", "--rm", "-v", "raced:/r", "busybox", "sh", "-c", f"echo {i} > /r/{i}")

    try:
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            results = list(pool.map(one, range(4)))
        assert all(r.returncode == 0 for r in results)
        assert sorted(run(daemon, "-v", "raced:/r", "busybox", "ls", "/r").stdout.split()) == [b"0", b"1", b"2", b"3"]
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            made = list(pool.map(lambda _: daemon.client().json("POST", "/volumes/create", body={"Name": "raced2"}),
                                 range(4)))
        assert {m["Name"] for m in made} == {"raced2"}
        entries = os.listdir(os.path.join(daemon.root, "volumes"))
        assert not [e for e in entries if e.startswith(".")]   # no staging directory left
    finally:
        daemon.docker("volume", "rm", "-f", "raced", "raced2", check=False)


def test_volumes_survive_container_and_daemon_restarts(fresh_daemon):
    first = fresh_daemon(args=["--live-restore"])
    first.docker("volume", "create", "-o", "type=tmpfs", "-o", "device=tmpfs", "keeps-running")
    first.docker("run", "-d", "--name", "live", "-v", "keeps-running:/t", "-v", "disk:/d", "busybox", "sh", "-c",
                 "echo mem > /t/f; echo disk > /d/f; sleep 300")
    first.docker("run", "--name", "stopped", "-v", "disk:/d", "busybox", "true")
    first.stop()
    second = fresh_daemon(first.workdir, args=["--live-restore"])
    try:
        # the running container's tmpfs volume stayed mounted and counted: its data is there
        assert second.docker("exec", "live", "cat", "/t/f", "/d/f").stdout == b"mem\ndisk\n"
        busy = second.docker("volume", "rm", "disk", check=False)
        assert busy.returncode != 0 and b"in use" in busy.stderr
        # the host kept the live container's tmpfs mounted: a new container shares it
        second.docker("exec", "live", "sh", "-c", "echo after > /t/g")
        assert second.docker("run", "--rm", "-v", "keeps-running:/t", "busybox", "cat", "/t/f", "/t/g").stdout \
            == b"mem\nafter\n"
        second.docker("restart", "-t", "1", "live")
        assert second.docker("exec", "live", "cat", "/d/f").stdout == b"disk\n"
        second.docker("rm", "-f", "live", "stopped")
        path = json.loads(second.docker("volume", "inspect", "keeps-running").stdout)[0]["Mountpoint"]
        assert not mounts_under(path)
        assert sorted(volume_names(second)) == ["disk", "keeps-running"]
        second.docker("volume", "prune", "-f")   # a local volume with mount options stays, as in dockerd
        assert volume_names(second) == {"keeps-running"}
        second.docker("volume", "rm", "keeps-running")
        assert volume_names(second) == set()
    finally:
        second.docker("rm", "-f", "live", "stopped", check=False)
        second.docker("volume", "rm", "-f", "disk", "keeps-running", check=False)


def test_a_crash_leaves_nothing_the_next_start_does_not_sweep(fresh_daemon):
    first = fresh_daemon()
    first.docker("volume", "create", "-o", "type=tmpfs", "-o", "device=tmpfs", "crashy")
    first.docker("run", "-d", "--name", "c", "-v", "crashy:/t", "busybox", "sleep", "300")
    root = os.path.join(first.root, "volumes")
    os.makedirs(os.path.join(root, ".new-halfmade", "_data"))   # a creation a crash cut short
    first.kill()
    second = fresh_daemon(first.workdir)
    assert not [e for e in os.listdir(root) if e.startswith(".")]
    assert not mounts_under(os.path.join(root, "crashy"))
    assert volume_names(second) == {"crashy"}
    second.docker("rm", "-f", "c")
    second.docker("volume", "rm", "crashy")


def test_compose_named_volumes_survive_down_and_up_and_go_with_down_v(daemon, tmp_path):
    project = tmp_path / "proj"
    project.mkdir()
    (project / "docker-compose.yml").write_text(
        "version: '2'\n"
        "services:\n"
        "  app:\n"
        "    image: busybox\n"
        "    command: sh -c 'cat /data/f 2>/dev/null; echo run >> /data/f'\n"
        "    network_mode: none\n"
        "    volumes:\n"
        "      - appdata:/data\n"
        "volumes:\n"
        "  appdata: {}\n")
    env = {**daemon.env(), "COMPOSE_PROJECT_NAME": "volproj"}

    def compose(*args):
        return subprocess.run(["docker-compose", *args], cwd=project, env=env, capture_output=True, timeout=120)

    try:
        up = compose("up", "--no-color")
        assert up.returncode == 0, up.stderr
        assert "volproj_appdata" in volume_names(daemon)
        assert compose("down").returncode == 0
        assert "volproj_appdata" in volume_names(daemon)
        again = compose("up", "--no-color")
        assert again.returncode == 0 and b"run" in again.stdout, again.stdout   # the data of the first run
        down = compose("down", "-v")
        assert down.returncode == 0, down.stderr
        assert "volproj_appdata" not in volume_names(daemon)
    finally:
        compose("down", "-v")


def test_the_pyctr_cli_takes_named_volumes_mounts_and_tmpfs(daemon, tmp_path):
    (tmp_path / "f").write_text("bound\n")
    try:
        daemon.pyctr("run", "--rm", "-v", "pyctr-vol:/d", "busybox", "sh", "-c", "echo kept > /d/f")
        result = daemon.pyctr("run", "--rm", "--mount", "type=volume,src=pyctr-vol,dst=/d,readonly",
                              "--mount", f"type=bind,source={tmp_path}/f,target=/etc/f",
                              "--tmpfs", "/scratch:size=1m", "busybox", "sh", "-c",
                              "cat /d/f /etc/f; grep ' /scratch ' /proc/mounts; touch /d/x", check=False)
        assert result.stdout.startswith(b"kept\nbound\ntmpfs /scratch tmpfs ") and b"size=1024k" in result.stdout
        assert b"Read-only file system" in result.stderr
        bad = daemon.pyctr("run", "--rm", "--mount", "type=volume,dst=/d,frob=1", "busybox", "true", check=False)
        assert bad.returncode != 0 and b"unexpected key 'frob'" in bad.stderr
    finally:
        daemon.docker("volume", "rm", "-f", "pyctr-vol", check=False)


def test_docker_py_container_mounts(daemon, dpy, tmp_path):
    (tmp_path / "marker").write_text("m")
    api = dpy.api
    mounts = [docker.types.Mount(target="/b", source=str(tmp_path), type="bind", read_only=True),
              docker.types.Mount(target="/v", source="dpy-mount-vol", type="volume",
                                 labels={"com.example": "yes"}),
              docker.types.Mount(target="/t", source=None, type="tmpfs", tmpfs_size="2m", tmpfs_mode=0o1770)]
    host_config = api.create_host_config(mounts=mounts, binds={str(tmp_path): {"bind": "/rw", "mode": "rw"}},
                                         tmpfs={"/run": "size=1m"})
    cid = api.create_container("busybox", ["sh", "-c", "ls /b /rw; grep -E ' /(t|run) ' /proc/mounts; "
                                           "touch /b/x 2>&1; touch /rw/from-rw"],
                               host_config=host_config)["Id"]
    try:
        api.start(cid)
        assert api.wait(cid)["StatusCode"] == 0
        logs = api.logs(cid).decode()
        assert logs.count("marker") == 2 and "Read-only file system" in logs
        assert "tmpfs /t tmpfs" in logs and "size=2048k" in logs and "mode=1770" in logs
        assert "tmpfs /run tmpfs" in logs and "size=1024k" in logs
        assert (tmp_path / "from-rw").exists()
        shown = {m["Destination"]: m for m in api.inspect_container(cid)["Mounts"]}
        assert shown["/v"]["Name"] == "dpy-mount-vol" and shown["/v"]["RW"] is True
        assert shown["/b"]["RW"] is False and shown["/rw"]["RW"] is True and shown["/t"]["Type"] == "tmpfs"
        assert dpy.volumes.get("dpy-mount-vol").attrs["Labels"] == {"com.example": "yes"}
    finally:
        api.remove_container(cid, v=True, force=True)
        api.remove_volume("dpy-mount-vol")


def test_a_mount_that_cannot_be_made_fails_the_start_and_run_rm_returns(daemon, tmp_path):
    f = tmp_path / "a-file"
    f.write_text("x")
    before = daemon.client().json("GET", "/containers/json", {"all": 1})
    result = daemon.docker("run", "--rm", "-v", f"{f}:/etc", "busybox", "true", check=False, timeout=60)
    assert result.returncode != 0 and b"cannot mount a file" in result.stderr, result.stderr
    known = {c["Id"] for c in before}
    wait_for(lambda: all(c["Id"] in known for c in daemon.client().json("GET", "/containers/json", {"all": 1})))
    assert not mounts_under(daemon.root + "/volumes")


def test_prune_racing_creates_never_takes_a_volume_a_container_holds(daemon):
    """Containers made on a named volume while prunes run: each container that was made
    finds its volume at start (a prune either saw it held, or it was made again)."""
    def create(i: int):
        return daemon.docker("create", "-v", "prune-race:/d", "busybox", "true", check=False)

    def prune(_):
        return daemon.docker("volume", "prune", "-f", check=False)

    made = []
    try:
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            futures = [pool.submit(create, i) for i in range(4)] + [pool.submit(prune, i) for i in range(4)]
            for future in futures:
                result = future.result()
                assert result.returncode == 0, result.stderr
                if result.stdout.strip() and b"Deleted" not in result.stdout and b"reclaimed" not in result.stdout:
                    made.append(result.stdout.decode().strip())
        assert len(made) == 4
        for cid in made:
            daemon.docker("start", "-a", cid)
        assert "prune-race" in volume_names(daemon)
    finally:
        for cid in made:
            daemon.docker("rm", cid, check=False)
        daemon.docker("volume", "rm", "-f", "prune-race", check=False)
