"""Today's Dockerfiles (issue 22) built on a real pyctrd by the clients people use: the
docker CLI 28's classic builder (DOCKER_BUILDKIT=0), docker-py 7 and docker-compose 1.29.
Multi-stage builds of a small program made with busybox tools, args through stages,
labels, healthchecks, ONBUILD chains, .dockerignore with exceptions, the cache, the
build options, and the bad input around them. Where Debian's dockerd starts, a private
one builds the same Dockerfiles with its legacy builder and the images must agree
(config, history, layer contents)."""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import tarfile

import pytest

from harness import DOCKER
from private_dockerd import private_dockerd  # noqa: E402
from test_build import Build, build, containers, context_tar, images, inspect

from pyctr.engine.api.config import HostConfig
from pyctr.engine.client.streams import json_messages

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")

HERE = os.path.dirname(os.path.abspath(__file__))

# A "program" made in one stage with busybox tools (sed, chmod), tested in a second and
# copied into a scratch image with the one binary it needs.
APP = r"""# escape=\
ARG VERSION=1.0
ARG BASE=busybox
FROM ${BASE} AS tools
ARG VERSION
ENV OUT=/out
WORKDIR /src
COPY src/ ./
RUN mkdir -p $OUT && sed "s/@VERSION@/$VERSION/" greet.in > $OUT/greet \
    && chmod 755 $OUT/greet && echo "made greet $VERSION" && echo "a note on stderr" >&2

FROM tools AS test
RUN sh $OUT/greet | grep -q "greet"

FROM scratch AS final
ARG VERSION
LABEL org.opencontainers.image.version=$VERSION maintainer="pyctr tests"
COPY --from=tools /bin/busybox /bin/busybox
COPY --from=tools --chown=1000:1000 /out/greet /usr/local/bin/
COPY --chown=1:50 conf/ /etc/greet/
ENV GREETING="hello world" \
    MODE=prod
EXPOSE 8080 53/udp
HEALTHCHECK --interval=30s --timeout=3s --retries=2 CMD ["/bin/busybox", "true"]
STOPSIGNAL SIGINT
USER 1000
CMD ["/bin/busybox", "sh", "/usr/local/bin/greet"]
"""

GREET = '#!/bin/busybox sh\necho "greet @VERSION@: $GREETING ($MODE) $(/bin/busybox cat /etc/greet/name)"\n'


def app_files() -> dict[str, str]:
    return {"Dockerfile": APP, "src/greet.in": GREET, "conf/name": "from conf",
            "README.md": "not copied anywhere"}


def write_tree(root, files: dict[str, str]) -> str:
    for name, data in files.items():
        path = os.path.join(root, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(data)
    return str(root)


def legacy_env(engine_env: dict) -> dict:
    return {**engine_env, "DOCKER_BUILDKIT": "0"}


def docker_build(env: dict, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run([DOCKER, "build", *args], capture_output=True, env=legacy_env(env), timeout=300)
    if check and result.returncode != 0:
        raise AssertionError(f"docker build {' '.join(args)} -> {result.returncode}\n"
                             f"{result.stdout.decode()}\n{result.stderr.decode()}")
    return result


# --- a private dockerd to compare with -------------------------------------------------

@pytest.fixture(scope="module")
def dockerd(tmp_path_factory, busybox_tar):
    """A private Docker engine (own data root and socket, no bridge) with the same busybox,
    or a skip saying why not."""
    with private_dockerd(str(tmp_path_factory.mktemp("dockerd-build")), busybox_tar) as engine:
        yield engine


CHECKSUM = re.compile(r"(file|dir|multi):[0-9a-f]{64}")
CONFIG_KEYS = ("Env", "Cmd", "Entrypoint", "Labels", "ExposedPorts", "Healthcheck", "StopSignal",
               "User", "WorkingDir", "Volumes", "OnBuild", "Shell")
# What an engine puts into every container (not the image's content).
ENGINE_PATHS = ("dev", "proc", "sys", "etc/hosts", "etc/hostname", "etc/resolv.conf", "etc/mtab",
                ".dockerenv")


def image_facts(env: dict, name: str) -> dict:
    """What two engines must agree on about an image: its config (the fields a Dockerfile
    sets), its history (checksums of ADD/COPY sources aside: Docker's are tarsums), and
    the files of its filesystem (type, mode, owner, size, link target, content)."""
    def docker(*args: str) -> bytes:
        return subprocess.run([DOCKER, *args], capture_output=True, env=env, check=True, timeout=120).stdout
    config = json.loads(docker("image", "inspect", name))[0]["Config"]
    history = docker("history", "--no-trunc", "--format", "{{.CreatedBy}}", name).decode().splitlines()
    cid = docker("create", name, "true").decode().strip()
    try:
        exported = docker("export", cid)
    finally:
        docker("rm", cid)
    files = {}
    with tarfile.open(fileobj=io.BytesIO(exported)) as tar:
        for member in tar:
            path = member.name.removeprefix("./").strip("/")
            if not path or any(path == p or path.startswith(p + "/") for p in ENGINE_PATHS):
                continue
            content = tar.extractfile(member).read() if member.isfile() else b""
            files[path] = (member.type, member.mode & 0o7777, member.uid, member.gid, member.size,
                           member.linkname, hashlib.sha256(content).hexdigest()[:16])
    return {"config": {k: config.get(k) or None for k in CONFIG_KEYS},
            "history": [CHECKSUM.sub(r"\1:<sum>", line) for line in history], "files": files}


def assert_same_images(pyctr_env: dict, docker_env: dict, name: str) -> None:
    ours, theirs = image_facts(pyctr_env, name), image_facts(docker_env, name)
    assert ours["config"] == theirs["config"]
    assert ours["history"] == theirs["history"]
    only_ours = {k: v for k, v in ours["files"].items() if theirs["files"].get(k) != v}
    only_theirs = {k: v for k, v in theirs["files"].items() if ours["files"].get(k) != v}
    assert (name, only_ours) == (name, only_theirs) == (name, {})


# --- the docker CLI ------------------------------------------------------------------------

def test_multi_stage_app_with_the_docker_cli(daemon, tmp_path):
    ctx = write_tree(tmp_path / "ctx", app_files())
    iidfile = str(tmp_path / "iid")
    out = docker_build(daemon.env(), "--build-arg", "VERSION=2.0", "-t", "today/app:2", "-t", "today/app",
                       "--label", "built.by=test", "--iidfile", iidfile, ctx)
    text = out.stdout.decode()
    assert "Step 1/23 : ARG VERSION=1.0" in text and "Step 3/23 : FROM ${BASE} AS tools" in text
    assert "Step 23/23 : LABEL built.by=test" in text      # --label: one more step, as Docker
    assert "made greet 2.0" in text and "a note on stderr" in text   # RUN's stdout and stderr
    assert "Successfully tagged today/app:2\n" in text and "Successfully tagged today/app:latest\n" in text
    details = inspect(daemon, "today/app:2")
    with open(iidfile) as f:
        assert f.read() == "sha256:" + details["Id"].removeprefix("sha256:")   # the aux message
    assert inspect(daemon, "today/app")["Id"] == details["Id"]
    config = details["Config"]
    assert config["Labels"] == {"org.opencontainers.image.version": "2.0", "maintainer": "pyctr tests",
                                "built.by": "test"}
    assert config["Healthcheck"] == {"Test": ["CMD", "/bin/busybox", "true"], "Interval": 30 * 10**9,
                                     "Timeout": 3 * 10**9, "Retries": 2}
    assert config["StopSignal"] == "SIGINT" and config["User"] == "1000"
    assert config["ExposedPorts"] == {"8080/tcp": {}, "53/udp": {}}
    assert "GREETING=hello world" in config["Env"] and "MODE=prod" in config["Env"]
    run = daemon.docker("run", "--rm", "today/app:2")
    assert run.stdout.decode() == "greet 2.0: hello world (prod) from conf\n"
    owners = daemon.docker("run", "--rm", "--entrypoint", "/bin/busybox", "today/app:2", "stat", "-c",
                           "%n %u:%g %a", "/usr/local/bin/greet", "/etc/greet", "/etc/greet/name")
    assert owners.stdout.decode().splitlines() == ["/usr/local/bin/greet 1000:1000 755",
                                                  "/etc/greet 1:50 755", "/etc/greet/name 1:50 644"]
    history = daemon.docker("history", "--no-trunc", "--format", "{{.CreatedBy}}", "today/app:2").stdout.decode()
    # scratch: no base layer; the stage's first step is the oldest entry
    assert history.splitlines()[-1] == "/bin/sh -c #(nop)  ARG VERSION"
    assert history.splitlines()[-3].startswith("/bin/sh -c #(nop) COPY file:")

    quiet = docker_build(daemon.env(), "-q", "--build-arg", "VERSION=2.0", "--label", "built.by=test", ctx)
    assert quiet.stdout.decode() == "sha256:" + details["Id"].removeprefix("sha256:") + "\n"  # -q: only the id

    target = docker_build(daemon.env(), "--target", "tools", "-t", "today/tools", ctx).stdout.decode()
    assert "Step 8/8 : RUN mkdir" in target and "FROM tools AS test" not in target
    assert inspect(daemon, "today/tools")["Config"]["WorkingDir"] == "/src"


def test_the_docker_cli_sees_a_failed_run(daemon, tmp_path):
    ctx = write_tree(tmp_path / "ctx", {"Dockerfile": "FROM busybox\nRUN echo bad >&2; exit 3\n"})
    before = containers(daemon)
    failed = docker_build(daemon.env(), "--force-rm", ctx, check=False)
    assert failed.returncode == 3
    assert "The command '/bin/sh -c echo bad >&2; exit 3' returned a non-zero code: 3" in failed.stderr.decode()
    assert "bad" in failed.stdout.decode()
    assert containers(daemon) == before


def test_dockerfile_from_stdin_and_outside_the_context(daemon, tmp_path):
    ctx = write_tree(tmp_path / "ctx", {"data.txt": "data", "Dockerfile": "FROM busybox\nRUN false\n"})
    dockerfile = "FROM busybox\nCOPY . /ctx/\nCMD [\"ls\", \"-A\", \"/ctx\"]\n"
    result = subprocess.run([DOCKER, "build", "-t", "today/stdin", "-f", "-", ctx], input=dockerfile.encode(),
                            capture_output=True, env=legacy_env(daemon.env()), timeout=120)
    assert result.returncode == 0, result.stderr.decode()
    # the CLI sends the Dockerfile as .dockerfile.<random> and lists it in .dockerignore
    assert daemon.docker("run", "--rm", "today/stdin").stdout.decode().split() == ["Dockerfile", "data.txt"]
    outside = tmp_path / "elsewhere.Dockerfile"
    outside.write_text(dockerfile)
    docker_build(daemon.env(), "-f", str(outside), "-t", "today/outside", ctx)
    assert daemon.docker("run", "--rm", "today/outside").stdout.decode().split() == ["Dockerfile", "data.txt"]


# --- docker-py and docker-compose ---------------------------------------------------------

def test_docker_py_builds(daemon, tmp_path):
    docker = pytest.importorskip("docker")
    ctx = write_tree(tmp_path / "ctx", app_files())
    client = docker.DockerClient(base_url=daemon.host, version="auto")
    try:
        image, logs = client.images.build(path=ctx, tag="today/py:1", buildargs={"VERSION": "3.1"},
                                          target="final", labels={"via": "docker-py"}, rm=True)
        logs = list(logs)
        assert image.id.startswith("sha256:") and "today/py:1" in image.tags
        assert image.labels["via"] == "docker-py" and image.labels["org.opencontainers.image.version"] == "3.1"
        assert [m["aux"]["ID"] for m in logs if "aux" in m][-1] == image.id
        with pytest.raises(docker.errors.BuildError) as failed:
            client.images.build(fileobj=io.BytesIO(b"FROM busybox\nRUN exit 9\n"), forcerm=True)
        assert "returned a non-zero code: 9" in str(failed.value)
    finally:
        client.close()


def test_docker_compose_builds(daemon, tmp_path):
    compose = shutil.which("docker-compose")
    if compose is None:
        pytest.skip("docker-compose (Debian's 1.29) is not installed")
    write_tree(tmp_path / "app", app_files())
    (tmp_path / "docker-compose.yml").write_text(
        "version: '2.4'\nservices:\n  app:\n    image: today/composed:1\n    build:\n"
        "      context: ./app\n      target: final\n      args:\n        VERSION: '4.2'\n"
        "      labels:\n        via: compose\n")
    env = {**daemon.env(), "COMPOSE_DOCKER_CLI_BUILD": "0", "DOCKER_BUILDKIT": "0"}
    result = subprocess.run([compose, "-p", "today", "build"], cwd=tmp_path, capture_output=True,
                            env=env, timeout=300)
    assert result.returncode == 0, result.stdout.decode() + result.stderr.decode()
    labels = inspect(daemon, "today/composed:1")["Config"]["Labels"]
    assert labels["via"] == "compose" and labels["org.opencontainers.image.version"] == "4.2"


# --- ONBUILD chains, ARG scope, SHELL ---------------------------------------------------------

ONBUILD_BASE = """FROM busybox
ONBUILD ARG GREETING=hi
ONBUILD LABEL from.onbuild=yes
ONBUILD ENV BUILT=yes
ONBUILD WORKDIR /app
ONBUILD COPY . /app/
ONBUILD RUN echo "$GREETING" > /app/greeting
ONBUILD EXPOSE 7000
ONBUILD STOPSIGNAL SIGUSR1
ONBUILD HEALTHCHECK CMD true
ONBUILD SHELL ["/bin/sh", "-e", "-c"]
"""


def test_onbuild_chain_of_every_instruction(daemon):
    base = build(daemon, {"Dockerfile": ONBUILD_BASE}, t="today/onbase")
    assert not base.error, base.text + base.error
    assert len(inspect(daemon, "today/onbase")["Config"]["OnBuild"]) == 10
    child = build(daemon, {"Dockerfile": "FROM today/onbase\nCMD [\"cat\", \"greeting\"]\n", "x.txt": "x"},
                  t="today/onchild", buildargs=json.dumps({"GREETING": "bonjour"}))
    assert not child.error, child.text + child.error
    assert "# Executing 10 build triggers" in child.text
    config = inspect(daemon, "today/onchild")["Config"]
    assert config["Labels"] == {"from.onbuild": "yes"} and "BUILT=yes" in config["Env"]
    assert config["WorkingDir"] == "/app" and config["ExposedPorts"] == {"7000/tcp": {}}
    assert config["StopSignal"] == "SIGUSR1" and config["Healthcheck"]["Test"] == ["CMD-SHELL", "true"]
    assert not config["OnBuild"]   # triggers run once, in the child; not inherited further
    assert daemon.docker("run", "--rm", "today/onchild").stdout.decode() == "bonjour\n"
    files = daemon.docker("run", "--rm", "today/onchild", "ls", "/app").stdout.decode().split()
    assert files == ["Dockerfile", "greeting", "x.txt"]


def test_args_scope_defaults_and_predefined(daemon):
    dockerfile = ("ARG TAG=latest\nARG UNUSED_META=1\nFROM busybox:${TAG}\nARG TAG\nARG LOCAL=dflt\n"
                  "ENV FROM_ENV=${LOCAL:-none}\nRUN echo \"tag=$TAG local=$LOCAL env=$FROM_ENV "
                  "proxy=$HTTP_PROXY\" > /args\n"
                  "FROM busybox\nRUN echo \"second=[$TAG][$LOCAL]\" > /second\nCOPY --from=0 /args /args\n")
    result = build(daemon, {"Dockerfile": dockerfile}, t="today/args",
                   buildargs=json.dumps({"LOCAL": "given", "HTTP_PROXY": "http://127.0.0.1:9",
                                         "NOT_DECLARED": "x"}))
    assert not result.error, result.text + result.error
    assert "[Warning] One or more build-args [NOT_DECLARED] were not consumed" in result.text
    out = daemon.docker("run", "--rm", "today/args", "cat", "/args", "/second").stdout.decode()
    assert out == "tag=latest local=given env=given proxy=http://127.0.0.1:9\nsecond=[][]\n"
    config = inspect(daemon, "today/args")["Config"]
    assert not any(e.startswith(("LOCAL=", "TAG=", "HTTP_PROXY=")) for e in config["Env"])  # args don't persist


def test_run_history_names_the_args_it_saw(daemon):
    dockerfile = "FROM busybox\nARG A=1\nARG B\nRUN echo $A$B > /ab\n"
    first = build(daemon, {"Dockerfile": dockerfile}, t="today/ab",
                  buildargs=json.dumps({"B": "2", "HTTPS_PROXY": "http://127.0.0.1:9"}))
    assert not first.error, first.error
    history = daemon.docker("history", "--no-trunc", "--format", "{{.CreatedBy}}", "today/ab").stdout.decode()
    assert history.splitlines()[0] == "|2 A=1 B=2 /bin/sh -c echo $A$B > /ab"
    same = build(daemon, {"Dockerfile": dockerfile}, t="today/ab", buildargs=json.dumps({"B": "2"}))
    assert same.short_id == first.short_id and same.text.count("Using cache") == 3
    other = build(daemon, {"Dockerfile": dockerfile}, t="today/ab", buildargs=json.dumps({"B": "3"}))
    assert other.short_id != first.short_id
    assert other.text.count("Using cache") == 2    # ARG A, ARG B; the RUN saw another B
    assert daemon.docker("run", "--rm", "today/ab", "cat", "/ab").stdout.decode() == "13\n"


# --- .dockerignore -------------------------------------------------------------------------

IGNORE_FILES = {"Dockerfile": "FROM busybox\nCOPY . /ctx/\n",
                ".dockerignore": "*.md\n!README.md\nsecret\n!secret/*.pem\n**/*.tmp\nDockerfile\n.dockerignore\n",
                "README.md": "r", "NOTES.md": "n", "app/main.sh": "m", "app/deep/x.tmp": "t", "y.tmp": "t",
                "secret/key": "k", "secret/cert.pem": "c"}
IGNORE_LEFT = ["README.md", "app", "app/deep", "app/main.sh", "secret", "secret/cert.pem"]


def listing(env, image: str) -> list[str]:
    out = subprocess.run([DOCKER, "run", "--rm", image, "find", "/ctx", "-mindepth", "1"], capture_output=True,
                         env=env, check=True, timeout=60).stdout.decode()
    return sorted(line.removeprefix("/ctx/") for line in out.split())


def test_dockerignore_through_the_api_and_the_cli(daemon, tmp_path):
    via_api = build(daemon, IGNORE_FILES, t="today/ignore-api")   # the daemon applies it
    assert not via_api.error, via_api.error
    assert listing(daemon.env(), "today/ignore-api") == IGNORE_LEFT
    ctx = write_tree(tmp_path / "ctx", IGNORE_FILES)             # the CLI applies it too
    docker_build(daemon.env(), "-t", "today/ignore-cli", ctx)
    assert listing(daemon.env(), "today/ignore-cli") == IGNORE_LEFT


# --- the cache ----------------------------------------------------------------------------

def test_copy_metadata_and_cache_from(daemon):
    files = {"Dockerfile": "FROM busybox\nCOPY run.txt /\nRUN cat /run.txt > /copy\n", "run.txt": "echo"}
    first = build(daemon, files, t="today/cache")
    assert not first.error
    same = build(daemon, files)
    assert same.short_id == first.short_id
    with daemon.client().build(_tar_with_mode(files, "run.txt", 0o755), {}) as resp:
        chmodded = Build(list(json_messages(resp.chunks())))
    assert chmodded.short_id != first.short_id and "Using cache" not in chmodded.text  # the mode counts
    # --cache-from: only the named images (and their parents) are cache sources
    other = build(daemon, {"Dockerfile": "FROM busybox\nENV OTHER=1\n"}, t="today/other")
    unrelated = build(daemon, files, cachefrom=json.dumps(["today/other"]))
    assert "Using cache" not in unrelated.text and unrelated.short_id != first.short_id
    named = build(daemon, files, cachefrom=json.dumps(["today/cache"]))
    assert named.short_id == first.short_id and named.text.count("Using cache") == 2
    assert other.short_id


def _tar_with_mode(files: dict[str, str], name: str, mode: int) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for path, data in files.items():
            info = tarfile.TarInfo(path)
            info.size = len(data)
            info.mode = mode if path == name else 0o644
            tar.addfile(info, io.BytesIO(data.encode()))
    return buf.getvalue()


def test_scratch_is_never_pulled_and_caches(daemon):
    files = {"Dockerfile": "FROM scratch\nCOPY hello /\nENV A=1\n", "hello": "hi"}
    first = build(daemon, files, t="today/scratch")
    assert not first.error, first.text + first.error
    assert "Pulling" not in first.text and " ---> \n" in first.text
    again = build(daemon, files)
    assert again.short_id == first.short_id and again.text.count("Using cache") == 2
    history = daemon.client().json("GET", "/images/today/scratch/history")
    assert len(history) == 2    # no base layer under the COPY
    with pytest.raises(Exception):
        inspect(daemon, "scratch")


# --- build options -------------------------------------------------------------------------

def test_run_options_network_and_resources(daemon):
    dockerfile = ("FROM busybox\nRUN ls /sys/class/net > /nets; "
                  "(cat /sys/fs/cgroup/memory.max || cat /sys/fs/cgroup/memory/memory.limit_in_bytes) "
                  "> /mem 2>/dev/null; cat /proc/self/cgroup > /cg\n")
    dockerfile += "RUN grep Cpus_allowed_list /proc/self/status | cut -f2 > /cpus\n"
    result = build(daemon, {"Dockerfile": dockerfile}, t="today/opts", networkmode="none",
                   memory=str(64 << 20), cpusetcpus="0", cpushares="512", nocache=1)
    assert not result.error, result.text + result.error
    out = daemon.docker("run", "--rm", "today/opts", "cat", "/nets", "/mem", "/cpus").stdout.decode().split()
    assert out == ["lo", str(64 << 20), "0"]


def test_copy_from_an_image(daemon):
    result = build(daemon, {"Dockerfile": "FROM scratch\nCOPY --from=busybox /bin/busybox /bin/cat\n"
                                          "COPY --from=busybox /etc/passwd /etc/\n"}, t="today/fromimage")
    assert not result.error, result.error
    history = daemon.client().json("GET", "/images/today/fromimage/history")
    assert len(history) == 2
    out = daemon.docker("run", "--rm", "today/fromimage", "/bin/cat", "/etc/passwd")
    assert out.stdout.decode().startswith("root:x:0:0:")


@pytest.mark.parametrize("param, value, field_name, probe", [
    ("extrahosts", "build-host:127.0.0.9", "extra_hosts", ("cat /etc/hosts", "127.0.0.9\tbuild-host")),
    ("shmsize", str(32 << 20), "shm_size", ("df -k /dev/shm | tail -1", "32768")),
    ("cpuquota", "50000", "cpu_quota", None),
    ("cgroupparent", "pyctr-build-test", "cgroup_parent", None),
])
def test_options_the_containers_lack_are_refused(daemon, param, value, field_name, probe):
    """An option is honoured or refused with a 400 naming it (HostConfig has it or not)."""
    before_images, before_containers = images(daemon), containers(daemon)
    command = probe[0] if probe else "true"
    files = {"Dockerfile": f"FROM busybox\nRUN {command} > /probe\n"}
    honoured = field_name in {f.name for f in dataclasses.fields(HostConfig)}
    if not honoured:
        from pyctr.engine.client.errors import APIError
        with pytest.raises(APIError) as refused:
            with daemon.client().build(context_tar(files), {param: value}):
                pass
        assert refused.value.status == 400 and param in str(refused.value)
        assert images(daemon) == before_images and containers(daemon) == before_containers
        return
    result = build(daemon, files, t="today/opt", nocache=1, **{param: value})
    assert not result.error, result.error
    if probe:
        assert probe[1] in daemon.docker("run", "--rm", "today/opt", "cat", "/probe").stdout.decode()


@pytest.mark.parametrize("params, message", [
    ({"version": "2"}, "BuildKit"),
    ({"squash": "1"}, "squash"),
    ({"isolation": "hyperv"}, "isolation"),
    ({"buildargs": "[1]"}, "buildargs"),
    ({"labels": "not json"}, "labels"),
    ({"memory": "lots"}, "memory"),
])
def test_bad_options_are_400(daemon, params, message):
    from pyctr.engine.client.errors import APIError
    with pytest.raises(APIError) as refused:
        with daemon.client().build(context_tar({"Dockerfile": "FROM busybox\n"}), params):
            pass
    assert refused.value.status == 400 and message in str(refused.value)


def test_pull_option_pulls_a_present_image_afresh(daemon):
    """`pull=1` is honoured: the test daemon has no registry (--default-registry none), so
    the fresh pull of busybox fails, where a build without it uses the local image."""
    before = images(daemon)
    forced = build(daemon, {"Dockerfile": "FROM busybox\nENV PULLED=1\n"}, pull=1)
    assert "pull: busybox is here, but pulling it afresh" in forced.error
    assert images(daemon) == before
    assert not build(daemon, {"Dockerfile": "FROM busybox\nENV PULLED=1\n"}).error


def test_platform_and_remote_refusals(daemon):
    before = images(daemon)
    wrong = build(daemon, {"Dockerfile": "FROM busybox\n"}, platform="linux/arm64")
    assert "linux/arm64 is not supported" in wrong.error
    wrong_from = build(daemon, {"Dockerfile": "FROM --platform=linux/s390x busybox\n"})
    assert "FROM --platform=linux/s390x" in wrong_from.error
    right = build(daemon, {"Dockerfile": "FROM --platform=linux/amd64 busybox\nENV P=1\n"}, platform="linux/amd64")
    assert not right.error
    with daemon.client().build(None, {"remote": "https://example.invalid/repo.git"},
                               headers={"Content-Type": "text/plain"}) as resp:
        git = Build(list(json_messages(resp.chunks())))
    assert "git build contexts are not supported" in git.error
    assert images(daemon) - before == {inspect(daemon, right.short_id)["Id"]}


# --- bad input: clear errors, nothing left --------------------------------------------------

@pytest.mark.parametrize("files, params, message", [
    ({"Dockerfile": "FROM ${BASE}\n"}, {}, "base name (${BASE}) should not be blank"),
    ({"Dockerfile": "FROM busybox AS a\nRUN true\n"}, {"target": "nosuch"},
     "failed to reach build target nosuch in Dockerfile"),
    ({"Dockerfile": "FROM busybox AS a\nFROM busybox\nCOPY --from=nosuch /x /x\n"}, {},
     "COPY --from=nosuch: no build stage of that name"),
    ({"Dockerfile": "FROM busybox AS a\nFROM busybox\nCOPY --from=a /not/there /x\n"}, {},
     "COPY failed: stat /not/there: file does not exist"),
    ({"Dockerfile": "FROM busybox AS a\nCOPY --from=b /x /x\nFROM busybox AS b\nCOPY --from=a /x /x\n"}, {},
     "COPY --from=b: that stage is the current one or comes later"),
    ({"Dockerfile": "FROM busybox AS self\nCOPY --from=self /bin/sh /x\n"}, {},
     "COPY --from=self: that stage is the current one or comes later"),
    ({"Dockerfile": "FROM busybox\nRUN true\nLABEL a=b\n\nCOPY\n"}, {},
     "dockerfile parse error line 5: COPY requires at least two arguments"),
    ({"Dockerfile": "FROM busybox\nENV A=\"unterminated\nRUN true\n"}, {},
     "dockerfile parse error line 2: unexpected end of statement while looking for matching double-quote"),
    ({"Dockerfile": "FROM busybox\nCOPY --chown=nosuchuser f /f\n", "f": "x"}, {},
     "can't find uid for nosuchuser"),
])
def test_bad_dockerfiles_leave_nothing(daemon, files, params, message):
    before_images, before_containers = images(daemon), containers(daemon)
    result = build(daemon, files, **params)
    assert message in result.error, result.text + result.error
    assert images(daemon) == before_images
    assert containers(daemon) == before_containers


def test_context_symlink_out_of_it_leaves_nothing(daemon):
    before_images, before_containers = images(daemon), containers(daemon)
    result = build(daemon, {"Dockerfile": "FROM busybox\nRUN true\nCOPY link/passwd /x\n"},
                   symlinks={"link": "/etc"})
    assert "Forbidden path outside the build context: link/passwd" in result.error
    # the RUN before it made an image (a valid step, a cache entry for next time, as Docker
    # keeps it); the COPY made nothing: no container, no image on top of the RUN's
    made = images(daemon) - before_images
    assert len(made) <= 1 and containers(daemon) == before_containers
    for image_id in made:
        assert not daemon.client().json("GET", "/images/json", {"all": 1, "filters": json.dumps(
            {"since": [image_id]})})


# --- the same images as Docker's legacy builder ------------------------------------------------

def test_same_images_as_dockerd(daemon, dockerd, tmp_path):
    ctx = write_tree(tmp_path / "app", app_files())
    ignore_ctx = write_tree(tmp_path / "ignore", IGNORE_FILES)
    onbase = write_tree(tmp_path / "onbase", {"Dockerfile": ONBUILD_BASE})
    onchild = write_tree(tmp_path / "onchild", {"Dockerfile": "FROM cmp/onbase\nCMD [\"cat\", \"greeting\"]\n",
                                                "x.txt": "x"})
    builds = [("cmp/app", ["--build-arg", "VERSION=5", ctx]),
              ("cmp/tools", ["--target", "tools", ctx]),
              ("cmp/ignore", [ignore_ctx]),
              ("cmp/onbase", [onbase]),
              ("cmp/onchild", ["--build-arg", "GREETING=hallo", onchild])]
    for name, args in builds:
        for env in (daemon.env(), dockerd.env()):
            docker_build(env, "--network=none", "-t", name, *args)
    for name, _ in builds:
        assert_same_images(daemon.env(), dockerd.env(), name)
