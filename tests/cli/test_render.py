"""API records -> the exact text docker 1.2 printed."""

from pyctr.engine.api.records import (ContainerSummary, FileChange, HistoryEntry, ImageSummary,
                                      PortSummary, ProcessList, SystemInfo)
from pyctr.shell import render
from pyctr.shell.progress import display_messages

NOW = 1_400_000_000


def image_summary(**fields) -> ImageSummary:
    """An image row as the client reads it from a daemon that sent only these fields."""
    return ImageSummary(**{"repo_tags": [], "parent_id": "", "created": 0, "size": 0,
                           "virtual_size": 0, **fields})


def container_summary(**fields) -> ContainerSummary:
    return ContainerSummary(**{"image": "", "command": "", "created": 0, "status": "", **fields})


def test_tabwriter_like_go():
    text = "a\tbb\tccc\nxxxxxxxxxxxxxxxxxxxxxxxx\ty\tz\n"
    assert render.tabwrite(text) == (
        "a                          bb                  ccc\n"
        "xxxxxxxxxxxxxxxxxxxxxxxx   y                   z\n")
    # a column block ends at a line without that column
    assert render.tabwrite("a\tb\nc\nlong-long-long-long-cell\td\n", minwidth=0, padding=1) == \
        "a b\nc\nlong-long-long-long-cell d\n"


def test_human_units():
    assert [render.human_duration(s) for s in (0.5, 5, 60, 150, 3600, 7200, 3 * 86400,
                                               15 * 86400, 100 * 86400, 800 * 86400)] == [
        "Less than a second", "5 seconds", "About a minute", "2 minutes", "About an hour",
        "2 hours", "3 days", "2 weeks", "3 months", "2 years"]
    assert [render.human_size(n) for n in (0, 7, 999, 1000, 2489000, 131506275, 24653)] == [
        "0 B", "7 B", "999 B", "1 kB", "2.489 MB", "131.5 MB", "24.65 kB"]


def test_images_table():
    images = [
        image_summary(id="77af4d6b9913e693e8d0b4b294fa62ade6054e6b2f1ffb617ac955dd63fb0182",
                     repo_tags=["<none>:<none>"], created=NOW - 19 * 3600, virtual_size=1089000000),
        image_summary(id="b6fa739cedf5ea12a620a439402b6004d057da800f91c7524b5086a5e4749c9f",
                     repo_tags=["committest:latest", "localhost:5000/ct:v1"],
                     created=NOW - 16, virtual_size=2489000),
    ]
    assert render.images_table(images, now=NOW) == (
        "REPOSITORY          TAG                 IMAGE ID            CREATED             VIRTUAL SIZE\n"
        "<none>              <none>              77af4d6b9913        19 hours ago        1.089 GB\n"
        "committest          latest              b6fa739cedf5        16 seconds ago      2.489 MB\n"
        "localhost:5000/ct   v1                  b6fa739cedf5        16 seconds ago      2.489 MB\n")
    assert render.images_table(images, quiet=True) == \
        "77af4d6b9913\nb6fa739cedf5\nb6fa739cedf5\n"
    assert images[0].id in render.images_table(images, no_trunc=True, now=NOW)


def test_ps_table_pads_names_like_docker():
    rows = [
        container_summary(id="4c01db0b339c6a1b", image="ubuntu:12.04", command="bash",
                         created=NOW - 17, status="Up 16 seconds", names=["/webapp"]),
        container_summary(id="d7886598dbe2aaaa", image="crosbymichael/redis:latest",
                         command="/redis-server --dir /data", created=NOW - 33 * 60,
                         status="Exited (3) 2 seconds ago",
                         ports=[PortSummary(6379), PortSummary(80, "tcp", "0.0.0.0", 49153)],
                         names=["/redis", "/webapp/db"]),
    ]
    ports = "6379/tcp, 0.0.0.0:49153->80/tcp"
    assert render.ps_table(rows, now=NOW) == (
        "CONTAINER ID        IMAGE                        COMMAND                CREATED             "
        "STATUS                     " + "PORTS".ljust(34) + "NAMES\n"
        '4c01db0b339c        ubuntu:12.04                 "bash"                 17 seconds ago      '
        "Up 16 seconds              " + " " * 34 + "webapp" + " " * 14 + "\n"
        'd7886598dbe2        crosbymichael/redis:latest   "/redis-server --dir   33 minutes ago      '
        "Exited (3) 2 seconds ago   " + ports + "   " + "redis,webapp/db" + " " * 5 + "\n")
    assert render.ps_table(rows, quiet=True) == "4c01db0b339c\nd7886598dbe2\n"
    sized = render.ps_table([container_summary(id="abc", size_rw=12288, size_root_fs=2489000)],
                            size=True, now=NOW)
    assert sized.splitlines()[0].endswith("NAMES               SIZE")
    assert sized.splitlines()[1].endswith("12.29 kB (virtual 2.489 MB)")


def test_images_tree():
    base = "511136ea3c5a64f264b78b5433614aec563103b4d4702f3ba7d4d2698e22c158"
    images = [
        image_summary(id="c" * 64, parent_id="b" * 64, repo_tags=["app:latest", "app:v2"], virtual_size=2489000),
        image_summary(id="d" * 64, parent_id="b" * 64, repo_tags=["<none>:<none>"], virtual_size=2500000),
        image_summary(id="e" * 64, parent_id=base, repo_tags=["other:1"], virtual_size=10),
        image_summary(id="b" * 64, parent_id=base, repo_tags=["<none>:<none>"], virtual_size=2489000),
        image_summary(id=base, repo_tags=["<none>:<none>"], virtual_size=0),
        image_summary(id="f" * 64, repo_tags=["scratch2:latest"], virtual_size=5),
    ]
    assert render.images_tree(images) == (
        "├─511136ea3c5a Virtual Size: 0 B\n"
        "│ ├─eeeeeeeeeeee Virtual Size: 10 B Tags: other:1\n"
        "│ └─bbbbbbbbbbbb Virtual Size: 2.489 MB\n"
        "│   ├─cccccccccccc Virtual Size: 2.489 MB Tags: app:latest, app:v2\n"
        "│   └─dddddddddddd Virtual Size: 2.5 MB\n"
        "└─ffffffffffff Virtual Size: 5 B Tags: scratch2:latest\n")
    assert render.images_tree(images, start="bbbbbbbbbbbb") == (
        "└─bbbbbbbbbbbb Virtual Size: 2.489 MB\n"
        "  ├─cccccccccccc Virtual Size: 2.489 MB Tags: app:latest, app:v2\n"
        "  └─dddddddddddd Virtual Size: 2.5 MB\n")
    single = render.images_tree([image_summary(id=base, repo_tags=["busybox:latest"], virtual_size=2489000)])
    assert single == "└─511136ea3c5a Virtual Size: 2.489 MB Tags: busybox:latest\n"


def test_history_top_diff():
    entries = [HistoryEntry("3e23a5875458790b", NOW - 8 * 86400,
                            "/bin/sh -c #(nop) ENV LC_ALL=C.UTF-8 and a much longer tail here", [], 0)]
    assert render.history_table(entries, now=NOW) == (
        "IMAGE               CREATED             CREATED BY                                      SIZE\n"
        "3e23a5875458        8 days ago          /bin/sh -c #(nop) ENV LC_ALL=C.UTF-8 and a mu   0 B\n")
    top = ProcessList(["UID", "PID", "CMD"], [["root", "1", "sleep 10"]])
    assert render.top_table(top) == "UID                 PID                 CMD\nroot                1                   sleep 10\n"
    assert render.diff_lines([FileChange("/dev", 0), FileChange("/dev/kmsg", 1), FileChange("/x", 2)]) == \
        "C /dev\nA /dev/kmsg\nD /x\n"


def test_info_text():
    text, warnings = render.info_text(SystemInfo(containers=14, images=52, driver="overlay",
                                           driver_status=[["Backing Filesystem", "extfs"]],
                                           execution_driver="native-0.2", kernel_version="6.1",
                                           memory_limit=True, swap_limit=True, ipv4_forwarding=True))
    assert text == ("Containers: 14\nImages: 52\nStorage Driver: overlay\n Backing Filesystem: extfs\n"
                    "Execution Driver: native-0.2\nKernel Version: 6.1\n")
    assert warnings == ""


def test_message_display(capsys):
    import io
    out = io.StringIO()
    display_messages([
        {"status": "Pulling repository busybox"},
        {"status": "Downloading", "progressDetail": {"current": 1, "total": 2}, "id": "abc"},
        {"status": "Download complete", "id": "abc"},
        {"stream": "Step 0 : FROM busybox\n"},
        {"status": "create", "id": "4386fb97867d", "from": "busybox:latest", "time": 1408528800},
    ], out, is_terminal=False)
    lines = out.getvalue().splitlines()
    assert lines[:3] == ["Pulling repository busybox", "abc: Download complete", "Step 0 : FROM busybox"]
    assert lines[3].endswith(" 4386fb97867d: (from busybox:latest) create")
    assert lines[3].startswith("2014-08-20T")


def test_message_error_raises():
    import io

    import pytest

    from pyctr.engine.client.errors import StreamError
    with pytest.raises(StreamError) as info:
        display_messages([{"status": "ok"}, {"error": "boom", "errorDetail": {"message": "boom", "code": 3}}],
                         io.StringIO(), False)
    assert (info.value.message, info.value.code) == ("boom", 3)


def test_event_time_in_utc(monkeypatch):
    import time
    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    try:
        assert render.rfc3339(1408528800) == "2014-08-20T10:00:00Z"
    finally:
        monkeypatch.undo()
        time.tzset()
