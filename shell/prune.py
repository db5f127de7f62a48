"""The prunes behind `volume prune`, `network prune` and `system prune`: each asks
its /prune endpoint and returns (space reclaimed, the docker CLI's section text)."""

from __future__ import annotations

from .context import Context


def go_size(size: float, precision: int = 4) -> str:
    """go-units' HumanSizeWithPrecision, as the docker CLI 28 prints sizes ("1.982MB", "0B")."""
    units = ("B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB")
    i = 0
    while size >= 1000 and i < len(units) - 1:
        size /= 1000.0
        i += 1
    return f"{size:.{precision}g}{units[i]}"


def confirm(ctx: Context, warning: str) -> bool:
    """docker's prompt before a prune: anything but y/Y on stdin is a no."""
    ctx.out(f"{warning}\nAre you sure you want to continue? [y/N] ")
    try:
        answer = ctx.stdin.readline()
    except (OSError, ValueError):
        answer = ""
    if isinstance(answer, bytes):
        answer = answer.decode(errors="replace")
    return answer.strip().lower() in ("y", "yes")


def _section(title: str, names: list[str]) -> str:
    return f"{title}:\n" + "".join(f"{name}\n" for name in names) if names else ""


def containers(ctx: Context, filters: dict) -> tuple[int, str]:
    report = ctx.client.prune("containers", {"filters": filters})
    return int(report.get("SpaceReclaimed") or 0), _section("Deleted Containers", report.get("ContainersDeleted") or [])


def networks(ctx: Context, filters: dict) -> tuple[int, str]:
    report = ctx.client.prune_networks(filters)
    return 0, _section("Deleted Networks", report.get("NetworksDeleted") or [])


def volumes(ctx: Context, filters: dict) -> tuple[int, str]:
    report = ctx.client.prune_volumes(filters)
    return int(report.get("SpaceReclaimed") or 0), _section("Deleted Volumes", report.get("VolumesDeleted") or [])


def images(ctx: Context, filters: dict, all: bool) -> tuple[int, str]:
    report = ctx.client.prune("images", {"filters": {**filters, "dangling": [str(not all).lower()]}})
    lines = []
    for item in report.get("ImagesDeleted") or []:
        if item.get("Untagged"):
            lines.append(f"untagged: {item['Untagged']}")
        if item.get("Deleted"):
            lines.append(f"deleted: {item['Deleted']}")
    return int(report.get("SpaceReclaimed") or 0), _section("Deleted Images", lines)


def build_cache(ctx: Context, filters: dict, all: bool) -> tuple[int, str]:
    report = ctx.client.prune("build", {"filters": filters, "all": True if all else None})
    return int(report.get("SpaceReclaimed") or 0), _section("Deleted build cache objects",
                                                            report.get("CachesDeleted") or [])
