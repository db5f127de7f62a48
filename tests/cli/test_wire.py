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
        ("POST", "/images/localhost:5000/me/app/push")
    assert endpoints.IMAGE_INSPECT.at("a b") == ("GET", "/images/a%20b/json")
    assert endpoints.PING.at() == ("GET", "/_ping")
    sync, asynchronous = api.Client("unix:///nowhere.sock"), aio.AsyncClient("unix:///nowhere.sock")
    params = {"all": True, "limit": None, "t": 3}
    assert sync.url("/containers/json", params) == asynchronous.url("/containers/json", params) == \
        "/v1.14/containers/json?all=1&t=3"
