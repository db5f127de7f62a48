"""`run`/`create` flags and how they become the create request, as the docker CLI 28
reads them (its cli/command/container/opts.go), for the Engine API v1.41.

`CONTAINER_FLAGS` are `create`'s; `RUN_FLAGS` adds what only makes sense when the
client stays around (-d, --detach-keys, --sig-proxy). `build_spec()` turns parsed
flags into a `RunSpec`: the Config, HostConfig and endpoint settings of POST
/containers/create, plus the client-side options (--cidfile, --pull, ...).

Every flag is applied or refused: a flag whose request field pyctrd does not apply
(engine/api/applied.py says which and why), or that has no field in API v1.41, is a
SpecError naming the flag when it is given a value, never sent to be dropped."""

from __future__ import annotations

import ipaddress
import json
import os
import posixpath
import re
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, Mapping

from pyctr.engine.api.config import (ContainerConfig, DeviceMapping, HealthConfig, HostConfig, LogConfig,
                                     PortBinding, RestartPolicy, ThrottleDevice, Ulimit, WeightDevice)

from .flags import Flag
from .mountflags import MountFlagError, parse_mount, parse_tmpfs
from .sizes import SpecError, parse_memory

_NETWORK_HELP = "Connect a container to a network (bridge, host, none, container:<name|id> or a network's name)"

CONTAINER_FLAGS = [
    Flag("--add-host", default=[], help="Add a custom host-to-IP mapping (host:ip)"),
    Flag("--annotation", default=[], help="Add an annotation to the container (passed through to the OCI runtime)"),
    Flag("-a", "--attach", default=[], help="Attach to STDIN, STDOUT or STDERR"),
    Flag("--blkio-weight", default=0, help="Block IO (relative weight), between 10 and 1000, or 0 to disable"),
    Flag("--blkio-weight-device", default=[], help="Block IO weight (relative device weight)"),
    Flag("--cap-add", default=[], help="Add Linux capabilities"),
    Flag("--cap-drop", default=[], help="Drop Linux capabilities"),
    Flag("--cgroup-parent", default="", help="Optional parent cgroup for the container"),
    Flag("--cgroupns", default="", help="Cgroup namespace to use (host|private)"),
    Flag("--cidfile", default="", help="Write the container ID to the file"),
    Flag("--cpu-count", default=0, help="CPU count (Windows only)"),
    Flag("--cpu-percent", default=0, help="CPU percent (Windows only)"),
    Flag("--cpu-period", default=0, help="Limit CPU CFS (Completely Fair Scheduler) period"),
    Flag("--cpu-quota", default=0, help="Limit CPU CFS (Completely Fair Scheduler) quota"),
    Flag("--cpu-rt-period", default=0, help="Limit CPU real-time period in microseconds"),
    Flag("--cpu-rt-runtime", default=0, help="Limit CPU real-time runtime in microseconds"),
    Flag("-c", "--cpu-shares", default=0, help="CPU shares (relative weight)"),
    Flag("--cpus", default="", help="Number of CPUs"),
    Flag("--cpuset-cpus", "--cpuset", default="", help="CPUs in which to allow execution (0-3, 0,1)"),
    Flag("--cpuset-mems", default="", help="MEMs in which to allow execution (0-3, 0,1)"),
    Flag("--device", default=[], help="Add a host device to the container"),
    Flag("--device-cgroup-rule", default=[], help="Add a rule to the cgroup allowed devices list"),
    Flag("--device-read-bps", default=[], help="Limit read rate (bytes per second) from a device"),
    Flag("--device-read-iops", default=[], help="Limit read rate (IO per second) from a device"),
    Flag("--device-write-bps", default=[], help="Limit write rate (bytes per second) to a device"),
    Flag("--device-write-iops", default=[], help="Limit write rate (IO per second) to a device"),
    Flag("--disable-content-trust", default=True, help="Skip image verification"),
    Flag("--dns", default=[], help="Set custom DNS servers"),
    Flag("--dns-option", "--dns-opt", default=[], help="Set DNS options"),
    Flag("--dns-search", default=[], help="Set custom DNS search domains"),
    Flag("--domainname", default="", help="Container NIS domain name"),
    Flag("--entrypoint", default="", help="Overwrite the default ENTRYPOINT of the image"),
    Flag("-e", "--env", default=[], help="Set environment variables"),
    Flag("--env-file", default=[], help="Read in a file of environment variables"),
    Flag("--expose", default=[], help="Expose a port or a range of ports"),
    Flag("--gpus", default="", help="GPU devices to add to the container ('all' to pass all GPUs)"),
    Flag("--group-add", default=[], help="Add additional groups to join"),
    Flag("--health-cmd", default="", help="Command to run to check health"),
    Flag("--health-interval", default="", help="Time between running the check (ms|s|m|h) (default 0s)"),
    Flag("--health-retries", default=0, help="Consecutive failures needed to report unhealthy"),
    Flag("--health-start-interval", default="", help="Time between running the check during the start period "
                                                     "(ms|s|m|h) (default 0s)"),
    Flag("--health-start-period", default="", help="Start period for the container to initialize before starting "
                                                   "health-retries countdown (ms|s|m|h) (default 0s)"),
    Flag("--health-timeout", default="", help="Maximum time to allow one check to run (ms|s|m|h) (default 0s)"),
    Flag("-h", "--hostname", default="", help="Container host name"),
    Flag("--init", default=None, kind=bool, help="Run an init inside the container that forwards signals and "
                                                 "reaps processes"),
    Flag("-i", "--interactive", default=False, help="Keep STDIN open even if not attached"),
    Flag("--io-maxbandwidth", default="", help="Maximum IO bandwidth limit for the system drive (Windows only)"),
    Flag("--io-maxiops", default=0, help="Maximum IOps limit for the system drive (Windows only)"),
    Flag("--ip", default="", help="IPv4 address (e.g., 172.30.100.104)"),
    Flag("--ip6", default="", help="IPv6 address (e.g., 2001:db8::33)"),
    Flag("--ipc", default="", help="IPC mode to use"),
    Flag("--isolation", default="", help="Container isolation technology"),
    Flag("--kernel-memory", default="", help="Kernel memory limit"),
    Flag("-l", "--label", default=[], help="Set meta data on a container"),
    Flag("--label-file", default=[], help="Read in a line delimited file of labels"),
    Flag("--link", default=[], help="Add link to another container"),
    Flag("--link-local-ip", default=[], help="Container IPv4/IPv6 link-local addresses"),
    Flag("--log-driver", default="", help="Logging driver for the container"),
    Flag("--log-opt", default=[], help="Log driver options"),
    Flag("--mac-address", default="", help="Container MAC address (e.g., 92:d0:c6:0a:29:33)"),
    Flag("-m", "--memory", default="", help="Memory limit"),
    Flag("--memory-reservation", default="", help="Memory soft limit"),
    Flag("--memory-swap", default="", help="Swap limit equal to memory plus swap: '-1' to enable unlimited swap"),
    Flag("--memory-swappiness", default=-1, help="Tune container memory swappiness (0 to 100)"),
    Flag("--mount", default=[], help="Attach a filesystem mount to the container "
         "(type=bind|volume|tmpfs,src=...,dst=...[,readonly][,volume-nocopy][,tmpfs-size=...])"),
    Flag("--name", default="", help="Assign a name to the container"),
    Flag("--network", "--net", default=[], help=_NETWORK_HELP),
    Flag("--network-alias", "--net-alias", default=[], help="Add network-scoped alias for the container"),
    Flag("--no-healthcheck", default=False, help="Disable any container-specified HEALTHCHECK"),
    Flag("--oom-kill-disable", default=False, help="Disable OOM Killer"),
    Flag("--oom-score-adj", default=0, help="Tune host's OOM preferences (-1000 to 1000)"),
    Flag("--pid", default="", help="PID namespace to use"),
    Flag("--pids-limit", default=None, kind=int, help="Tune container pids limit (set -1 for unlimited)"),
    Flag("--platform", default="", help="Set platform if server is multi-platform capable"),
    Flag("--privileged", default=False, help="Give extended privileges to this container"),
    Flag("-p", "--publish", default=[], help="Publish a container's port(s) to the host"),
    Flag("-P", "--publish-all", default=False, help="Publish all exposed ports to random ports"),
    Flag("--pull", default="missing", help='Pull image before running ("always", "missing", "never")'),
    Flag("-q", "--quiet", default=False, help="Suppress the pull output"),
    Flag("--read-only", default=False, help="Mount the container's root filesystem as read only"),
    Flag("--restart", default="no", help="Restart policy to apply when a container exits"),
    Flag("--rm", default=False, help="Automatically remove the container and its associated anonymous volumes "
                                     "when it exits"),
    Flag("--runtime", default="", help="Runtime to use for this container"),
    Flag("--security-opt", default=[], help="Security Options"),
    Flag("--shm-size", default="", help="Size of /dev/shm"),
    Flag("--stop-signal", default="", help="Signal to stop the container"),
    Flag("--stop-timeout", default=None, kind=int, help="Timeout (in seconds) to stop a container"),
    Flag("--storage-opt", default=[], help="Storage driver options for the container"),
    Flag("--sysctl", default=[], help="Sysctl options"),
    Flag("--tmpfs", default=[], help="Mount a tmpfs directory"),
    Flag("-t", "--tty", default=False, help="Allocate a pseudo-TTY"),
    Flag("--ulimit", default=[], help="Ulimit options"),
    Flag("--use-api-socket", default=False, help="Bind mount Docker API socket and required auth"),
    Flag("-u", "--user", default="", help="Username or UID (format: <name|uid>[:<group|gid>])"),
    Flag("--userns", default="", help="User namespace to use"),
    Flag("--uts", default="", help="UTS namespace to use"),
    Flag("-v", "--volume", default=[], help="Bind mount a volume"),
    Flag("--volume-driver", default="", help="Optional volume driver for the container"),
    Flag("--volumes-from", default=[], help="Mount volumes from the specified container(s)"),
    Flag("-w", "--workdir", default="", help="Working directory inside the container"),
]

RUN_FLAGS = CONTAINER_FLAGS + [
    Flag("-d", "--detach", default=False, help="Run container in background and print container ID"),
    Flag("--detach-keys", default="", help="Override the key sequence for detaching a container"),
    Flag("--sig-proxy", default=True, help="Proxy received signals to the process"),
]

# Flags whose request field pyctrd does not apply: (flag dest, field of HostConfig).
# Refused with the reason engine/api/applied.py gives, unless the value asks for what
# every pyctr container already is (that table's `accept`, e.g. `--userns host`).
NOT_APPLIED_FIELDS = {
    "cgroup_parent": "CgroupParent", "cgroupns": "CgroupnsMode", "cpu_count": "CpuCount",
    "cpu_percent": "CpuPercent", "cpu_rt_period": "CpuRealtimePeriod", "cpu_rt_runtime": "CpuRealtimeRuntime",
    "io_maxbandwidth": "IOMaximumBandwidth", "io_maxiops": "IOMaximumIOps", "isolation": "Isolation",
    "kernel_memory": "KernelMemory", "runtime": "Runtime", "storage_opt": "StorageOpt", "userns": "UsernsMode",
    "gpus": "DeviceRequests",
}
# Flags with no field pyctrd serves at all (API v1.41 has none, or it is the client's).
UNSERVED = {
    "annotation": "annotations came with API v1.43; pyctrd serves v1.41",
    "health_start_interval": "the start interval of a health check came with API v1.44; pyctrd serves v1.41",
    "platform": "pyctrd runs the images of its own platform and does not choose between platforms",
    "ip6": "IPv6 addresses on networks are not built",
    "link_local_ip": "link-local addresses on networks are not built",
    "use_api_socket": "mounting the API socket and credentials into a container is not built",
}

# setrlimit's names, as the docker CLI accepts them
ULIMIT_NAMES = {"core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice", "nofile", "nproc",
                "rss", "rtprio", "rttime", "sigpending", "stack"}
_DECIMAL = re.compile(r"^[0-9]*\.?[0-9]+$|^[0-9]+\.$")
_DURATION = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_DURATION_UNITS = {"ns": 1, "us": 1_000, "µs": 1_000, "ms": 1_000_000, "s": 1_000_000_000,
                   "m": 60_000_000_000, "h": 3_600_000_000_000}


@dataclass
class RunSpec:
    config: ContainerConfig
    host_config: HostConfig
    name: str = ""
    cidfile: str = ""
    detach: bool = False
    auto_remove: bool = False
    sig_proxy: bool = True
    # NetworkingConfig.EndpointsConfig: network name -> EndpointSettings (API JSON)
    endpoints: dict[str, dict] = field(default_factory=dict)
    pull: str = "missing"        # missing, always, never
    quiet: bool = False          # no pull progress
    detach_keys: str = ""


def build_spec(opts: SimpleNamespace, args: list[str],
               environ: Mapping[str, str] | None = None) -> RunSpec:
    """Flags + `IMAGE [COMMAND] [ARG...]` -> RunSpec. Raises SpecError."""
    environ = os.environ if environ is None else environ
    _refuse_unserved(opts)
    detach = getattr(opts, "detach", False)
    auto_remove = opts.rm
    if not args:
        raise SpecError("image name is required")
    image, cmd = args[0], (args[1:] or None)
    if opts.pull not in ("missing", "always", "never"):
        raise SpecError(f'invalid pull option: \'{opts.pull}\': must be one of "always", "missing" or "never"')

    attach = {a.lower() for a in opts.attach}
    for stream in attach:
        if stream not in ("stdin", "stdout", "stderr"):
            raise SpecError(f"invalid argument {stream!r} for -a: valid streams are STDIN, STDOUT and STDERR")
    if detach:
        if attach:
            raise SpecError("conflicting options: cannot specify both --attach and --detach")
    elif not attach:
        attach = {"stdout", "stderr"} | ({"stdin"} if opts.interactive else set())

    if opts.workdir and not opts.workdir.startswith("/"):
        raise SpecError(f"the working directory '{opts.workdir}' is invalid, it needs to be an absolute path")

    volumes: dict[str, dict] = {}
    binds: list[str] = []
    for spec in opts.volume:
        volume = validate_volume(spec)
        if ":" in volume:
            binds.append(volume)   # host:container[:mode] is a bind, never an image volume
        else:
            volumes[volume] = {}

    try:
        mounts = [parse_mount(spec) for spec in opts.mount]
        tmpfs = dict(parse_tmpfs(spec) for spec in opts.tmpfs)
    except MountFlagError as exc:
        raise SpecError(f"invalid argument for --mount/--tmpfs: {exc}") from None

    exposed, bindings = parse_port_specs(opts.publish)
    for port in opts.expose:
        if ":" in port:
            raise SpecError(f"invalid port format for --expose: {port}")
        for key in port_range_keys(port):
            exposed.setdefault(key, {})

    # docker's order: the files first, then -e; a name alone takes the client's value
    env = [line for path in opts.env_file for line in read_env_file(path, environ)]
    env += [v if "=" in v or v not in environ else f"{v}={environ[v]}" for v in opts.env]
    labels = labels_of(opts.label_file, opts.label)

    for server in opts.dns:
        try:
            ipaddress.ip_address(server)
        except ValueError:
            raise SpecError(f"{server} is not an ip address") from None

    restart = parse_restart_policy(opts.restart)
    if auto_remove and restart.name not in ("", "no"):
        raise SpecError("conflicting options: cannot specify both --restart and --rm")

    endpoints, network_mode = network_endpoints(opts)
    cap_add, cap_drop = effective_capabilities(opts.cap_add, opts.cap_drop)
    memory = _bytes(opts.memory, "--memory")
    memory_swap = -1 if opts.memory_swap == "-1" else _bytes(opts.memory_swap, "--memory-swap")
    if opts.memory_swappiness != -1 and not 0 <= opts.memory_swappiness <= 100:
        raise SpecError(f"invalid value: {opts.memory_swappiness}. Valid memory swappiness range is 0-100")
    if opts.mac_address:
        _check_mac(opts.mac_address)

    config = ContainerConfig(
        image=image,
        cmd=cmd,
        entrypoint=[opts.entrypoint] if opts.entrypoint else None,
        hostname=opts.hostname,
        domainname=opts.domainname,
        user=opts.user,
        attach_stdin="stdin" in attach,
        attach_stdout="stdout" in attach,
        attach_stderr="stderr" in attach,
        exposed_ports=exposed or None,
        tty=opts.tty,
        open_stdin=opts.interactive,
        # stdin attached to an open stdin: close it when this client goes away
        stdin_once=opts.interactive and "stdin" in attach,
        env=env or None,
        volumes=volumes,
        working_dir=opts.workdir,
        labels=labels,
        stop_signal=opts.stop_signal,
        stop_timeout=opts.stop_timeout,
        healthcheck=health_config(opts),
        mac_address=opts.mac_address,
    )
    host_config = HostConfig(
        binds=binds or None,
        container_id_file=opts.cidfile,
        privileged=opts.privileged,
        port_bindings=bindings,
        links=[parse_link(link) for link in opts.link] or None,
        publish_all_ports=opts.publish_all,
        dns=list(opts.dns),
        dns_search=list(opts.dns_search),
        dns_options=list(opts.dns_option),
        volumes_from=list(opts.volumes_from) or None,
        devices=[parse_device(d) for d in opts.device],
        device_cgroup_rules=list(opts.device_cgroup_rule) or None,
        network_mode=network_mode,
        cap_add=cap_add,
        cap_drop=cap_drop,
        restart_policy=restart,
        auto_remove=auto_remove,
        log_config=LogConfig(opts.log_driver, _key_values(opts.log_opt, "log-opt")),
        memory=memory,
        memory_swap=memory_swap,
        memory_reservation=_bytes(opts.memory_reservation, "--memory-reservation"),
        memory_swappiness=opts.memory_swappiness,
        oom_kill_disable=opts.oom_kill_disable,
        oom_score_adj=opts.oom_score_adj,
        cpu_shares=opts.cpu_shares,
        cpuset_cpus=opts.cpuset_cpus,
        cpuset_mems=opts.cpuset_mems,
        cpu_period=opts.cpu_period,
        cpu_quota=opts.cpu_quota,
        nano_cpus=parse_cpus(opts.cpus),
        blkio_weight=opts.blkio_weight,
        blkio_weight_device=[_weight_device(v) for v in opts.blkio_weight_device],
        blkio_device_read_bps=[_throttle(v, "--device-read-bps", True) for v in opts.device_read_bps],
        blkio_device_write_bps=[_throttle(v, "--device-write-bps", True) for v in opts.device_write_bps],
        blkio_device_read_iops=[_throttle(v, "--device-read-iops", False) for v in opts.device_read_iops],
        blkio_device_write_iops=[_throttle(v, "--device-write-iops", False) for v in opts.device_write_iops],
        pids_limit=opts.pids_limit or 0,
        ulimits=[parse_ulimit(v) for v in opts.ulimit],
        readonly_rootfs=opts.read_only,
        security_opt=parse_security_opts(opts.security_opt) or None,
        extra_hosts=[parse_extra_host(v) for v in opts.add_host] or None,
        group_add=list(opts.group_add) or None,
        pid_mode=opts.pid,
        ipc_mode=opts.ipc,
        uts_mode=opts.uts,
        userns_mode=opts.userns,
        shm_size=_bytes(opts.shm_size, "--shm-size"),
        sysctls=_key_values(opts.sysctl, "sysctl", what="sysctl") or None,
        volume_driver=opts.volume_driver,
        mounts=mounts or None,
        tmpfs=tmpfs or None,
        init=opts.init,
        console_size=[0, 0],
    )
    return RunSpec(config, host_config, name=opts.name, cidfile=opts.cidfile, detach=detach,
                   auto_remove=auto_remove, sig_proxy=getattr(opts, "sig_proxy", True), endpoints=endpoints,
                   pull=opts.pull, quiet=opts.quiet, detach_keys=getattr(opts, "detach_keys", ""))


def flag_name(dest: str) -> str:
    return "--" + dest.replace("_", "-")


def _refuse_unserved(opts: SimpleNamespace) -> None:
    """A SpecError for the first flag given a value pyctrd would not apply."""
    from pyctr.engine.api.applied import HOST_CONFIG, NotApplied

    for dest, why in UNSERVED.items():
        if getattr(opts, dest):
            raise SpecError(f"{flag_name(dest)} is not supported by pyctrd: {why}")
    if not opts.disable_content_trust:
        raise SpecError("--disable-content-trust=false is not supported by pyctrd: image signatures "
                        "(content trust) are not verified")
    for dest, key in NOT_APPLIED_FIELDS.items():
        value, rule = getattr(opts, dest), HOST_CONFIG[key]
        if value and isinstance(rule, NotApplied) and value not in rule.accept:
            raise SpecError(f"{flag_name(dest)} is not supported by pyctrd: {rule.why}")


def _bytes(text: str, flag: str) -> int:
    if not text:
        return 0
    try:
        return parse_memory(text)
    except SpecError:
        raise SpecError(f'invalid argument "{text}" for "{flag}" flag: invalid size: \'{text}\'') from None


def parse_cpus(text: str) -> int:
    """--cpus 1.5 -> NanoCpus, exactly (a decimal, not a float)."""
    if not text:
        return 0
    if not _DECIMAL.match(text):
        raise SpecError(f'invalid argument "{text}" for "--cpus" flag: failed to parse {text} as a rational number')
    from fractions import Fraction   # exact decimals; only when asked (it costs start-up)

    return int(Fraction(text) * 1_000_000_000)


def parse_duration(text: str, flag: str) -> int:
    """Go's time.ParseDuration ("1m30s", "500ms") -> nanoseconds."""
    if not text:
        return 0
    from fractions import Fraction

    sign, body = (-1, text[1:]) if text.startswith("-") else (1, text.lstrip("+"))
    if body == "0":
        return 0
    pos, total = 0, Fraction(0)
    for match in _DURATION.finditer(body):
        if match.start() != pos:
            break
        total += Fraction(match.group(1)) * _DURATION_UNITS[match.group(2)]
        pos = match.end()
    if pos != len(body) or pos == 0:
        raise SpecError(f'invalid argument "{text}" for "{flag}" flag: time: invalid duration "{text}"')
    return sign * int(total)


def health_config(opts: SimpleNamespace) -> HealthConfig | None:
    durations = {name: parse_duration(getattr(opts, name.replace("-", "_")), "--" + name)
                 for name in ("health-interval", "health-timeout", "health-start-period")}
    given = bool(opts.health_cmd) or any(durations.values()) or opts.health_retries != 0
    if opts.no_healthcheck:
        if given:
            raise SpecError("--no-healthcheck conflicts with --health-* options")
        return HealthConfig(test=["NONE"])
    if not given:
        return None
    for name, value in durations.items():
        if value < 0:
            raise SpecError(f"--{name} cannot be negative")
    if opts.health_retries < 0:
        raise SpecError("--health-retries cannot be negative")
    # docker leaves the zero ones out (omitempty): the image's values then apply
    return HealthConfig(test=["CMD-SHELL", opts.health_cmd] if opts.health_cmd else None,
                        interval=durations["health-interval"] or None,
                        timeout=durations["health-timeout"] or None,
                        start_period=durations["health-start-period"] or None,
                        retries=opts.health_retries or None)


def network_endpoints(opts: SimpleNamespace) -> tuple[dict[str, dict], str]:
    """(NetworkingConfig.EndpointsConfig, HostConfig.NetworkMode) as docker 28 builds them:
    --network-alias, --ip and (on a user-defined network) --link go on the first network."""
    networks = list(opts.network)
    if len(networks) > 1:
        raise SpecError("--network more than once is not supported by pyctrd: connecting a container to "
                        "several networks at create came with API v1.44, pyctrd serves v1.41 (use "
                        "`pyctr network connect`)")
    target = networks[0] if networks else "default"
    if not target.strip():
        raise SpecError("no name set for network")
    mode, _, rest = target.partition(":")
    if mode == "container" and not rest:
        raise SpecError("invalid container format container:<name|id>")
    user_defined = target not in ("default", "bridge", "host", "none") and mode != "container"
    if not user_defined:
        if opts.network_alias:
            raise SpecError("network-scoped aliases are only supported for user-defined networks")
    endpoint: dict[str, Any] = {"IPAMConfig": None, "Links": None, "Aliases": list(opts.network_alias) or None,
                                "MacAddress": ""}
    if user_defined and opts.link:
        endpoint["Links"] = [parse_link(link) for link in opts.link]
    if opts.ip:
        try:
            ipaddress.IPv4Address(opts.ip)
        except ValueError:
            raise SpecError(f'invalid argument "{opts.ip}" for "--ip" flag: invalid string being converted '
                            f'to IP address: {opts.ip}') from None
        endpoint["IPAMConfig"] = {"IPv4Address": opts.ip}
    if mode == "container":
        return {}, target   # the container's network stack is another's: no endpoint of its own
    return {target: endpoint}, target


def effective_capabilities(add: list[str], drop: list[str]) -> tuple[list[str] | None, list[str] | None]:
    """docker's normalisation: upper case, CAP_ prefixed, sorted, each once; ALL alone."""
    def normal(names: list[str]) -> list[str]:
        caps = {name.strip().upper() for name in names}
        caps = {c if c == "ALL" or c.startswith("CAP_") else "CAP_" + c for c in caps}
        return sorted(caps)

    return normal(add) or None, normal(drop) or None


def labels_of(files: list[str], labels: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in [line for path in files for line in _read_lines(path)] + list(labels):
        name, _, value = line.partition("=")
        if not name:
            raise SpecError(f"invalid label '{line}': empty name")
        out[name] = value
    return out


def _read_lines(path: str) -> list[str]:
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except OSError as exc:
        raise SpecError(f"open {path}: {exc.strerror.lower() if exc.strerror else exc}") from None
    return [line for line in (raw.lstrip() for raw in lines) if line and not line.startswith("#")]


def read_env_file(path: str, environ: Mapping[str, str]) -> list[str]:
    """An --env-file: NAME=value lines; a NAME alone takes the client's value, or is left
    out when the client has none (docker 28)."""
    out = []
    for line in _read_lines(path):
        name, sep, value = line.partition("=")
        if any(c.isspace() for c in name):
            raise SpecError(f"variable '{name}' contains whitespaces")
        if sep:
            out.append(f"{name}={value}")
        elif name in environ:
            out.append(f"{name}={environ[name]}")
    return out


def _key_values(items: list[str], flag: str, what: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if what and not sep:
            raise SpecError(f'invalid argument "{item}" for "--{flag}" flag: {what} \'{item}\' is not allowed')
        out[key] = value
    return out


def parse_ulimit(text: str) -> Ulimit:
    name, sep, limits = text.partition("=")
    if not sep:
        raise SpecError(f'invalid argument "{text}" for "--ulimit" flag: invalid ulimit argument: {text}')
    if name not in ULIMIT_NAMES:
        raise SpecError(f'invalid argument "{text}" for "--ulimit" flag: invalid ulimit type: {name}')
    soft_text, _, hard_text = limits.partition(":")
    try:
        soft = int(soft_text)
        hard = int(hard_text) if hard_text else soft
    except ValueError:
        raise SpecError(f'invalid argument "{text}" for "--ulimit" flag: invalid ulimit value') from None
    if soft > hard:
        raise SpecError(f'invalid argument "{text}" for "--ulimit" flag: ulimit soft limit must be less '
                        f'than or equal to hard limit: {soft} > {hard}')
    return Ulimit(name, soft, hard)


def parse_extra_host(text: str) -> str:
    """host:ip or host=ip (docker 28), sent as host:ip; the address is checked."""
    if "=" in text:
        host, _, address = text.partition("=")
    else:
        host, _, address = text.partition(":")
    if not host or not address:
        raise SpecError(f'invalid argument "{text}" for "--add-host" flag: bad format for add-host: "{text}"')
    if address != "host-gateway":
        try:
            ipaddress.ip_address(address.strip("[]"))
        except ValueError:
            raise SpecError(f'invalid argument "{text}" for "--add-host" flag: invalid IP address in '
                            f'add-host: "{address}"') from None
    return f"{host}:{address}"


def parse_security_opts(items: list[str]) -> list[str]:
    """As docker: `seccomp=FILE` sends the profile itself (compacted JSON)."""
    out = []
    for opt in items:
        key, sep, value = opt.partition("=")
        if not sep and opt != "no-new-privileges":
            key, sep, value = opt.partition(":")
            if not sep:
                raise SpecError(f'Invalid --security-opt: "{opt}"')
        if key == "seccomp" and value not in ("unconfined", "builtin"):
            try:
                with open(value, encoding="utf-8") as f:
                    profile = json.load(f)
            except OSError as exc:
                raise SpecError(f"opening seccomp profile ({value}) failed: {exc.strerror or exc}") from None
            except ValueError as exc:
                raise SpecError(f"compacting json for seccomp profile ({value}) failed: {exc}") from None
            opt = "seccomp=" + json.dumps(profile, separators=(",", ":"))
        out.append(opt)
    return out


def _check_mac(text: str) -> None:
    if not re.fullmatch(r"[0-9A-Fa-f]{2}([:-])[0-9A-Fa-f]{2}(\1[0-9A-Fa-f]{2}){4}", text):
        raise SpecError(f"{text} is not a valid mac address")


def _device_rate(text: str, flag: str) -> tuple[str, str]:
    path, sep, rate = text.rpartition(":")
    if not sep or not path.startswith("/dev/"):
        raise SpecError(f'invalid argument "{text}" for "{flag}" flag: bad format: {text}')
    return path, rate


def _weight_device(text: str) -> WeightDevice:
    path, weight = _device_rate(text, "--blkio-weight-device")
    if not weight.isdigit() or not (10 <= int(weight) <= 1000 or int(weight) == 0):
        raise SpecError(f'invalid argument "{text}" for "--blkio-weight-device" flag: invalid weight for device: '
                        f'{text}')
    return WeightDevice(path, int(weight))


def _throttle(text: str, flag: str, in_bytes: bool) -> ThrottleDevice:
    path, rate = _device_rate(text, flag)
    try:
        value = parse_memory(rate) if in_bytes else int(rate)
    except (SpecError, ValueError):
        raise SpecError(f'invalid argument "{text}" for "{flag}" flag: invalid rate for device: {text}. '
                        f'The correct format is <device-path>:<number>[<unit>]') from None
    return ThrottleDevice(path, value)


# What `-v` may say after the paths (how the words combine is the daemon's to judge).
VOLUME_MODE_WORDS = {"ro", "rw", "z", "Z", "nocopy", "private", "rprivate", "shared", "rshared",
                     "slave", "rslave"}


def validate_volume(spec: str) -> str:
    if spec.count(":") > 2:
        raise SpecError(f"invalid volume specification: '{spec}'")
    host, sep, container = spec.partition(":")
    if not sep:
        container, value = host, posixpath.normpath(host) if host.startswith("/") else host
    else:
        path, _, mode = container.partition(":")
        if mode and not set(mode.split(",")) <= VOLUME_MODE_WORDS:
            raise SpecError(f"invalid mode: {mode}")
        value = f"{host}:{posixpath.normpath(path)}" + (f":{mode}" if mode else "")
    if not container.startswith("/"):
        raise SpecError(f"invalid volume specification: '{spec}': the container path must be absolute")
    if container.split(":")[0] == "/":
        raise SpecError(f"invalid volume specification: '{spec}': destination can't be '/'")
    return value


def _port_range(text: str, what: str) -> list[int]:
    start, sep, end = text.partition("-")
    if not start.isdigit() or (sep and not end.isdigit()):
        raise SpecError(f"invalid {what}: {text}")
    first, last = int(start), int(end) if sep else int(start)
    if last < first or last > 65535:
        raise SpecError(f"invalid {what}: {text}")
    return list(range(first, last + 1))


def port_range_keys(spec: str) -> list[str]:
    """`--expose 1000-1002/udp` -> its ExposedPorts keys."""
    port, _, proto = spec.partition("/")
    return [f"{n}/{proto or 'tcp'}" for n in _port_range(port, "range format for --expose")]


def parse_port_specs(specs: list[str]) -> tuple[dict[str, dict], dict[str, list[PortBinding]]]:
    """`-p` values -> (ExposedPorts, PortBindings), as docker's nat.ParsePortSpecs.

    Forms: containerPort, hostPort:containerPort, ip::containerPort,
    ip:hostPort:containerPort, each with an optional /tcp or /udp; ports may be ranges."""
    exposed: dict[str, dict] = {}
    bindings: dict[str, list[PortBinding]] = {}
    for raw in specs:
        spec, proto = raw, "tcp"
        if "/" in spec:
            spec, proto = spec.rsplit("/", 1)
        parts = spec.split(":")
        if len(parts) == 1:
            parts = ["", ""] + parts
        elif len(parts) == 2:
            parts = [""] + parts
        if len(parts) != 3:
            raise SpecError(f"invalid format to parse. {spec} should match template ip:hostPort:containerPort")
        ip, host_port, container_port = parts
        if ip:
            try:
                ipaddress.ip_address(ip.strip("[]"))
            except ValueError:
                raise SpecError(f"invalid IP address: {ip}") from None
        if not container_port:
            raise SpecError(f"no port specified: {spec}<empty>")
        container_ports = _port_range(container_port, "containerPort")
        host_ports = _port_range(host_port, "hostPort") if host_port else []
        if proto not in ("tcp", "udp", "sctp"):
            raise SpecError(f"invalid proto: {proto}")
        if host_ports and len(host_ports) != len(container_ports) and len(host_ports) > 1:
            raise SpecError(f"invalid ranges specified for container and host Ports: {container_port} and "
                            f"{host_port}")
        for i, port in enumerate(container_ports):
            key = f"{port}/{proto}"
            if not host_ports:
                host = ""
            elif len(host_ports) == len(container_ports):
                host = str(host_ports[i])
            else:
                host = host_port   # one container port on a host range: the daemon picks in it
            exposed.setdefault(key, {})
            bindings.setdefault(key, []).append(PortBinding(ip.strip("[]") if ip else "", host))
    return exposed, bindings


def parse_restart_policy(text: str) -> RestartPolicy:
    """docker 28's ParseRestartPolicy; which names are valid is the daemon's to say."""
    if not text:
        return RestartPolicy()
    name, sep, count = text.partition(":")
    if sep and count:
        if not count.lstrip("-").isdigit():
            raise SpecError("invalid restart policy format: maximum retry count must be an integer")
        return RestartPolicy(name, int(count))
    return RestartPolicy(name)


def parse_link(text: str) -> str:
    parts = text.split(":")
    if not text or len(parts) > 2 or not all(parts):
        raise SpecError(f"invalid argument \"{text}\" for \"--link\" flag: bad format for links: {text}")
    # `--link db` means `--link db:db`; spell it out so the daemon sees one form
    return text if len(parts) == 2 else f"{text}:{text}"


def _device_mode(text: str) -> bool:
    return bool(text) and len(text) <= 3 and set(text) <= set("rwm") and len(set(text)) == len(text)


def parse_device(text: str) -> DeviceMapping:
    """docker's parseLinuxDevice: src[:dst][:perms], or src:perms."""
    parts = text.split(":")
    if len(parts) > 3 or not parts[0]:
        raise SpecError(f"invalid device specification: {text}")
    if "=" in parts[0]:
        raise SpecError(f"--device {text} is not supported by pyctrd: CDI devices need a device plugin "
                        "pyctrd does not have")
    host, container, perms = parts[0], parts[0], "rwm"
    if len(parts) == 3:
        container, perms = parts[1], parts[2]
    elif len(parts) == 2:
        if _device_mode(parts[1]):
            perms = parts[1]
        else:
            container = parts[1]
    if not _device_mode(perms):
        raise SpecError(f"invalid device mode: {perms}")
    if not container.startswith("/"):
        raise SpecError(f"{container} is not an absolute path")
    return DeviceMapping(host, container, perms)
