"""`pyctr volume prune` and `pyctr system df|prune|info|events` against a real pyctrd,
side by side with the docker CLI 28 against the same daemon."""

from __future__ import annotations

import json
import os
import time

import pytest

from harness import without_ages

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")


def text(result) -> str:
    return result.stdout.decode()


def both(daemon, *argv: str, input: bytes | None = None):
    return daemon.pyctr(*argv, input=input, check=False), daemon.docker(*argv, input=input, check=False)


def same(daemon, *argv: str, input: bytes | None = None):
    ours, theirs = both(daemon, *argv, input=input)
    assert ours.returncode == theirs.returncode, (argv, ours, theirs)
    assert text(ours) == text(theirs), argv
    assert ours.stderr.decode() == theirs.stderr.decode().replace("docker", "pyctr"), argv
    return ours


def same_refusal(daemon, *argv: str, status: int = 1, prefix: bytes = b"template parsing error: "):
    """Refused alike (status, nothing on stdout), where the messages name Go types we have not."""
    ours, theirs = both(daemon, *argv)
    assert ours.returncode == theirs.returncode == status and ours.stdout == theirs.stdout == b"", (ours, theirs)
    assert ours.stderr.startswith(prefix) and theirs.stderr.startswith(prefix)


def volume_names(daemon) -> set[str]:
    return set(daemon.docker("volume", "ls", "-q").stdout.decode().split())


@pytest.fixture
def cleanup(daemon):
    made: dict[str, list[str]] = {"containers": [], "volumes": [], "networks": []}
    yield made
    for name in made["containers"]:
        daemon.pyctr("rm", "-f", name, check=False)
    for name in made["volumes"]:
        daemon.pyctr("volume", "rm", "-f", name, check=False)
    for name in made["networks"]:
        daemon.pyctr("network", "rm", "-f", name, check=False)


def test_volume_prune_as_docker(daemon, cleanup):
    cleanup["volumes"] += ["vp1", "vp2", "vq1", "vkeep"]
    cleanup["containers"] += ["vpc"]
    for name, label in (("vp1", "pz=1"), ("vp2", "pz=1"), ("vq1", "qz=1"), ("vkeep", "pz=1")):
        daemon.pyctr("volume", "create", "--label", label, name)
    daemon.pyctr("create", "--name", "vpc", "-v", "vkeep:/data", "busybox", "true")
    before = volume_names(daemon)
    ours = same(daemon, "volume", "prune", input=b"")           # the prompt; no answer is a no
    assert text(ours).endswith("Are you sure you want to continue? [y/N] ")
    same(daemon, "volume", "prune", input=b"n\n")
    assert volume_names(daemon) == before
    same(daemon, "volume", "prune", "-f", "--filter", "label=nosuch")   # nothing to prune
    same(daemon, "volume", "prune", "-f", "--all")                      # API 1.42's, refused alike
    same(daemon, "volume", "prune", "-a", "-f", "--filter", "label=pz=1")
    same(daemon, "volume", "prune", "-f", "--filter", "bogus=1")
    same(daemon, "volume", "prune", "extra")
    assert volume_names(daemon) == before

    ours = daemon.pyctr("volume", "prune", "-f", "--filter", "label=pz=1")
    lines = text(ours).splitlines()
    assert lines[0] == "Deleted Volumes:" and sorted(lines[1:3]) == ["vp1", "vp2"]
    assert lines[3:] == ["", "Total reclaimed space: 0B"]
    assert volume_names(daemon) == before - {"vp1", "vp2"}          # vkeep is used by vpc
    theirs = daemon.docker("volume", "prune", "-f", "--filter", "label=qz")
    assert text(theirs) == text(ours).replace("vp1\n", "").replace("vp2\n", "vq1\n")
    ours = daemon.pyctr("volume", "prune", "--filter", "label=pz", input=b"y\n")
    assert text(ours).endswith("[y/N] Total reclaimed space: 0B\n") and "vkeep" in volume_names(daemon)


def test_system_df_as_docker(daemon, cleanup):
    cleanup["containers"] += ["dfrun", "dfstop"]
    cleanup["volumes"] += ["dfvol"]
    daemon.pyctr("run", "-d", "--name", "dfrun", "-v", "dfvol:/v", "busybox", "sleep", "1000")
    # written before the comparisons start (an exec returns when it is done), so the sizes hold still
    daemon.pyctr("exec", "dfrun", "sh", "-c", "head -c 3000000 /dev/zero > /grow")
    daemon.pyctr("run", "--name", "dfstop", "busybox", "sh", "-c", "head -c 12345 /dev/zero > /a")
    daemon.pyctr("exec", "dfrun", "sh", "-c", "head -c 5000 /dev/zero > /v/f")
    for argv in (["system", "df"], ["system", "df", "--format", "json"],
                 ["system", "df", "--format", "{{.Type}}: {{.Size}} {{.Reclaimable}}"],
                 ["system", "df", "--format", "table {{.Type}}\\t{{.Active}}"], ["system", "df", "--format", "table"]):
        same(daemon, *argv)
    rows = {r["Type"]: r for r in map(json.loads, text(daemon.pyctr("system", "df", "--format", "json")).splitlines())}
    assert rows["Containers"]["TotalCount"] >= "2" and rows["Containers"]["Reclaimable"] != "0B"
    assert rows["Local Volumes"]["Size"] != "0B"
    # the verbose listing shows ages, which a second turning between the two runs changes
    # (and with them the column widths): compared with the ages and the padding taken out
    ours, theirs = both(daemon, "system", "df", "-v")
    assert without_ages(text(ours)) == without_ages(text(theirs)) and ours.returncode == 0
    assert "dfvol" in text(ours) and "dfstop" in text(ours)
    same(daemon, "system", "df", "extra")
    same(daemon, "system", "df", "--bogus")
    same_refusal(daemon, "system", "df", "--format", "{{.Nope}}")


def test_system_df_verbose_format_as_docker(daemon, cleanup):
    """`system df -v --format`: the template runs once on the four lists of docker's
    formatter contexts (full ids but with `table`, no newline added); an image shows once."""
    cleanup["containers"] += ["dfvrun"]
    cleanup["volumes"] += ["dfvvol"]
    daemon.docker("run", "-d", "--name", "dfvrun", "-v", "dfvvol:/v", "-l", "tier=web", "busybox", "sleep", "1000")
    daemon.pyctr("tag", "busybox", "dfv/second:tag")
    try:
        for fmt in ("{{range .Images}}{{.Repository}}:{{.Tag}} {{.ID}} {{.Size}} {{.UniqueSize}} "
                    "{{.Containers}} {{.Digest}}|{{end}}",
                    "{{range .Containers}}{{.ID}} {{.Names}} {{.Command}} {{.Size}} {{.LocalVolumes}} "
                    "{{.Mounts}} {{.Labels}} {{.State}}|{{end}}",
                    "{{range .Volumes}}{{json .}}{{end}}", "{{len .BuildCache}}",
                    "table {{range .Images}}{{.ID}}\\t{{.Repository}}\\n{{end}}",
                    "{{.Nope}}", "{{range .Images}}{{.Nope}}{{end}}", "{{"):
            same(daemon, "system", "df", "-v", "--format", fmt)
        aged = ("CreatedSince", "RunningFor", "Status")   # a second may turn between the two runs
        ours, theirs = (json.loads(text(run)) for run in both(daemon, "system", "df", "-v", "--format", "json"))
        for listing in (ours, theirs):
            assert list(listing) == ["Images", "Containers", "Volumes", "BuildCache"]
            for rows in listing.values():
                for row in rows:
                    for key in aged:
                        row.pop(key, None)
        assert ours == theirs and len(ours["Images"]) == 1 and ours["Containers"][0]["Names"] == "dfvrun"
        assert not text(daemon.pyctr("system", "df", "-v", "--format", "{{len .Images}}")).endswith("\n")
        ours, theirs = both(daemon, "system", "df", "-v")   # the table too shows the image once
        assert without_ages(text(ours)) == without_ages(text(theirs)) and "dfv/second" not in text(ours)
    finally:
        daemon.pyctr("rmi", "dfv/second:tag")


def test_system_prune_as_docker(daemon, cleanup):
    cleanup["containers"] += ["spdead", "spalive"]
    cleanup["networks"] += ["spnet"]
    cleanup["volumes"] += ["spvol"]
    for argv in ([], ["-a"], ["--volumes"], ["-a", "--volumes", "--filter", "label=x", "--filter", "until=1h"],
                 ["--filter", "label=x"]):
        same(daemon, "system", "prune", *argv, input=b"n\n")      # the same warning, and nothing done
    same(daemon, "system", "prune", "-f", "--volumes", "--filter", "until=1h")
    same(daemon, "system", "prune", "-f", "-a", "--filter", "label=nosuch")  # pyctrd's build prune refuses label
    same(daemon, "system", "prune", "-f", "--filter", "bogus=1")
    same(daemon, "system", "prune", "extra")

    dead = text(daemon.pyctr("create", "--name", "spdead", "busybox", "true")).strip()
    daemon.pyctr("run", "-d", "--name", "spalive", "busybox", "sleep", "1000")
    daemon.pyctr("network", "create", "spnet")
    daemon.pyctr("volume", "create", "spvol")
    ours = daemon.pyctr("system", "prune", "-f", "--volumes")
    out = text(ours)
    assert out.startswith("Deleted Containers:\n") and f"\n{dead}\n" in out
    assert "Deleted Networks:\n" in out and "\nspnet\n" in out
    assert "Deleted Volumes:\n" in out and "\nspvol\n" in out
    assert out.endswith("\nTotal reclaimed space: 0B\n")
    assert "spdead" not in text(daemon.docker("ps", "-a", "--format", "{{.Names}}"))
    assert "spalive" in text(daemon.docker("ps", "--format", "{{.Names}}"))
    assert "spnet" not in text(daemon.docker("network", "ls")) and "spvol" not in volume_names(daemon)
    same(daemon, "system", "prune", "-f", "--volumes")             # nothing left: the same empty report


def test_system_info_and_events_as_docker(daemon, cleanup):
    assert text(daemon.pyctr("system", "info")) == text(daemon.pyctr("info"))
    ours, theirs = both(daemon, "system")
    assert ours.stderr == theirs.stderr.replace(b"docker", b"pyctr") and ours.returncode == theirs.returncode == 0
    same(daemon, "system", "bogus")
    cleanup["containers"] += ["evc"]
    since = f"{time.time():.3f}"
    daemon.docker("run", "--name", "evc", "--label", "ev=1", "busybox", "true")  # pyctr run has no --label yet
    daemon.pyctr("rm", "evc")
    until = f"{time.time() + 1:.3f}"
    window = ["--since", since, "--until", until]
    for verb in (["system", "events"], ["events"]):
        for extra in (["--format", "json"], ["--filter", "event=start", "--format", "{{.Status}} {{.ID}} {{json .Actor}}"],
                      ["--filter", "label=ev=1", "--filter", "type=container", "--format",
                       "{{.Type}} {{.Action}} {{.Actor.Attributes.name}} {{.Time}} {{.TimeNano}} {{.From}}"]):
            ours = same(daemon, *verb, *window, *extra)
            assert text(ours), extra
        same(daemon, *verb, *window, "--filter", "colour=red")
        same_refusal(daemon, *verb, *window, "--format", "{{.Nope}}", status=64, prefix=b"Error parsing format: ")
    actions = [json.loads(line)["Action"] for line in
               text(daemon.pyctr("system", "events", *window, "--filter", "container=evc", "--format", "json")).splitlines()]
    assert actions == ["create", "start", "die", "destroy"]
    # without --format, the same Docker 1.2 lines as `pyctr events`, filtered by the daemon
    plain = text(daemon.pyctr("system", "events", *window, "--filter", "event=die"))
    assert plain == text(daemon.pyctr("events", *window, "--filter", "event=die")) and plain.count("\n") == 1
