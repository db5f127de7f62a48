"""The table of what pyctr applies (engine/api/applied.py) against the Engine API v1.41
spec: every field of ContainerConfig, HostConfig and EndpointSettings has its line, a
field marked applied is one the decoder keeps, and every field marked not applied is
refused with a 400 naming it (a new field of the spec fails here until it is decided)."""

from __future__ import annotations

import dataclasses
import os

import pytest
import yaml

from pyctr.engine.api import applied
from pyctr.engine.api.codec import api_key
from pyctr.engine.api.config import ContainerConfig, HostConfig
from pyctr.engine.errors import BadRequest

SPEC = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "reference",
                    "docker-engine-api-v1.41.yaml")
if not os.path.exists(SPEC):
    SPEC = "/work/shared/reference/docker-engine-api-v1.41.yaml"

# Fields the decoder may drop because they mean nothing on Linux (as in Docker).
INERT = {"ArgsEscaped"}
# Config fields of the API before 1.19 (not in the v1.41 spec), which pyctr keeps.
LEGACY_CONFIG = {"Memory", "MemorySwap", "CpuShares", "Cpuset", "PortSpecs"}


@pytest.fixture(scope="module")
def spec() -> dict:
    with open(SPEC) as f:
        return yaml.safe_load(f)["definitions"]


def properties(definitions: dict, name: str) -> dict:
    schema = definitions[name]
    out: dict = {}
    for part in schema.get("allOf", [schema]):
        if "$ref" in part:
            out.update(properties(definitions, part["$ref"].rsplit("/", 1)[1]))
        else:
            out.update(part.get("properties", {}))
    return out


def api_names(cls) -> set[str]:
    return {api_key(f) for f in dataclasses.fields(cls)}


@pytest.mark.parametrize("definition, table, extra", [
    ("ContainerConfig", applied.CONTAINER_CONFIG, LEGACY_CONFIG),
    ("HostConfig", applied.HOST_CONFIG, set()),
    ("EndpointSettings", applied.ENDPOINT_SETTINGS, set()),
])
def test_every_field_of_the_spec_has_a_line(spec, definition, table, extra):
    fields = set(properties(spec, definition))
    assert fields - set(table) == set(), f"{definition}: decide whether pyctr applies these"
    assert set(table) - fields - extra == set(), f"{definition}: lines for fields the spec lacks"


@pytest.mark.parametrize("cls, table", [(ContainerConfig, applied.CONTAINER_CONFIG),
                                        (HostConfig, applied.HOST_CONFIG)])
def test_a_field_marked_applied_is_decoded(cls, table):
    kept = api_names(cls)
    dropped = {k for k, rule in table.items() if isinstance(rule, applied.Applied)} - kept - INERT
    assert dropped == set(), f"marked applied but the decoder drops them: {dropped}"


def sample(schema: dict):
    """A non-empty value of a field's type."""
    kind = schema.get("type")
    if kind == "boolean":
        return True
    if kind == "integer" or kind == "number":
        return 7
    if kind == "array":
        return [sample(schema.get("items", {"type": "string"}))]
    if kind == "object" or "$ref" in schema or "properties" in schema:
        return {"X": "y"}
    return "something"


def test_every_field_not_applied_is_a_400_naming_it(spec):
    tables = (("ContainerConfig", applied.CONTAINER_CONFIG, "Config", lambda k, v: {k: v}),
              ("HostConfig", applied.HOST_CONFIG, "HostConfig", lambda k, v: {"HostConfig": {k: v}}),
              ("EndpointSettings", applied.ENDPOINT_SETTINGS, "NetworkingConfig.EndpointsConfig.net",
               lambda k, v: {"NetworkingConfig": {"EndpointsConfig": {"net": {k: v}}}}))
    checked = 0
    for definition, table, where, body in tables:
        props = properties(spec, definition)
        for key, rule in table.items():
            if not isinstance(rule, applied.NotApplied):
                continue
            value = sample(props.get(key, {"type": "string"}))
            with pytest.raises(BadRequest) as e:
                applied.check_create(body(key, value))
            assert f"{where}.{key} is not supported by pyctr" in str(e.value)
            checked += 1
    assert checked > 20


def test_empty_values_pass_and_unknown_filled_fields_are_refused():
    # what docker CLI 28 sends for `docker run busybox true` (captured), trimmed
    applied.check_create({
        "Hostname": "", "Env": None, "Cmd": ["true"], "Image": "busybox", "Volumes": {}, "Labels": {},
        "HostConfig": {"Binds": None, "LogConfig": {"Type": "", "Config": {}}, "NetworkMode": "default",
                       "RestartPolicy": {"Name": "no", "MaximumRetryCount": 0}, "ConsoleSize": [0, 0],
                       "CgroupnsMode": "", "Isolation": "", "MemorySwappiness": -1, "Ulimits": [],
                       "DeviceRequests": None, "MaskedPaths": None, "KernelMemory": 0},
        "NetworkingConfig": {"EndpointsConfig": {"default": {
            "IPAMConfig": None, "Links": None, "Aliases": None, "MacAddress": "", "DriverOpts": None,
            "GwPriority": 0, "DNSNames": None}}}})
    applied.check_create({"Image": "x", "HostConfig": {"Isolation": "default", "CgroupnsMode": "host",
                                                        "UsernsMode": "host"}})
    with pytest.raises(BadRequest, match="HostConfig.Annotations is not supported by pyctr: it is not "
                                         "a field of Engine API v1.41"):
        applied.check_create({"Image": "x", "HostConfig": {"Annotations": {"a": "b"}}})
    with pytest.raises(BadRequest, match="GwPriority"):
        applied.check_create({"Image": "x", "NetworkingConfig": {"EndpointsConfig": {"n": {"GwPriority": 5}}}})


def test_update_takes_resources_and_restart_policy_only():
    applied.check_update({"Memory": 1 << 26, "RestartPolicy": {"Name": "always"}, "CpusetCpus": "0"})
    with pytest.raises(BadRequest, match="Binds cannot be changed by an update"):
        applied.check_update({"Binds": ["/a:/b"]})
