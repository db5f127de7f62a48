import io

import pytest

from pyctr.engine.client.streams import Demuxer, FrameError, demux, json_messages



def frame(stream: int, data: bytes) -> bytes:
    """One frame of the attach/logs multiplexed stream, written out by hand (the header:
    stream id, three zero bytes, the big-endian length)."""
    return bytes([stream, 0, 0, 0]) + len(data).to_bytes(4, "big") + data


def test_demux_whole_and_split_frames():
    data = frame(1, b"hello ") + frame(2, b"oops\n") + frame(0, b"") + frame(1, b"world\n")
    out, err = io.BytesIO(), io.BytesIO()
    chunks = iter([data[i:i + 3] for i in range(0, len(data), 3)] + [b""])
    demux(lambda n: next(chunks), out, err)
    assert (out.getvalue(), err.getvalue()) == (b"hello world\n", b"oops\n")


def test_demuxer_passes_partial_payloads_on_and_tracks_incomplete():
    d = Demuxer()
    assert d.feed(frame(1, b"abcdef")[:10]) == [(1, b"ab")]
    assert d.incomplete
    assert d.feed(b"cdef" + frame(2, b"x")[:4]) == [(1, b"cdef")]
    assert d.incomplete
    assert d.feed(frame(2, b"x")[4:]) == [(2, b"x")]
    assert not d.incomplete


def test_stdin_frames_go_to_stdout_and_bad_headers_fail():
    assert Demuxer().feed(frame(0, b"echo")) == [(1, b"echo")]
    with pytest.raises(FrameError, match="Unrecognized input header: 7"):
        Demuxer().feed(bytes([7, 0, 0, 0, 0, 0, 0, 1]) + b"x")


def test_big_frame_size_is_big_endian():
    payload = b"x" * 70000
    assert b"".join(p for _, p in Demuxer().feed(frame(1, payload))) == payload


def test_json_messages_across_reads():
    raw = b'{"status":"a"}\n{"status":"b\xc3\xa9"}{"id":"x","progressDetail":{}}\r\n'
    chunks = [raw[i:i + 5] for i in range(0, len(raw), 5)]
    assert list(json_messages(chunks)) == [{"status": "a"}, {"status": "bé"},
                                           {"id": "x", "progressDetail": {}}]
    with pytest.raises(ValueError, match="truncated"):
        list(json_messages([b'{"status":']))
