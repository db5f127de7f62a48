"""`pyctr system df|prune|info|events`: the docker CLI 28's `system` commands.
info and events are the top-level verbs under the group's name."""

from __future__ import annotations

from pyctr.engine.client.frontend.flags import Flag
from pyctr.engine.client.frontend.text import ago, truncate_id

from . import listformat, listviews, prune
from .cmd_containers import parse_filters
from .context import CLIError, Context
from .management import group

SYSTEM = group("system", "Manage Docker")
SYSTEM.reuse("info", "info")
SYSTEM.reuse("events", "events")

DF_HEADERS = {"Type": "TYPE", "TotalCount": "TOTAL", "Active": "ACTIVE", "Size": "SIZE",
              "Reclaimable": "RECLAIMABLE"}
DF_TABLE = "table {{.Type}}\t{{.TotalCount}}\t{{.Active}}\t{{.Size}}\t{{.Reclaimable}}"


def _share(reclaimable: int, total: int) -> str:
    text = prune.go_size(reclaimable)
    return f"{text} ({reclaimable * 100 // total}%)" if total > 0 else text


def df_rows(usage: dict) -> list[dict]:
    """The summary rows, with the docker CLI's counting (its formatter/disk_usage.go)."""
    images = usage.get("Images") or []
    layers = int(usage.get("LayersSize") or 0)
    used = sum(int(i.get("Size") or 0) - int(i.get("SharedSize") or 0) for i in images
               if i.get("Containers") and i.get("Size", -1) != -1 and i.get("SharedSize", -1) != -1)
    containers = usage.get("Containers") or []
    active_containers = [c for c in containers if c.get("State") in ("running", "paused")]
    rw = sum(max(int(c.get("SizeRw") or 0), 0) for c in containers)
    rw_idle = sum(max(int(c.get("SizeRw") or 0), 0) for c in containers if c not in active_containers)
    volumes = usage.get("Volumes") or []
    data = [(v.get("UsageData") or {}) for v in volumes]
    vsize = sum(int(d.get("Size") or 0) for d in data if d.get("Size", -1) != -1)
    vidle = sum(int(d.get("Size") or 0) for d in data if d.get("Size", -1) != -1 and not d.get("RefCount"))
    cache = usage.get("BuildCache") or []
    csize = sum(int(b.get("Size") or 0) for b in cache if not b.get("Shared"))
    cidle = sum(int(b.get("Size") or 0) for b in cache if not b.get("Shared") and not b.get("InUse"))
    return [
        {"Type": "Images", "TotalCount": str(len(images)), "Active": str(sum(1 for i in images if i.get("Containers"))),
         "Size": prune.go_size(layers), "Reclaimable": _share(layers - used, layers)},
        {"Type": "Containers", "TotalCount": str(len(containers)), "Active": str(len(active_containers)),
         "Size": prune.go_size(rw), "Reclaimable": _share(rw_idle, rw)},
        {"Type": "Local Volumes", "TotalCount": str(len(volumes)),
         "Active": str(sum(1 for d in data if d.get("RefCount"))),
         "Size": prune.go_size(vsize), "Reclaimable": _share(vidle, vsize)},
        {"Type": "Build Cache", "TotalCount": str(len(cache)), "Active": str(sum(1 for b in cache if b.get("InUse"))),
         "Size": prune.go_size(csize), "Reclaimable": _share(cidle, csize)},
    ]


def _table(header: list[str], rows: list[list[str]]) -> str:
    from pyctr.engine.client.frontend.text import tabwrite

    lines = ["\t".join(header)] + ["\t".join(row) for row in rows]
    return tabwrite("\n".join(lines) + "\n", minwidth=10, padding=3)


def _quote(command: str) -> str:
    import json

    # docker cuts the command to 20 characters, then quotes it
    return json.dumps(command if len(command) <= 20 else command[:19] + "…", ensure_ascii=False)


def first_tag(image: dict) -> tuple[str, str]:
    """docker's df -v shows an image once, by its first tag (<none> when it has none)."""
    tags = [t for t in image.get("RepoTags") or [] if t != "<none>:<none>"]
    repo, tag = listviews.split_reference(tags[0]) if tags else ("<none>", "<none>")
    return repo, tag or "<none>"


def verbose_text(usage: dict) -> str:
    images, containers = usage.get("Images") or [], usage.get("Containers") or []
    volumes, cache = usage.get("Volumes") or [], usage.get("BuildCache") or []
    rows = []
    for image in images:
        size, shared = int(image.get("Size") or 0), int(image.get("SharedSize") or 0)
        rows.append([*first_tag(image), truncate_id(str(image.get("Id", "")).split(":")[-1]),
                     ago(int(image.get("Created") or 0)), prune.go_size(size, 3),
                     prune.go_size(shared) if shared != -1 else "N/A",
                     prune.go_size(size - shared) if shared != -1 else "N/A", str(image.get("Containers", 0))])
    text = "Images space usage:\n\n" + _table(["REPOSITORY", "TAG", "IMAGE ID", "CREATED", "SIZE", "SHARED SIZE",
                                               "UNIQUE SIZE", "CONTAINERS"], rows)
    rows = []
    for c in containers:
        local = sum(1 for m in c.get("Mounts") or [] if m.get("Type") == "volume")
        names = ",".join(n.lstrip("/") for n in c.get("Names") or [])
        rows.append([truncate_id(c.get("Id", "")), str(c.get("Image", "")), _quote(str(c.get("Command", ""))),
                     str(local), prune.go_size(max(int(c.get("SizeRw") or 0), 0), 3), ago(int(c.get("Created") or 0)),
                     str(c.get("Status", "")), names])
    text += "\nContainers space usage:\n\n" + _table(["CONTAINER ID", "IMAGE", "COMMAND", "LOCAL VOLUMES", "SIZE",
                                                      "CREATED", "STATUS", "NAMES"], rows)
    rows = [[str(v.get("Name", "")), str((v.get("UsageData") or {}).get("RefCount", 0)),
             prune.go_size(int((v.get("UsageData") or {}).get("Size") or 0))] for v in volumes]
    text += "\nLocal Volumes space usage:\n\n" + _table(["VOLUME NAME", "LINKS", "SIZE"], rows)
    total = sum(int(b.get("Size") or 0) for b in cache if not b.get("Shared"))
    rows = [[truncate_id(str(b.get("ID", ""))), str(b.get("Type", "")), prune.go_size(int(b.get("Size") or 0)),
             str(b.get("CreatedAt", "")), str(b.get("LastUsedAt", "")), str(b.get("UsageCount", 0)),
             "true" if b.get("Shared") else "false"] for b in cache]
    text += f"\nBuild cache usage: {prune.go_size(total)}\n\n" + _table(
        ["CACHE ID", "CACHE TYPE", "SIZE", "CREATED", "LAST USED", "USAGE", "SHARED"], rows)
    return text




def verbose_data(usage: dict, trunc: bool) -> dict:
    """What `system df -v --format TEMPLATE` runs on: docker's four lists of formatter
    contexts (the fields of `images`, `ps`, `volume ls` and build cache rows)."""
    from .gotemplate import GoContext, Struct

    images = [GoContext("*formatter.imageContext",
                        {**listviews.image_fields(image, trunc), "Repository": repo, "Tag": tag, "Digest": ""})
              for image in usage.get("Images") or [] for repo, tag in [first_tag(image)]]
    # docker leaves the virtual size out of a container's Size here
    containers = [GoContext("*formatter.ContainerContext", listviews.container_row({**c, "SizeRootFs": 0}, trunc))
                  for c in usage.get("Containers") or []]
    volumes = [GoContext("*formatter.volumeContext", volume_fields(v)) for v in usage.get("Volumes") or []]
    cache = [GoContext("*formatter.buildCacheContext", cache_fields(b, trunc))
             for b in sorted(usage.get("BuildCache") or [], key=_cache_order)]
    # a Go struct: `json` keeps this order, as docker's
    data = Struct(Images=images, Containers=containers, Volumes=volumes, BuildCache=cache)
    data.go_name = "*formatter.diskUsageContext"
    return data


def volume_fields(volume: dict) -> dict:
    usage = volume.get("UsageData")
    labels = volume.get("Labels") or {}
    return {"Name": str(volume.get("Name", "")), "Driver": str(volume.get("Driver", "")),
            "Scope": str(volume.get("Scope", "")), "Mountpoint": str(volume.get("Mountpoint", "")),
            "Labels": ",".join(f"{k}={v}" for k, v in labels.items()), "Label": listformat.label_of(labels),
            "Links": "N/A" if usage is None else str(usage.get("RefCount", 0)),
            "Size": "N/A" if usage is None else prune.go_size(int(usage.get("Size") or 0)),
            # cluster volumes (swarm): none on pyctrd
            "Group": "N/A", "Availability": "N/A", "Status": "N/A"}


def _cache_order(record: dict) -> tuple:
    # docker's buildCacheSort: in use first, then the most recently used
    return (not record.get("InUse"), str(record.get("LastUsedAt") or ""))


def cache_fields(record: dict, trunc: bool) -> dict:
    import time
    from datetime import datetime

    def since(stamp) -> str:
        if not stamp:
            return ""
        when = datetime.fromisoformat(str(stamp).replace("Z", "+00:00")).timestamp()
        return listviews.since(int(when), time.time())

    ident = str(record.get("ID", ""))
    parents = record.get("Parents") or []
    parent = ", ".join(parents) if parents else str(record.get("Parent") or "")
    return {"ID": (truncate_id(ident) if trunc else ident) + ("*" if record.get("InUse") else ""),
            "Parent": truncate_id(parent) if trunc else parent, "CacheType": str(record.get("Type", "")),
            "Description": str(record.get("Description", "")),
            "Size": prune.go_size(int(record.get("Size") or 0), 3),
            "CreatedSince": since(record.get("CreatedAt")), "LastUsedSince": since(record.get("LastUsedAt")),
            "UsageCount": str(record.get("UsageCount", 0)),
            "InUse": "true" if record.get("InUse") else "false",
            "Shared": "true" if record.get("Shared") else "false"}


@SYSTEM.verb("df", "[OPTIONS]", "Show pyctr disk usage",
             Flag("--format", default="", help=listformat.FORMAT_HELP),
             Flag("-v", "--verbose", default=False, help="Show detailed information on space usage"))
def df(ctx: Context, opts, args) -> int:
    usage = ctx.client.disk_usage()
    if opts.verbose and opts.format in ("", "table"):
        ctx.out(verbose_text(usage))
        return 0
    if opts.verbose:
        # docker runs the template once, on the four lists, and adds no newline
        fmt = listformat.JSON if opts.format == "json" else opts.format.strip(" ")
        table = fmt.startswith("table")
        fmt = (fmt[len("table"):] if table else fmt).strip(" ").replace("\\t", "\t").replace("\\n", "\n")
        tmpl = listformat.template(fmt)
        tmpl.failure = ("", 1)   # docker names no step when the template fails as it runs
        ctx.out(listformat.execute(tmpl, verbose_data(usage, trunc=table)))
        return 0
    fmt = listformat.resolve(opts.format, DF_TABLE)
    ctx.out(listformat.render(df_rows(usage), fmt, DF_HEADERS))
    return 0


def _warning(opts, filters: list[str]) -> str:
    items = ["all stopped containers", "all networks not used by at least one container"]
    if opts.volumes:
        items.append("all anonymous volumes not used by at least one container")
    items += (["all images without at least one container associated to them", "all build cache"] if opts.all
              else ["all dangling images", "unused build cache"])
    text = "WARNING! This will remove:\n" + "".join(f"  - {item}\n" for item in items)
    if filters:
        text += "\n  Items to be pruned will be filtered with:\n" + "".join(f"  - {f}\n" for f in filters)
    return text


@SYSTEM.verb("prune", "[OPTIONS]", "Remove unused data",
             Flag("-a", "--all", default=False, help="Remove all unused images not just dangling ones"),
             Flag("--filter", default=[], help='Provide filter values (e.g. "label=<key>=<value>")'),
             Flag("-f", "--force", default=False, help="Do not prompt for confirmation"),
             Flag("--volumes", default=False, help="Prune anonymous volumes"))
def system_prune(ctx: Context, opts, args) -> int:
    filters = parse_filters(opts.filter)
    if opts.volumes and "until" in filters:
        raise CLIError('ERROR: The "until" filter is not supported with "--volumes"')
    if not opts.force and not prune.confirm(ctx, _warning(opts, opts.filter)):
        return 0
    steps = [lambda: prune.containers(ctx, filters), lambda: prune.networks(ctx, filters)]
    if opts.volumes:
        steps.append(lambda: prune.volumes(ctx, filters))
    steps += [lambda: prune.images(ctx, filters, opts.all), lambda: prune.build_cache(ctx, filters, opts.all)]
    total = 0
    for step in steps:  # each section as soon as it is done, as docker prints them
        space, text = step()
        total += space
        if text:
            ctx.out(text + "\n")
    ctx.out(f"Total reclaimed space: {prune.go_size(total)}\n")
    return 0
