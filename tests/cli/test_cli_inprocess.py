"""`main()` end to end in-process against the fake daemon: request sequences,
output and exit codes."""

import json
import threading

from .fakedaemon import Hijack, Reply, frame

CID = "f78375b1c487e03c9438c729345e54db9d20cfa2ac1fc3494b6eb60872e74778"


def run_routes(daemon, exit_code=0, output=((1, b"hi\n"),)):
    started = threading.Event()

    def serve(rfile, wfile):
        assert started.wait(5), "start never came"
        for stream, data in output:
            wfile.write(frame(stream, data))
        wfile.flush()

    def start(req, m):
        started.set()
        return Reply(204, body=b"")

    daemon.route("POST", "/containers/create", Reply(201, {"Id": CID, "Warnings": []}))
    daemon.route("POST", f"/containers/{CID}/attach", Hijack(serve))
    daemon.route("POST", f"/containers/{CID}/start", start)
    daemon.route("POST", f"/containers/{CID}/wait", {"StatusCode": exit_code})
    daemon.route("DELETE", f"/containers/{CID}", Reply(204, body=b""))


def test_run_attaches_starts_waits_and_exits_with_the_code(daemon, pyctr):
    run_routes(daemon, exit_code=3, output=[(1, b"hi\n"), (2, b"warn\n")])
    result = pyctr("run", "--name", "x", "-e", "A=1", "busybox", "sh", "-c", "echo hi; exit 3")
    assert (result.status, result.out, result.err) == (3, "hi\n", "warn\n")
    assert daemon.calls() == [("POST", "/containers/create"), ("POST", f"/containers/{CID}/attach"),
                              ("POST", f"/containers/{CID}/start"), ("POST", f"/containers/{CID}/wait")]
    create = daemon.requests[0]
    assert create.query == {"name": "x"}
    assert create.json()["Cmd"] == ["sh", "-c", "echo hi; exit 3"]
    assert create.json()["HostConfig"]["NetworkMode"] == "bridge"
    assert daemon.requests[1].query == {"stream": "1", "stdout": "1", "stderr": "1"}
    assert daemon.requests[2].body == b""  # HostConfig went with create


def test_run_rm_removes_with_volumes(daemon, pyctr):
    run_routes(daemon)
    result = pyctr("run", "--rm", "busybox", "echo", "hi")
    assert result.status == 0 and result.out == "hi\n"
    assert daemon.calls()[-2:] == [("POST", f"/containers/{CID}/wait"), ("DELETE", f"/containers/{CID}")]
    assert daemon.requests[-1].query == {"v": "1"}


def test_run_detached_prints_id(daemon, pyctr):
    run_routes(daemon)
    result = pyctr("run", "-d", "busybox", "sleep", "9")
    assert (result.status, result.out) == (0, CID + "\n")
    assert daemon.calls() == [("POST", "/containers/create"), ("POST", f"/containers/{CID}/start")]


def test_run_with_stdin(daemon, pyctr):
    got = {}
    started = threading.Event()

    def serve(rfile, wfile):
        got["stdin"] = rfile.read()  # until the client half-closes
        started.wait(5)
        wfile.write(frame(1, got["stdin"].upper()))

    daemon.route("POST", "/containers/create", Reply(201, {"Id": CID}))
    daemon.route("POST", f"/containers/{CID}/attach", Hijack(serve))
    daemon.route("POST", f"/containers/{CID}/start", lambda r, m: (started.set(), Reply(204))[1])
    daemon.route("POST", f"/containers/{CID}/wait", {"StatusCode": 0})
    result = pyctr("run", "-i", "busybox", "cat", stdin=b"piped text\n")
    assert (result.status, result.out, got["stdin"]) == (0, "PIPED TEXT\n", b"piped text\n")
    assert daemon.requests[1].query["stdin"] == "1"
    assert daemon.requests[0].json()["StdinOnce"] is True


def test_run_unknown_image(daemon, pyctr):
    """As docker: a missing image is pulled (progress on stderr); a pull that fails ends it."""
    daemon.route("POST", "/containers/create", Reply(404, {"message": "No such image: nosuch"}))
    daemon.route("POST", "/images/create",
                 Reply(404, {"message": "manifest for nosuch:latest not found: manifest unknown"}))
    result = pyctr("run", "nosuch")
    assert result.status == 1
    assert result.err == ("Unable to find image 'nosuch' locally\n"
                          "Error response from daemon: manifest for nosuch:latest not found: "
                          "manifest unknown\n")
    assert daemon.requests[1].query == {"fromImage": "nosuch", "tag": "latest"}


def test_run_pulls_a_missing_image_then_creates(daemon, pyctr):
    calls = []

    def create(request, match):
        calls.append("create")
        if len(calls) == 1:
            return Reply(404, {"message": "No such image: me/app:1"})
        return Reply(201, {"Id": CID})

    daemon.route("POST", "/containers/create", create)
    messages = [{"status": "Pulling from me/app", "id": "1"},
                {"status": "Status: Downloaded newer image for me/app:1"}]
    daemon.route("POST", "/images/create",
                 Reply(200, chunks=[json.dumps(m).encode() + b"\r\n" for m in messages]))
    result = pyctr("create", "me/app:1")
    assert (result.status, result.out) == (0, CID + "\n")
    assert "Status: Downloaded newer image for me/app:1" in result.err
    assert calls == ["create", "create"]


def test_rm_continues_on_error(daemon, pyctr):
    daemon.route("DELETE", "/containers/a", Reply(204))
    daemon.route("DELETE", "/containers/b", Reply(404, {"message": "No such container: b"}))
    daemon.route("DELETE", "/containers/c", Reply(204))
    result = pyctr("rm", "-f", "a", "b", "c")
    assert (result.status, result.out) == (1, "a\nc\n")
    assert result.err == "Error response from daemon: No such container: b\n"
    assert daemon.requests[0].query == {"force": "1"}


def test_images_and_rmi(daemon, pyctr):
    daemon.route("GET", "/images/json", [{"Id": "8dbd9e392a964056", "RepoTags": ["busybox:latest"],
                                          "Created": 0, "VirtualSize": 2489000}])
    daemon.route("DELETE", "/images/busybox", [{"Untagged": "8dbd9e392a96"}, {"Deleted": "8dbd9e392a96"}])
    result = pyctr("images", "-q")
    assert result.out == "8dbd9e392a96\n"
    result = pyctr("images", "-f", "dangling=true")
    assert json.loads(daemon.requests[-1].query["filters"]) == {"dangling": ["true"]}
    assert pyctr("rmi", "busybox").out == "Untagged: 8dbd9e392a96\nDeleted: 8dbd9e392a96\n"


def test_inspect_format_and_fallback_to_image(daemon, pyctr):
    daemon.route("GET", "/containers/web/json", {"State": {"ExitCode": 0}, "Name": "/web"})
    daemon.route("GET", "/containers/busybox/json", Reply(404, {"message": "No such container"}))
    daemon.route("GET", "/images/busybox/json", {"Id": "8dbd", "Size": 10})
    daemon.route("GET", "/containers/nope/json", Reply(404, {"message": "No such container"}))
    daemon.route("GET", "/images/nope/json", Reply(404, {"message": "No such image"}))
    result = pyctr("inspect", "-f", "{{.Name}} {{.State.ExitCode}}", "web")
    assert (result.status, result.out) == (0, "/web 0\n")
    result = pyctr("inspect", "busybox", "nope")
    assert result.status == 1
    assert json.loads(result.out) == [{"Id": "8dbd", "Size": 10}]
    assert result.err == "Error: No such image or container: nope\n"
    result = pyctr("inspect", "-f", "{{.Nope}}", "web")
    assert result.status == 1 and 'map has no entry for key "Nope"' in result.err
    assert pyctr("inspect", "-f", "{{.Name", "web").status == 64


def test_port_and_wait(daemon, pyctr):
    daemon.route("GET", "/containers/c/json", {"NetworkSettings": {"Ports": {
        "8080/tcp": [{"HostIp": "127.0.0.1", "HostPort": "18080"}]}}})
    daemon.route("POST", "/containers/c/wait", {"StatusCode": 7})
    assert pyctr("port", "c", "8080").out == "127.0.0.1:18080\n"
    assert pyctr("port", "c", "8080/tcp").out == "127.0.0.1:18080\n"
    missing = pyctr("port", "c", "9/udp")
    assert missing.status == 1 and missing.err == "Error: No public port '9/udp' published for c\n"
    assert pyctr("wait", "c").out == "7\n"


def test_import_from_stdin_streams_progress(daemon, pyctr):
    daemon.route("POST", "/images/create", Reply(chunks=[b'{"status":"8dbd9e392a96"}\n']))
    result = pyctr("import", "-", "busybox:v1", stdin=b"tarball bytes")
    assert (result.status, result.out) == (0, "8dbd9e392a96\n")
    req = daemon.requests[-1]
    assert req.query == {"fromSrc": "-", "repo": "busybox", "tag": "v1"}
    assert req.body == b"tarball bytes"


def test_pull_error_message_fails(daemon, pyctr):
    daemon.route("POST", "/images/create", Reply(chunks=[
        b'{"status":"Pulling repository nosuch"}\n',
        b'{"error":"Error: image nosuch not found","errorDetail":{"message":"Error: image nosuch not found"}}\n']))
    result = pyctr("pull", "nosuch")
    assert result.status == 1
    assert result.out == "Pulling repository nosuch\n"
    assert result.err == "Error: image nosuch not found\n"


def test_logs_demuxes(daemon, pyctr):
    daemon.route("GET", "/containers/c/json", {"Config": {"Tty": False}})
    daemon.route("GET", "/containers/c/logs", Reply(body=frame(1, b"out\n") + frame(2, b"err\n"),
                                                    content_type="application/vnd.docker.raw-stream"))
    result = pyctr("logs", "--tail", "5", "-t", "c")
    assert (result.out, result.err) == ("out\n", "err\n")
    assert daemon.requests[-1].query == {"stdout": "1", "stderr": "1", "timestamps": "1", "tail": "5"}


def test_usage_errors_and_daemon_down(pyctr):
    result = pyctr("rm")
    assert result.status == 2 and '"pyctr rm" requires at least 1 argument.' in result.err
    assert pyctr("frobnicate").status == 2
    assert pyctr("ps", "--bogus").err.startswith("flag provided but not defined: --bogus")
    down = pyctr("ps", environ={"PYCTR_HOST": "unix:///nonexistent/pyctr.sock"})
    assert down.status == 1
    assert down.err == ("Cannot connect to the pyctr daemon at unix:///nonexistent/pyctr.sock. "
                        "Is pyctrd running?\n")


def test_version_and_global_flags(daemon, pyctr):
    from pyctr.shell.cli import main
    import io
    out = io.StringIO()
    assert main(["--version"], stdout=out) == 0 and out.getvalue() == "pyctr version 0.1.0\n"
    daemon.route("GET", "/version", {"Version": "0.1.0", "ApiVersion": "1.14", "GoVersion": "python3.11",
                                     "GitCommit": "abc"})
    out, err = io.StringIO(), io.StringIO()
    assert main(["-H", daemon.url, "version"], stdout=out, stderr=err, environ={}) == 0
    assert "Client API version: 1.14\n" in out.getvalue()
    assert out.getvalue().endswith("Server version: 0.1.0\nServer API version: 1.14\n"
                                   "Go version (server): python3.11\nGit commit (server): abc\n")
