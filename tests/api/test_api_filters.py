"""engine/api/filters.py: both wire forms, dockerd's refusals, and the matching rules."""

from __future__ import annotations

import datetime
import json

import pytest

from pyctr.engine.api import filters as F
from pyctr.engine.api.filters import FilterError, Filters, PortFilter
from pyctr.engine.errors import BadRequest


def test_list_and_map_forms_parse_the_same():
    listed = Filters.parse('{"label": ["a=b", "c"], "status": ["exited"]}')
    mapped = Filters.parse('{"label": {"a=b": true, "c": true}, "status": {"exited": true}}')
    assert listed == mapped
    assert listed.get("label") == ("a=b", "c") and listed.get("status") == ("exited",)


def test_empty_and_null_filter_nothing():
    for text in ("", "  ", None, "null", "{}"):
        assert not Filters.parse(text)
    assert Filters.parse('{"label": null}').get("label") == ()
    assert "label" in Filters.parse('{"label": null}')


def test_map_form_keys_count_whatever_their_boolean():
    # dockerd reads the keys; the booleans are always true in what clients send
    assert Filters.parse('{"label": {"a": false}}').get("label") == ("a",)


def test_repeated_list_values_are_one():
    assert Filters.parse('{"name": ["x", "x", "y"]}').get("name") == ("x", "y")


@pytest.mark.parametrize("text, message", [
    ('{"label": "a"}', "json: cannot unmarshal string into Go value of type map[string]bool"),
    ('[1]', "json: cannot unmarshal array into Go value of type map[string]map[string]bool"),
    ('"x"', "json: cannot unmarshal string into Go value of type map[string]map[string]bool"),
    # both forms in one request: neither decoder takes it, as in dockerd
    ('{"label": ["a"], "name": {"x": true}}', "json: cannot unmarshal array into Go value of type map[string]bool"),
    ('{"label": {"a": "yes"}}', "json: cannot unmarshal string into Go value of type bool"),
    ('{"label": [1]}', "json: cannot unmarshal array into Go value of type map[string]bool"),
])
def test_neither_form_is_a_400_in_dockerds_words(text, message):
    with pytest.raises(FilterError) as caught:
        Filters.parse(text)
    assert caught.value.message == message
    assert isinstance(caught.value, BadRequest) and caught.value.status == 400


def test_not_json_is_a_400():
    with pytest.raises(FilterError, match="invalid filters: not JSON"):
        Filters.parse("notjson")


def test_validate_names_the_unknown_filter():
    Filters.parse('{"label": ["a"]}').validate(F.CONTAINER_LIST)
    with pytest.raises(FilterError) as caught:
        Filters.parse('{"bogus": ["x"]}').validate(F.CONTAINER_LIST)
    assert caught.value.message == "Invalid filter 'bogus'"
    with pytest.raises(FilterError, match="Invalid filter 'dangling'"):
        Filters.of(dangling="true").validate(F.CONTAINER_LIST)


@pytest.mark.parametrize("values, expected", [
    (["true"], True), (["1"], True), (["false"], False), (["0"], False), (["true", "1"], True),
])
def test_boolean_filters(values, expected):
    assert Filters.of(dangling=values).boolean("dangling") is expected
    assert Filters().boolean("dangling") is None


@pytest.mark.parametrize("values, message", [
    (["maybe"], "Invalid filter 'dangling=[maybe]'"),
    (["true", "false"], "Invalid filter 'dangling=[true false]'"),
    ([], "Invalid filter 'dangling=[]'"),
])
def test_bad_boolean_values(values, message):
    with pytest.raises(FilterError) as caught:
        Filters.of(dangling=values).boolean("dangling")
    assert caught.value.message == message


def test_one_of_and_integers():
    assert Filters.of(status=["exited", "paused"]).one_of("status", F.CONTAINER_STATES) == ("exited", "paused")
    with pytest.raises(FilterError) as caught:
        Filters.of(status=["exited", "bogus"]).one_of("status", F.CONTAINER_STATES)
    assert caught.value.message == "Invalid filter 'status=bogus'"
    assert Filters.of(exited=["0", "137"]).integers("exited") == (0, 137)
    with pytest.raises(FilterError, match="exited=x"):
        Filters.of(exited="x").integers("exited")
    with pytest.raises(FilterError, match="more than one until filter specified"):
        Filters.of(until=["1h", "2h"]).single("until")
    assert Filters.of(until="1h").single("until") == "1h" and Filters().single("until") is None


def test_labels_key_and_key_value_all_must_hold():
    labels = {"a": "b", "c": ""}
    assert Filters().matches_labels(labels)
    assert Filters.of(label=["a"]).matches_labels(labels)
    assert Filters.of(label=["a=b", "c"]).matches_labels(labels)
    assert Filters.of(label=["c="]).matches_labels(labels)
    assert not Filters.of(label=["a=x"]).matches_labels(labels)
    assert not Filters.of(label=["a", "d"]).matches_labels(labels)
    assert not Filters.of(label=["a"]).matches_labels(None)


def test_prune_labels_with_negation():
    labels = {"keep": "yes", "tier": "web"}
    assert Filters.of({"label!": ["keep"]}).matches_prune_labels({"tier": "web"})
    assert not Filters.of({"label!": ["keep"]}).matches_prune_labels(labels)
    assert not Filters.of({"label": ["tier=db"]}).matches_prune_labels(labels)
    assert Filters.of({"label": ["tier=web"], "label!": ["keep=no"]}).matches_prune_labels(labels)


def test_pattern_matching_is_dockerds_regexp_anywhere():
    assert Filters.of(name="web").matches_pattern("name", "my-web-1")
    assert Filters.of(name="^web$").matches_pattern("name", "web")
    assert not Filters.of(name="^web$").matches_pattern("name", "my-web-1")
    assert Filters.of(id="abc").matches_pattern("id", "abcdef")
    # a value that is no regular expression still matches exactly
    assert Filters.of(name="a(b").matches_pattern("name", "a(b")
    assert not Filters.of(name="a(b").matches_pattern("name", "ab")
    assert Filters().matches_pattern("name", "anything")
    assert Filters.of(status="exited").matches_exactly("status", "exited")
    assert not Filters.of(status="exited").matches_exactly("status", "running")


def test_ports():
    ports = PortFilter.parse("publish", ["80", "8000-8002/udp"])
    assert ports.matches(["80/tcp"]) and ports.matches(["8001/udp"])
    assert not ports.matches(["8001/tcp"]) and not ports.matches(["81/tcp"])
    for bad in ("abc", "1-x/tcp", "0", "70000", "9-3"):
        with pytest.raises(FilterError, match=f"error while looking up for publish {bad}"):
            PortFilter.parse("publish", [bad])


@pytest.mark.parametrize("pattern, reference, hit", [
    ("busybox", "busybox:latest", True),
    ("busybox:*", "busybox:latest", True),
    ("busy*", "busybox:1.0", True),
    ("*", "library/busybox:latest", False),     # `*` stops at "/"
    ("*/*", "library/busybox:latest", True),
    ("bus?box", "busybox:latest", True),
    ("b[a-v]sybox", "busybox:latest", True),
    ("b[^u]sybox", "busybox:latest", False),
    ("localhost:5000/app", "localhost:5000/app:v1", True),
    ("other", "busybox:latest", False),
])
def test_reference_patterns(pattern, reference, hit):
    assert F.reference_matches([F.reference_pattern(pattern)], reference) is hit


@pytest.mark.parametrize("bad", ["[bad", "a[]", "x\\", "[z-a]"])
def test_bad_reference_patterns(bad):
    with pytest.raises(FilterError, match="syntax error in pattern"):
        F.reference_pattern(bad)


def test_timestamps():
    now = 1_700_000_000.0
    assert F.timestamp("24h", now) == now - 86400
    assert F.timestamp("1h30m", now) == now - 5400
    assert F.timestamp("10s", now) == now - 10
    assert F.timestamp("1500000000", now) == 1_500_000_000
    assert F.timestamp("1500000000.5", now) == 1_500_000_000.5
    assert F.timestamp("2020-01-02T03:04:05Z", now) == datetime.datetime(
        2020, 1, 2, 3, 4, 5, tzinfo=datetime.timezone.utc).timestamp()
    assert F.timestamp("2020-01-02T03:04:05+01:00", now) == datetime.datetime(
        2020, 1, 2, 2, 4, 5, tzinfo=datetime.timezone.utc).timestamp()
    assert F.timestamp("2020-01-02", now) == datetime.datetime(2020, 1, 2).astimezone().timestamp()
    for bad in ("yesterday", "10x", "2020-13-01"):
        with pytest.raises(FilterError) as caught:
            F.timestamp(bad, now)
        assert caught.value.message == f'failed to parse value as time or duration: "{bad}"'


def test_encoding_for_clients():
    filters = Filters.of(label=["a=b"], status="exited")
    assert json.loads(filters.to_json()) == {"label": {"a=b": True}, "status": {"exited": True}}
    assert json.loads(filters.to_json("1.41")) == {"label": {"a=b": True}, "status": {"exited": True}}
    assert json.loads(filters.to_json("1.21")) == {"label": ["a=b"], "status": ["exited"]}
    assert Filters.parse(filters.to_json()) == filters == Filters.parse(filters.to_json("1.14"))


def test_endpoint_names_are_dockerds():
    assert {"id", "name", "label", "status", "exited", "ancestor", "before", "since", "volume",
            "network", "health", "publish", "expose", "is-task"} <= F.CONTAINER_LIST
    assert F.IMAGE_LIST == {"dangling", "label", "reference", "before", "since"}
    assert {"type", "container", "image", "event", "label", "network", "volume", "daemon"} <= F.EVENTS
