"""testcontainers-python (PyPI `testcontainers`, on docker-py 7) against a real pyctrd:
it finds its container by `filters={"id": ...}`, reads the host port through the
container's inspect, waits on its logs, and removes it."""

from __future__ import annotations

import os

import pytest

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")


def test_a_container_with_a_published_port(daemon, monkeypatch):
    core = pytest.importorskip("testcontainers.core.container")
    waiting = pytest.importorskip("testcontainers.core.waiting_utils")
    config = pytest.importorskip("testcontainers.core.config")
    monkeypatch.setenv("DOCKER_HOST", daemon.host)
    monkeypatch.setenv("TESTCONTAINERS_RYUK_DISABLED", "true")   # no reaper image here
    container = (core.DockerContainer("busybox")
                 .with_command(["sh", "-c", "echo ready; exec sleep 1000"])
                 .with_exposed_ports(8080))
    with container:
        waiting.wait_for_logs(container, "ready", timeout=30)
        wrapped = container.get_wrapped_container()
        wrapped.reload()
        settings = wrapped.attrs["NetworkSettings"]
        # each connection mode looks the container up by {"id": ...} (once "invalid filter: id")
        # and reads its network from the listing
        for mode, expected in (("gateway_ip", settings["Gateway"]), ("bridge_ip", settings["IPAddress"]),
                               ("docker_host", "localhost")):
            monkeypatch.setattr(config.testcontainers_config, "connection_mode_override",
                                config.ConnectionMode(mode))
            assert container.get_container_host_ip() == expected, (mode, container.get_docker_client().get_container(wrapped.id)["NetworkSettings"])
        port = int(container.get_exposed_port(8080))
        assert 0 < port < 65536
        assert wrapped.image.tags == ["busybox:latest"]
        client = container.get_docker_client()
        assert [c.id for c in client.client.containers.list(filters={"id": wrapped.id})] == [wrapped.id]
        cid = wrapped.id
    assert cid not in {c["Id"] for c in daemon.client().json("GET", "/containers/json", {"all": 1})}
