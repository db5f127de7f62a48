"""`pyctr network create|ls|inspect|rm|connect|disconnect|prune`: the docker CLI's
network commands (its flags, output and exit codes) against pyctrd's /networks."""

from __future__ import annotations

import json
import re

from pyctr.engine.client.frontend.flags import PROG, Flag
from pyctr.engine.client.frontend.text import truncate_id

from . import listformat
from .cmd_containers import parse_filters
from .context import CLIError, Context, StatusExit
from .management import group

NETWORK = group("network", "Manage networks")

HEADERS = {"ID": "NETWORK ID", "Name": "NAME", "Driver": "DRIVER", "Scope": "SCOPE", "IPv4": "IPV4",
           "IPv6": "IPV6", "Internal": "INTERNAL", "Labels": "LABELS", "CreatedAt": "CREATED AT"}
DEFAULT_TABLE = "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}"


def natural(name: str) -> list:
    # docker sorts networks (and volumes) with sortorder.NaturalLess: "n2" before "n10"
    return [(0, int(part), "") if part.isdigit() else (1, 0, part) for part in re.split(r"(\d+)", name)]


def go_time(stamp: str) -> str:
    """An RFC 3339 time as Go's time.String prints it ("2026-12-02 04:45:49.414369 +0000 UTC")."""
    match = re.match(r"(\d{4}-\d\d-\d\d)T(\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)?$", stamp or "")
    if match is None:
        return stamp or ""
    day, clock, fraction, zone = match.groups()
    fraction = (fraction or "").rstrip("0")
    zone = zone or "Z"
    offset = "+0000 UTC" if zone == "Z" else zone.replace(":", "") + " " + zone.replace(":", "")
    return f"{day} {clock}{'.' + fraction if fraction else ''} {offset}"


def _labels(labels: dict | None) -> str:
    return ",".join(f"{k}={v}" for k, v in sorted((labels or {}).items()))


def _row(net: dict, no_trunc: bool) -> dict:
    text = lambda value: "true" if value else "false"  # noqa: E731 - docker's strconv.FormatBool
    return {"ID": net.get("Id", "") if no_trunc else truncate_id(net.get("Id", "")),
            "Name": net.get("Name", ""), "Driver": net.get("Driver", ""), "Scope": net.get("Scope", ""),
            "IPv4": text(net.get("EnableIPv4")), "IPv6": text(net.get("EnableIPv6")),
            "Internal": text(net.get("Internal")), "Labels": _labels(net.get("Labels")),
            "CreatedAt": go_time(net.get("Created", "")), "Label": listformat.label_of(net.get("Labels"))}


@NETWORK.verb("ls", "[OPTIONS]", "List networks",
              Flag("-f", "--filter", default=[], help='Provide filter values (e.g. "driver=bridge")'),
              Flag("--format", default="", help=listformat.FORMAT_HELP),
              Flag("--no-trunc", default=False, help="Do not truncate the output"),
              Flag("-q", "--quiet", default=False, help="Only display network IDs"),
              aliases=("list",))
def ls(ctx: Context, opts, args) -> int:
    networks = sorted(ctx.client.networks(parse_filters(opts.filter)),
                      key=lambda n: natural(str(n.get("Name", ""))))
    fmt = listformat.resolve(opts.format, DEFAULT_TABLE, opts.quiet)
    ctx.out(listformat.render([_row(n, opts.no_trunc) for n in networks], fmt, HEADERS))
    return 0


def _pairs(values: list[str], flag: str) -> dict[str, str]:
    found = {}
    for value in values:
        key, sep, val = value.partition("=")
        if not sep:
            raise CLIError(f'invalid argument "{value}" for "{flag}" flag: invalid key value pair '
                           f'format: {value}', status=125)
        found[key] = val
    return found


def _network_of(cidr: str):
    import ipaddress

    try:
        return ipaddress.ip_network(cidr, strict=False)
    except ValueError:
        raise CLIError(f"invalid CIDR address: {cidr}") from None


def _address(text: str, what: str):
    import ipaddress

    try:
        return ipaddress.ip_address(text)
    except ValueError:
        raise CLIError(f"invalid {what} address: {text}") from None


def ipam_config(subnets: list[str], ranges: list[str], gateways: list[str],
                aux: dict[str, str]) -> list[dict]:
    """Pair each --ip-range, --gateway and --aux-address with the --subnet that holds
    it, with the docker CLI's checks and messages (its consolidateIpam)."""
    if len(subnets) < len(ranges) or len(subnets) < len(gateways):
        raise CLIError("every ip-range or gateway must have a corresponding subnet")
    configs: list[dict] = []
    for subnet in subnets:
        if len(subnets) > 1:
            mine = _network_of(subnet)
            for other in configs:
                if mine.version == other["_net"].version and mine.overlaps(other["_net"]):
                    raise CLIError("multiple overlapping subnet configuration is not supported")
        configs.append({"Subnet": subnet, "_net": _network_of(subnet) if (ranges or gateways or aux
                                                                             or len(subnets) > 1) else None})

    def holder(address, what: str, text: str) -> dict:
        for config in configs:
            if config["_net"] is not None and address.version == config["_net"].version \
                    and address in config["_net"]:
                return config
        raise CLIError(f"no matching subnet for {what} {text}")

    for text in ranges:
        config = holder(_network_of(text).network_address, "range", text)
        if config.get("IPRange"):
            raise CLIError(f"cannot configure multiple ranges ({text}, {config['IPRange']}) on the same "
                           f"subnet ({config['Subnet']})")
        config["IPRange"] = text
    for text in gateways:
        config = holder(_address(text, "gateway"), "gateway", text)
        if config.get("Gateway"):
            raise CLIError(f"cannot configure multiple gateways ({text}, {config['Gateway']}) for the same "
                           f"subnet ({config['Subnet']})")
        config["Gateway"] = text
    for key, text in aux.items():
        config = holder(_address(text, "aux-address"), "aux-address", text)
        config.setdefault("AuxiliaryAddresses", {})[key] = text
    for config in configs:
        del config["_net"]
    return configs


@NETWORK.verb("create", "[OPTIONS] NETWORK", "Create a network",
              Flag("--attachable", default=False, help="Enable manual container attachment"),
              Flag("--aux-address", default=[], help="Auxiliary IPv4 or IPv6 addresses used by Network driver"),
              Flag("--config-from", default="", help="The network from which to copy the configuration"),
              Flag("--config-only", default=False, help="Create a configuration only network"),
              Flag("-d", "--driver", default="bridge", help="Driver to manage the Network"),
              Flag("--gateway", default=[], help="IPv4 or IPv6 Gateway for the master subnet"),
              Flag("--ingress", default=False, help="Create swarm routing-mesh network"),
              Flag("--internal", default=False, help="Restrict external access to the network"),
              Flag("--ip-range", default=[], help="Allocate container ip from a sub-range"),
              Flag("--ipam-driver", default="default", help="IP Address Management Driver"),
              Flag("--ipam-opt", default=[], help="Set IPAM driver specific options"),
              Flag("--ipv4", default=True, help="Enable or disable IPv4 address assignment"),
              Flag("--ipv6", default=False, help="Enable or disable IPv6 address assignment"),
              Flag("--label", default=[], help="Set metadata on a network"),
              Flag("-o", "--opt", default=[], help="Set driver specific options"),
              Flag("--scope", default="", help="Control the network's scope"),
              Flag("--subnet", default=[], help="Subnet in CIDR format that represents a network segment"),
              min_args=1, max_args=1)
def create(ctx: Context, opts, args) -> int:
    if not opts.ipv4:
        # EnableIPv4 is API 1.47's; pyctrd speaks 1.41, where every network has IPv4
        raise CLIError('"--ipv4=false" requires API version 1.47, but the pyctrd API version is 1.41')
    config = ipam_config(opts.subnet, opts.ip_range, opts.gateway,
                         _pairs(opts.aux_address, "--aux-address"))
    body = {"Name": args[0], "CheckDuplicate": True, "Driver": opts.driver,
            "Options": _pairs(opts.opt, "-o, --opt"),
            "IPAM": {"Driver": opts.ipam_driver, "Config": config,
                     "Options": _pairs(opts.ipam_opt, "--ipam-opt")},
            "Internal": opts.internal, "EnableIPv6": opts.ipv6, "Attachable": opts.attachable,
            "Ingress": opts.ingress, "Scope": opts.scope, "ConfigOnly": opts.config_only,
            "Labels": dict(label.partition("=")[::2] for label in opts.label)}
    if opts.config_from:
        body["ConfigFrom"] = {"Network": opts.config_from}
    answer = ctx.client.create_network(body)
    if answer.get("Warning"):
        ctx.err(f"{answer['Warning']}\n")
    ctx.out(f"{answer.get('Id', '')}\n")
    return 0


@NETWORK.verb("inspect", "[OPTIONS] NETWORK [NETWORK...]", "Display detailed information on one or more networks",
              Flag("-f", "--format", default="", help="Format output using a custom template:\n"
                   "'json':             Print in JSON format\n"
                   "'TEMPLATE':         Print output using the given Go template"),
              Flag("-v", "--verbose", default=False, help="Verbose output for diagnostics"),
              min_args=1, max_args=None)
def inspect(ctx: Context, opts, args) -> int:
    from pyctr.engine.client.errors import APIError

    from .gotemplate import Struct

    found, errors = [], []
    for name in args:
        try:
            found.append(ctx.client.inspect_network(name, verbose=opts.verbose, object_hook=Struct))
        except APIError as exc:  # each reported after what was found, as docker's inspect does
            errors.append(exc)
    listformat.show_inspected(ctx, found, errors, opts.format)
    return 0


@NETWORK.verb("rm", "NETWORK [NETWORK...]", "Remove one or more networks",
              Flag("-f", "--force", default=False, help="Do not error if the network does not exist"),
              min_args=1, max_args=None, aliases=("remove",))
def rm(ctx: Context, opts, args) -> int:
    from pyctr.engine.client.errors import APIError

    failed = False
    for name in args:
        try:
            ctx.client.remove_network(name)
        except APIError as exc:
            if opts.force and exc.status == 404:
                continue
            ctx.report(exc)
            failed = True
        else:
            ctx.out(f"{name}\n")
    if failed:
        ctx.err("exit status 1\n")  # the docker CLI 28 ends a partial failure so
        raise StatusExit(1)
    return 0


def _endpoint(opts) -> dict:
    ipam = {key: value for key, value in (("IPv4Address", opts.ip), ("IPv6Address", opts.ip6)) if value}
    if opts.link_local_ip:
        ipam["LinkLocalIPs"] = list(opts.link_local_ip)
    endpoint: dict = {"Aliases": list(opts.alias), "Links": list(opts.link),
                      "DriverOpts": _pairs(opts.driver_opt, "--driver-opt")}
    if ipam:
        endpoint["IPAMConfig"] = ipam
    return endpoint


@NETWORK.verb("connect", "[OPTIONS] NETWORK CONTAINER", "Connect a container to a network",
              Flag("--alias", default=[], help="Add network-scoped alias for the container"),
              Flag("--driver-opt", default=[], help="driver options for the network"),
              Flag("--gw-priority", default=0, help="Highest gw-priority provides the default gateway"),
              Flag("--ip", default="", help='IPv4 address (e.g., "172.30.100.104")'),
              Flag("--ip6", default="", help='IPv6 address (e.g., "2001:db8::33")'),
              Flag("--link", default=[], help="Add link to another container"),
              Flag("--link-local-ip", default=[], help="Add a link-local address for the container"),
              min_args=2, max_args=2)
def connect(ctx: Context, opts, args) -> int:
    if opts.gw_priority:
        raise CLIError('"--gw-priority" requires API version 1.48, but the pyctrd API version is 1.41')
    ctx.client.connect_network(args[0], {"Container": args[1], "EndpointConfig": _endpoint(opts)})
    return 0


@NETWORK.verb("disconnect", "[OPTIONS] NETWORK CONTAINER", "Disconnect a container from a network",
              Flag("-f", "--force", default=False, help="Force the container to disconnect from a network"),
              min_args=2, max_args=2)
def disconnect(ctx: Context, opts, args) -> int:
    ctx.client.disconnect_network(args[0], {"Container": args[1], "Force": opts.force})
    return 0


NETWORK_WARNING = "WARNING! This will remove all custom networks not used by at least one container."


@NETWORK.verb("prune", "[OPTIONS]", "Remove all unused networks",
              Flag("--filter", default=[], help='Provide filter values (e.g. "until=<timestamp>")'),
              Flag("-f", "--force", default=False, help="Do not prompt for confirmation"))
def prune(ctx: Context, opts, args) -> int:
    from . import prune as pruning

    if not opts.force and not pruning.confirm(ctx, NETWORK_WARNING):
        return 0
    _, text = pruning.networks(ctx, parse_filters(opts.filter))
    if text:
        ctx.out(text + "\n")
    return 0
