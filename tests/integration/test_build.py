"""`build` on a real pyctrd: every Dockerfile instruction, the cache, contexts (directory,
tarball, bare Dockerfile, .dockerignore, URLs from a local HTTP server), and the bad
input around them, through the API, pyctr's CLI and the real docker CLI."""

from __future__ import annotations

import functools
import http.server
import io
import os
import tarfile
import threading

import pytest

from pyctr.engine.client.streams import json_messages

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")


def context_tar(files: dict[str, bytes | str], symlinks: dict[str, str] | None = None) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, data in files.items():
            data = data.encode() if isinstance(data, str) else data
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o755 if name.endswith(".sh") else 0o644
            tar.addfile(info, io.BytesIO(data))
        for name, target in (symlinks or {}).items():
            info = tarfile.TarInfo(name)
            info.type = tarfile.SYMTYPE
            info.linkname = target
            tar.addfile(info)
    return buf.getvalue()


class Build:
    def __init__(self, messages: list[dict]) -> None:
        self.messages = messages
        self.text = "".join(m.get("stream", "") for m in messages)
        errors = [m for m in messages if "error" in m]
        self.error = errors[0]["error"] if errors else ""
        self.detail = errors[0].get("errorDetail", {}) if errors else {}
        done = [line for line in self.text.splitlines() if line.startswith("Successfully built ")]
        self.short_id = done[-1].split()[-1] if done else ""


def build(daemon, files, symlinks=None, **params) -> Build:
    params = {k: v for k, v in params.items() if v is not None}
    with daemon.client().build(context_tar(files, symlinks), params) as resp:
        assert resp.status == 200
        return Build(list(json_messages(resp.chunks())))


def containers(daemon) -> set[str]:
    return {c["Id"] for c in daemon.client().json("GET", "/containers/json", {"all": 1})}


def images(daemon) -> set[str]:
    return {i["Id"] for i in daemon.client().json("GET", "/images/json", {"all": 1})}


def inspect(daemon, name: str) -> dict:
    return daemon.client().json("GET", f"/images/{name}/json")


FULL = """\
# every instruction of Docker 1.2
FROM busybox
MAINTAINER Tester <t@example.com>
ENV APP /srv/app
RUN mkdir -p $APP && echo built > $APP/marker && echo ran-step
ADD files /srv/app/files
ADD bundle.tar /srv/unpacked
COPY bundle.tar /srv/copied/
COPY run.sh $APP/
EXPOSE 8080 53/udp
VOLUME ["/data"]
WORKDIR $APP
USER root
ENTRYPOINT ["/bin/sh", "-c"]
CMD ["cat marker"]
"""


def bundle() -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        info = tarfile.TarInfo("inner/readme")
        info.size = 6
        tar.addfile(info, io.BytesIO(b"readme"))
    return buf.getvalue()


def full_context(extra: str = "v1") -> dict:
    return {"Dockerfile": FULL, "files/a.txt": "a", "files/sub/b.txt": extra,
            "bundle.tar": bundle(), "run.sh": "#!/bin/sh\necho run\n"}


def test_every_instruction_layers_and_cache(daemon):
    first = build(daemon, full_context(), t="built/full:1")
    assert not first.error, first.text + first.error
    lines = first.text.splitlines()
    assert lines[0] == "Step 1/14 : FROM busybox"
    assert "Step 4/14 : RUN mkdir -p $APP && echo built > $APP/marker && echo ran-step" in lines
    assert "ran-step" in lines and any(l.startswith(" ---> Running in ") for l in lines)
    assert any(l.startswith("Removing intermediate container ") for l in lines)
    details = inspect(daemon, "built/full:1")
    config = details["Config"]
    assert details["Id"].startswith(first.short_id) and details["Author"] == "Tester <t@example.com>"
    assert config["Env"] == ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                             "APP=/srv/app"]
    assert config["ExposedPorts"] == {"8080/tcp": {}, "53/udp": {}}
    assert config["Volumes"] == {"/data": {}} and config["WorkingDir"] == "/srv/app"
    assert config["Entrypoint"] == ["/bin/sh", "-c"] and config["Cmd"] == ["cat marker"]
    history = daemon.client().json("GET", "/images/built/full:1/history")
    assert len(history) == 14  # busybox + one layer per instruction after FROM
    assert history[0]["CreatedBy"] == '/bin/sh -c #(nop)  CMD ["cat marker"]'
    assert history[1]["CreatedBy"] == '/bin/sh -c #(nop)  ENTRYPOINT ["/bin/sh" "-c"]'
    assert history[3]["CreatedBy"] == "/bin/sh -c #(nop) WORKDIR /srv/app"
    assert "#(nop) ADD dir:" in history[-5]["CreatedBy"]  # ADD files: a content checksum

    run = daemon.docker("run", "--rm", "built/full:1")
    assert run.stdout.decode() == "built\n"
    listing = daemon.docker("run", "--rm", "--entrypoint", "sh", "built/full:1", "-c",
                            "cat files/a.txt files/sub/b.txt /srv/unpacked/inner/readme; "
                            "ls /srv/copied; ./run.sh; stat -c %u files/a.txt").stdout.decode()
    assert listing == "av1readme" + "bundle.tar\nrun\n0\n"

    again = build(daemon, full_context(), t="built/full:1")
    assert again.short_id == first.short_id
    assert again.text.count(" ---> Using cache") == 13 and "Running in" not in again.text

    changed = build(daemon, full_context("v2"), t="built/full:2")
    assert changed.short_id != first.short_id
    assert changed.text.count(" ---> Using cache") == 3  # MAINTAINER, ENV, RUN; ADD files changed

    fresh = build(daemon, full_context(), nocache=1, q=1)
    # -q: only the id (bare at the client's API 1.14; sha256: from 1.22)
    assert len(fresh.text) == 65 and fresh.text.endswith("\n") and fresh.short_id == ""
    assert not fresh.text.startswith(first.short_id)


def test_tree_and_history_show_each_step(daemon):
    result = build(daemon, {"Dockerfile": "FROM busybox\nRUN echo one > /one\nCMD [\"cat\", \"/one\"]\n"},
                   t="built/tree")
    assert not result.error
    tree = daemon.pyctr("images", "--tree").stdout.decode()
    assert "built/tree:latest" in tree
    history = daemon.docker("history", "--no-trunc", "--format", "{{.CreatedBy}}", "built/tree").stdout.decode()
    assert history.splitlines()[:2] == ['/bin/sh -c #(nop)  CMD ["cat" "/one"]', "/bin/sh -c echo one > /one"]


def test_onbuild_triggers_run_in_the_child(daemon):
    parent = build(daemon, {"Dockerfile": "FROM busybox\nONBUILD ADD . /app\nONBUILD RUN ls /app > /listing\n"},
                   t="built/base")
    assert not parent.error
    assert inspect(daemon, "built/base")["Config"]["OnBuild"] == ["ADD . /app", "RUN ls /app > /listing"]
    child = build(daemon, {"Dockerfile": "FROM built/base\nCMD [\"cat\", \"/listing\"]\n", "x.txt": "x"},
                  t="built/child")
    assert not child.error, child.error
    assert "# Executing 2 build triggers" in child.text
    assert daemon.docker("run", "--rm", "built/child").stdout.decode() == "Dockerfile\nx.txt\n"
    assert not inspect(daemon, "built/child")["Config"]["OnBuild"]  # triggers are not inherited


@pytest.fixture
def http_files(tmp_path):
    """A static HTTP server on 127.0.0.1 (the only address tests may reach)."""
    (tmp_path / "remote.txt").write_text("from the web\n")
    (tmp_path / "Dockerfile").write_text("FROM busybox\nCMD [\"echo\", \"remote dockerfile\"]\n")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    handler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_add_url_and_remote_context(daemon, http_files):
    result = build(daemon, {"Dockerfile": f"FROM busybox\nADD {http_files}/remote.txt /web/\n"}, t="built/url")
    assert not result.error, result.error
    out = daemon.docker("run", "--rm", "built/url", "sh", "-c", "cat /web/remote.txt; stat -c %a /web/remote.txt")
    assert out.stdout.decode() == "from the web\n600\n"
    missing = build(daemon, {"Dockerfile": f"FROM busybox\nADD {http_files}/nothere /x\n"})
    assert "404" in missing.error and not missing.short_id
    copy_url = build(daemon, {"Dockerfile": f"FROM busybox\nCOPY {http_files}/remote.txt /x\n"})
    assert copy_url.error == "Source can't be a URL for COPY"
    with daemon.client().build(None, {"remote": f"{http_files}/Dockerfile", "t": "built/remote"},
                               headers={"Content-Type": "text/plain"}) as resp:
        remote = Build(list(json_messages(resp.chunks())))
    assert not remote.error, remote.error
    assert daemon.docker("run", "--rm", "built/remote").stdout.decode() == "remote dockerfile\n"


def test_tarball_context_with_dockerignore_through_the_cli(daemon, tmp_path):
    data = context_tar({"Dockerfile": "FROM busybox\nCOPY . /ctx\nCMD [\"ls\", \"-A\", \"/ctx\"]\n",
                        ".dockerignore": "*.secret\nbuild\n", "app.py": "x",
                        "key.secret": "s", "build/out": "o"})
    result = daemon.pyctr("build", "-t", "built/ignore", "-", input=data)
    assert "Successfully built" in result.stdout.decode()
    listed = daemon.pyctr("run", "--rm", "built/ignore").stdout.decode().split()
    assert sorted(listed) == [".dockerignore", "Dockerfile", "app.py"]
    bare = daemon.pyctr("build", "-t", "built/bare", "-", input=b"FROM busybox\nENV BARE yes\n")
    assert "Successfully built" in bare.stdout.decode()
    assert "BARE=yes" in inspect(daemon, "built/bare")["Config"]["Env"]
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text("FROM busybox\nCOPY hello /hello\n")
    (ctx / "hello").write_text("hi")
    quiet = daemon.pyctr("build", "-q", "--no-cache", "--rm=false", "-t", "built/dir", str(ctx))
    assert quiet.stdout.decode().strip() == inspect(daemon, "built/dir")["Id"]


def test_docker_cli_builds(daemon, tmp_path):
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text("FROM busybox\nRUN echo docker-cli > /who\nCMD [\"cat\", \"/who\"]\n")
    env_result = daemon.docker("build", "-t", "built/docker", str(ctx), timeout=120)
    assert "Successfully built" in env_result.stdout.decode()
    assert daemon.docker("run", "--rm", "built/docker").stdout.decode() == "docker-cli\n"


# --- bad input ---------------------------------------------------------------------------

def test_syntax_errors_name_the_line_and_store_nothing(daemon):
    before_images, before_containers = images(daemon), containers(daemon)
    result = build(daemon, {"Dockerfile": "FROM busybox\nRUN true\n\nBOGUS thing\n"}, t="built/never")
    assert result.error == "dockerfile parse error line 4: unknown instruction: BOGUS"
    assert "Step" not in result.text
    result = build(daemon, {"Dockerfile": "FROM busybox\nEXPOSE 99999\n"})
    assert result.error == "dockerfile parse error line 2: Invalid containerPort: 99999"
    result = build(daemon, {"Dockerfile": "RUN echo\n"})
    assert "line 1: Please provide a source image with `FROM` prior to run" in result.error
    result = build(daemon, {"notadockerfile": "x"})
    assert "without a Dockerfile" in result.error
    # a missing base image is pulled (here from a closed port on 127.0.0.1: it fails fast)
    result = build(daemon, {"Dockerfile": "FROM 127.0.0.1:9/no/such\n"})
    assert "No such image: 127.0.0.1:9/no/such, and pulling it failed" in result.error
    result = build(daemon, {"Dockerfile": "FROM busybox\n"}, t="Bad Name!")
    assert "Invalid" in result.error or "invalid" in result.error
    assert images(daemon) == before_images and containers(daemon) == before_containers
    with pytest.raises(AssertionError) as failed:
        daemon.pyctr("build", "-", input=b"FROM busybox\nNOPE x\n")
    assert "dockerfile parse error line 2: unknown instruction: NOPE" in str(failed.value)


def test_corrupt_context_and_symlinks_out(daemon):
    # cut inside the Dockerfile's data (a stream that ends after a complete entry is
    # accepted: the docker CLI's `build -f -` sends one without padding or end marker)
    with daemon.client().build(context_tar({"Dockerfile": "FROM busybox\n"})[:520], {}) as resp:
        corrupt = Build(list(json_messages(resp.chunks())))
    assert "Error processing the build context tar" in corrupt.error
    before = images(daemon)
    result = build(daemon, {"Dockerfile": "FROM busybox\nCOPY secret /x\n"}, symlinks={"secret": "/etc/shadow"})
    assert result.error == ("Forbidden path outside the build context: secret "
                            "(symlink secret -> /etc/shadow)")
    result = build(daemon, {"Dockerfile": "FROM busybox\nADD ../../etc/passwd /x\n"})
    assert "Forbidden path outside the build context" in result.error
    result = build(daemon, {"Dockerfile": "FROM busybox\nCOPY d/up /x\n", "d/f": "f"},
                   symlinks={"d/up": "../../../etc"})
    assert "Forbidden path outside the build context" in result.error
    result = build(daemon, {"Dockerfile": "FROM busybox\nCOPY a b /dir\n", "a": "1", "b": "2"})
    assert "must be a directory and end with a /" in result.error
    assert images(daemon) == before


def test_failing_run_stops_and_tags_nothing(daemon):
    dockerfile = "FROM busybox\nRUN echo fine > /fine\nRUN echo failing; exit 7\nCMD [\"true\"]\n"
    before = containers(daemon)
    result = build(daemon, {"Dockerfile": dockerfile}, t="built/failed")
    assert result.error == "The command '/bin/sh -c echo failing; exit 7' returned a non-zero code: 7"
    assert result.detail["code"] == 7
    assert "Step 3/4 : RUN echo failing; exit 7" in result.text and "Step 4/4" not in result.text
    assert "failing" in result.text
    with pytest.raises(Exception):
        inspect(daemon, "built/failed")
    kept = containers(daemon) - before
    assert len(kept) == 1  # --rm removed the good step's container; the failed one stays, as Docker
    daemon.client().remove_container(kept.pop())

    forced = build(daemon, {"Dockerfile": dockerfile}, t="built/failed", forcerm=1)
    assert forced.detail["code"] == 7 and "Removing intermediate container" in forced.text
    assert containers(daemon) == before

    kept_all = build(daemon, {"Dockerfile": "FROM busybox\nRUN echo a > /a\n"}, rm=0, nocache=1)
    assert not kept_all.error and "Removing" not in kept_all.text
    new = containers(daemon) - before
    assert len(new) == 1
    daemon.client().remove_container(new.pop())

    cli = daemon.pyctr("build", "-t", "built/failed", "-", input=dockerfile.encode(), check=False)
    assert cli.returncode == 7 and "returned a non-zero code: 7" in cli.stderr.decode()
    for cid in containers(daemon) - before:
        daemon.client().remove_container(cid)


def test_scratch_left_by_a_dead_daemon_is_swept(fresh_daemon):
    d = fresh_daemon()
    stale = os.path.join(d.root, "tmp", "build-stale")
    os.makedirs(os.path.join(stale, "context"))
    d.kill()
    d2 = fresh_daemon(d.workdir)
    assert not build(d2, {"Dockerfile": "FROM busybox\nENV A 1\n"}).error
    assert os.listdir(os.path.join(d2.root, "tmp")) == []
