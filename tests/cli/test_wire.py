"""The shared wire model: the codec's per-version encoding, the typed stream
messages and their one encoder each, and the clients' endpoint table."""

import base64
import json

import pytest

from pyctr.engine.api.codec import from_api, to_api
from pyctr.engine.api.config import ContainerConfig, HostConfig
from pyctr.engine.api.messages import Event, PathStat, ProgressMessage, encode_event, progress_line
from pyctr.engine.client import aio, api, endpoints


def test_a_version_leaves_out_newer_fields_only_while_they_are_unset():
    assert "Labels" not in to_api(ContainerConfig(image="busybox"), version="1.14")
    assert "StopSignal" not in to_api(ContainerConfig(), version="1.20")
    assert to_api(ContainerConfig(stop_signal="SIGUSR1"), version="1.14")["StopSignal"] == "SIGUSR1"
    assert to_api(ContainerConfig(), version="1.21")["StopSignal"] == ""
    host = to_api(HostConfig(), version="1.14")
    assert not {"LogConfig", "Memory", "PidsLimit", "ReadonlyRootfs"} & host.keys()
    assert to_api(HostConfig(pids_limit=5), version="1.14")["PidsLimit"] == 5
    # without a version (the server, the disk) every field is there, as before
    assert {"Labels", "StopSignal"} <= to_api(ContainerConfig()).keys()
    assert {"LogConfig", "PidsLimit"} <= to_api(HostConfig()).keys()


def test_docker_1_2_host_config_order():
    keys = list(to_api(HostConfig(), version="1.14"))
    assert keys == ["Binds", "ContainerIDFile", "LxcConf", "Privileged", "PortBindings", "Links",
                    "PublishAllPorts", "Dns", "DnsSearch", "VolumesFrom", "Devices", "NetworkMode",
                    "CapAdd", "CapDrop", "RestartPolicy"]


def test_progress_messages_leave_out_what_is_unset():
    assert ProgressMessage(stream="Step 0 : FROM busybox\n").encode() == \
        b'{"stream": "Step 0 : FROM busybox\\n"}\r\n'
    assert json.loads(ProgressMessage(status="Pushed", progress_detail={}, id="abc").encode()) == \
        {"status": "Pushed", "progressDetail": {}, "id": "abc"}
    assert json.loads(progress_line(error="boom", errorDetail={"message": "boom"})) == \
        {"error": "boom", "errorDetail": {"message": "boom"}}
    with pytest.raises(TypeError):
        progress_line(stauts="typo")


def test_event_and_path_stat_encode_once_and_decode_back():
    event = Event("start", "c0ffee", "busybox", 1, time_nano=1_000_000_000)
    line = encode_event(event)
    assert line.endswith(b"\n") and b" " not in line
    assert from_api(Event, json.loads(line)) == event
    stat = PathStat("hosts", 12, 0o644, "2024-01-01T00:00:00Z", "")
    assert json.loads(base64.b64decode(stat.header())) == \
        {"name": "hosts", "size": 12, "mode": 0o644, "mtime": "2024-01-01T00:00:00Z", "linkTarget": ""}


def test_one_endpoint_table_for_both_clients():
    assert endpoints.CONTAINER_START.at("web") == ("POST", "/containers/web/start")
    assert endpoints.IMAGE_PUSH.at("localhost:5000/me/app") == \
        ("POST", "/images/localhost%3A5000%2Fme%2Fapp/push")
    assert endpoints.IMAGE_INSPECT.at("a b") == ("GET", "/images/a%20b/json")
    # a name is one path segment, whatever it holds: never another URL
    assert endpoints.CONTAINER_CHANGES.at("/dev/null") == ("GET", "/containers/%2Fdev%2Fnull/changes")
    assert endpoints.CONTAINER_CHANGES.at("../x") == ("GET", "/containers/..%2Fx/changes")
    assert endpoints.CONTAINER_INSPECT.at("a?b#c%") == ("GET", "/containers/a%3Fb%23c%25/json")
    assert endpoints.PING.at() == ("GET", "/_ping")
    sync, asynchronous = api.Client("unix:///nowhere.sock"), aio.AsyncClient("unix:///nowhere.sock")
    params = {"all": True, "limit": None, "t": 3}
    assert sync.url("/containers/json", params) == asynchronous.url("/containers/json", params) == \
        "/v1.14/containers/json?all=1&t=3"


def test_lenient_decoding_reads_any_daemons_answer():
    from pyctr.engine.api.records import ContainerSummary, PortSummary, SystemInfo
    data = {"Id": "abc", "Image": None, "Created": "soon", "Ports": [{"PrivatePort": 80}, None],
            "Names": ["/web", 7], "Labels": None, "SomethingNewer": {"x": 1}}
    summary = from_api(ContainerSummary, data, lenient=True)
    assert summary.id == "abc" and summary.image == "" and summary.command == ""
    assert summary.created == 0                      # the wrong type reads as empty
    assert summary.ports == [PortSummary(80, type="", ip="", public_port=None),
                             PortSummary(0, type="", ip="", public_port=None)]
    assert summary.names == ["/web", ""] and summary.labels == {} and summary.size_rw is None
    # a field the daemon left out is empty, not this daemon's default (MemoryLimit=True)
    assert from_api(SystemInfo, {}, lenient=True).memory_limit is False
    assert from_api(SystemInfo, None, lenient=True).operating_system == ""
    # the server's decoding stays strict: a wrong type is a 400 naming the field
    with pytest.raises(ValueError, match="Created"):
        from_api(ContainerSummary, {"Created": "soon"})


def test_what_the_server_encodes_the_client_reads_back():
    from pyctr.engine.api.records import (ContainerSummary, HistoryEntry, ImageDeleted,
                                          PortSummary, SystemInfo, VersionInfo)
    from pyctr.engine.client import models
    records = [
        ContainerSummary("c1", "busybox", "sh", 5, "Up", [PortSummary(80, "tcp", "0.0.0.0", 8080)],
                         ["/a"], size_rw=3, labels={"k": "v"}, state="running"),
        VersionInfo("1.2.0", "1.24", min_api_version="1.12", kernel_version="6.1"),
        SystemInfo(id="X", containers=2, driver_status=[["a", "b"]], init_sha1="f00"),
        HistoryEntry("i1", 7, "sh -c true", None, 12),
        ImageDeleted(untagged="busybox:latest"),
    ]
    for record in records:
        assert models.read(type(record), json.loads(json.dumps(to_api(record)))) == record


def test_client_reads_fields_as_docker_1_2_cli_did():
    from pyctr.engine.client import models
    images = models.image_summaries([{"Id": "a", "RepoTags": None}, {"Id": "b", "RepoTags": ["x:1"]}])
    assert [i.repo_tags for i in images] == [["<none>:<none>"], ["x:1"]]
    assert models.system_info({"IndexServerAddress": ["https://index/v1/"]}).index_server_address == \
        "https://index/v1/"
    found = models.search_results([{"name": "old", "is_trusted": True}, {"name": "new"}, "junk"])
    assert [(r.name, r.is_automated) for r in found] == [("old", True), ("new", False)]


def test_shapes_encode_is_the_one_place_records_become_json():
    from pyctr.engine.api.records import ContainerSummary, ImageSummary, VersionInfo
    from pyctr.engine.api.versions import APIVersion
    from pyctr.engine.server.shapes import Shapes
    summary = ContainerSummary("c1", "busybox", "sh", 5, "Up", labels={"k": "v"}, state="running")
    old, new = Shapes(APIVersion("1.14")), Shapes(APIVersion("1.24"))
    assert not {"Labels", "State", "ImageID"} & old.encode([summary])[0].keys()
    assert new.encode([summary])[0]["Labels"] == {"k": "v"} and new.encode(summary)["State"] == "running"
    image = ImageSummary(["b:1"], "i1", "", 1, 2, 3, ["b@sha256:00"])
    assert "RepoDigests" not in old.encode(image) and new.encode(image)["RepoDigests"] == ["b@sha256:00"]
    assert "MinAPIVersion" not in old.encode(VersionInfo("1", "1.14", "1.12"))
    assert new.encode({"Id": "x", "Warnings": []}) == {"Id": "x", "Warnings": []}   # JSON already
