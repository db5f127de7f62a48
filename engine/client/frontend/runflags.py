"""`run`/`create` flags and how they become the create request (Docker 1.2's runconfig.Parse).

`CONTAINER_FLAGS` is shared by `create` and `run`; `RUN_FLAGS` adds what only
makes sense when the client stays around (-d, --rm, --sig-proxy).
`build_spec()` turns parsed flags into a `RunSpec`: the Config and HostConfig
records that go into POST /containers/create, plus the client-side options."""

from __future__ import annotations

import ipaddress
import os
import posixpath
import re
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Mapping

from pyctr.engine.api.config import (ContainerConfig, DeviceMapping, HostConfig, PortBinding,
                                     RestartPolicy)

from .flags import Flag


class SpecError(ValueError):
    """Invalid run/create flags; the message is Docker's wording."""


CONTAINER_FLAGS = [
    Flag("-a", "--attach", default=[], help="Attach to STDIN, STDOUT or STDERR."),
    Flag("-c", "--cpu-shares", default=0, help="CPU shares (relative weight)"),
    Flag("--cap-add", default=[], help="Add Linux capabilities"),
    Flag("--cap-drop", default=[], help="Drop Linux capabilities"),
    Flag("--cidfile", default="", help="Write the container ID to the file"),
    Flag("--cpuset", default="", help="CPUs in which to allow execution (0-3, 0,1)"),
    Flag("--device", default=[], help="Add a host device to the container (e.g. --device=/dev/sdc:/dev/xvdc)"),
    Flag("--dns", default=[], help="Set custom DNS servers"),
    Flag("--dns-search", default=[], help="Set custom DNS search domains"),
    Flag("-e", "--env", default=[], help="Set environment variables"),
    Flag("--entrypoint", default="", help="Overwrite the default ENTRYPOINT of the image"),
    Flag("--env-file", default=[], help="Read in a line delimited file of environment variables"),
    Flag("--expose", default=[], help="Expose a port from the container without publishing it to your host"),
    Flag("-h", "--hostname", default="", help="Container host name"),
    Flag("-i", "--interactive", default=False, help="Keep STDIN open even if not attached"),
    Flag("--link", default=[], help="Add link to another container in the form of name:alias"),
    Flag("-m", "--memory", default="", help="Memory limit (format: <number><optional unit>, where unit = b, k, m or g)"),
    Flag("--memory-swap", default="", help="Total memory (memory + swap), '-1' to disable swap limits (format as -m)"),
    Flag("--name", default="", help="Assign a name to the container"),
    Flag("--net", default="bridge", help=(
        "Set the Network mode for the container\n"
        "  'bridge': creates a new network stack for the container on the docker bridge\n"
        "  'none': no networking for this container\n"
        "  'container:<name|id>': reuses another container network stack\n"
        "  'host': use the host network stack inside the container.")),
    Flag("-P", "--publish-all", default=False, help="Publish all exposed ports to the host interfaces"),
    Flag("-p", "--publish", default=[], help=(
        "Publish a container's port to the host\n"
        "  format: ip:hostPort:containerPort | ip::containerPort | hostPort:containerPort\n"
        "  (use 'pyctr port' to see the actual mapping)")),
    Flag("--pids-limit", default=0, help="Tune container pids limit (0 or -1 for unlimited)"),
    Flag("--privileged", default=False, help="Give extended privileges to this container"),
    Flag("--restart", default="", help="Restart policy to apply when a container exits (no, on-failure[:max-retry], always)"),
    Flag("-t", "--tty", default=False, help="Allocate a pseudo-TTY"),
    Flag("-u", "--user", default="", help="Username or UID"),
    Flag("-v", "--volume", default=[], help="Bind mount a volume (e.g., from the host: -v /host:/container, from the container: -v /container)"),
    Flag("--volumes-from", default=[], help="Mount volumes from the specified container(s)"),
    Flag("-w", "--workdir", default="", help="Working directory inside the container"),
]

RUN_FLAGS = CONTAINER_FLAGS + [
    Flag("-d", "--detach", default=False, help="Detached mode: run the container in the background and print the new container ID"),
    Flag("--rm", default=False, help="Automatically remove the container when it exits (incompatible with -d)"),
    Flag("--sig-proxy", default=True, help="Proxy received signals to the process (even in non-TTY mode). SIGCHLD, SIGSTOP, and SIGKILL are not proxied."),
]


@dataclass
class RunSpec:
    config: ContainerConfig
    host_config: HostConfig
    name: str = ""
    cidfile: str = ""
    detach: bool = False
    auto_remove: bool = False
    sig_proxy: bool = True


def build_spec(opts: SimpleNamespace, args: list[str],
               environ: Mapping[str, str] | None = None) -> RunSpec:
    """Flags + `IMAGE [COMMAND] [ARG...]` -> RunSpec. Raises SpecError."""
    environ = os.environ if environ is None else environ
    detach = getattr(opts, "detach", False)
    auto_remove = getattr(opts, "rm", False)
    if not args:
        raise SpecError("image name is required")
    image, cmd = args[0], (args[1:] or None)

    attach = {a.lower() for a in opts.attach}
    for stream in attach:
        if stream not in ("stdin", "stdout", "stderr"):
            raise SpecError(f"Invalid argument {stream!r} for -a: valid streams are STDIN, STDOUT and STDERR")
    if detach:
        if attach:
            raise SpecError("Conflicting options: -a and -d")
        if auto_remove:
            raise SpecError("Conflicting options: --rm and -d")
    elif not attach:
        attach = {"stdout", "stderr"} | ({"stdin"} if opts.interactive else set())

    if opts.workdir and not opts.workdir.startswith("/"):
        raise SpecError(f"The working directory '{opts.workdir}' is invalid. It needs to be an absolute path.")

    memory = parse_memory(opts.memory) if opts.memory else 0
    memory_swap = -1 if opts.memory_swap == "-1" else parse_memory(opts.memory_swap) if opts.memory_swap else 0

    hostname, domainname = opts.hostname, ""
    if "." in hostname:
        hostname, domainname = hostname.split(".", 1)

    volumes: dict[str, dict] = {}
    binds: list[str] = []
    for spec in opts.volume:
        volume = validate_volume(spec)
        parts = volume.split(":")
        if len(parts) > 1:
            if parts[1] == "/":
                raise SpecError("Invalid bind mount: destination can't be '/'")
            # host:container[:ro|rw] is a bind; it must not become an image volume
            binds.append(volume)
        else:
            if volume == "/":
                raise SpecError("Invalid volume: path can't be '/'")
            volumes[volume] = {}

    exposed, bindings = parse_port_specs(opts.publish)
    for port in opts.expose:
        if ":" in port:
            raise SpecError(f"Invalid port format for --expose: {port}")
        exposed.setdefault(port_key(port), {})

    env: list[str] = []
    for path in opts.env_file:
        env.extend(parse_env_file(path, environ))
    env.extend(v if "=" in v else f"{v}={environ.get(v, '')}" for v in opts.env)

    for server in opts.dns:
        try:
            ipaddress.ip_address(server)
        except ValueError:
            raise SpecError(f"{server} is not an ip address") from None

    restart = parse_restart_policy(opts.restart)
    if auto_remove and restart.name in ("always", "on-failure"):
        raise SpecError("Conflicting options: --restart and --rm")

    config = ContainerConfig(
        image=image,
        cmd=cmd,
        entrypoint=[opts.entrypoint] if opts.entrypoint else None,
        hostname=hostname,
        domainname=domainname,
        user=opts.user,
        memory=memory,
        memory_swap=memory_swap,
        cpu_shares=opts.cpu_shares,
        cpuset=opts.cpuset,
        attach_stdin="stdin" in attach,
        attach_stdout="stdout" in attach,
        attach_stderr="stderr" in attach,
        exposed_ports=exposed,
        tty=opts.tty,
        open_stdin=opts.interactive,
        # stdin attached to an open stdin: close it when this client goes away
        stdin_once=opts.interactive and "stdin" in attach,
        env=env,
        volumes=volumes,
        working_dir=opts.workdir,
    )
    host_config = HostConfig(
        binds=binds or None,
        container_id_file=opts.cidfile,
        privileged=opts.privileged,
        port_bindings=bindings,
        links=[parse_link(link) for link in opts.link] or None,
        publish_all_ports=opts.publish_all,
        dns=list(opts.dns) or None,
        dns_search=list(opts.dns_search) or None,
        volumes_from=list(opts.volumes_from) or None,
        devices=[parse_device(d) for d in opts.device],
        network_mode=parse_net_mode(opts.net),
        cap_add=list(opts.cap_add) or None,
        cap_drop=list(opts.cap_drop) or None,
        restart_policy=restart,
        pids_limit=opts.pids_limit,
    )
    return RunSpec(config, host_config, name=opts.name, cidfile=opts.cidfile, detach=detach,
                   auto_remove=auto_remove, sig_proxy=getattr(opts, "sig_proxy", True))


_MEMORY = re.compile(r"^(\d+)([kKmMgGtT])?[bB]?$")


def parse_memory(text: str) -> int:
    """Docker's RAMInBytes: `512m`, `1g`, `1024k`, `100` (binary units, b optional)."""
    m = _MEMORY.match(text)
    if not m:
        raise SpecError(f"Invalid size: '{text}'")
    unit = (m.group(2) or "").lower()
    return int(m.group(1)) * {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}[unit]


def validate_volume(spec: str) -> str:
    if spec.count(":") > 2:
        raise SpecError(f"bad format for volumes: {spec}")
    host, sep, container = spec.partition(":")
    if not sep:
        container, value = host, posixpath.normpath(host)
    else:
        path, _, mode = container.partition(":")
        if mode and mode not in ("ro", "rw"):
            raise SpecError(f"bad mode specified: {mode}")
        value = f"{host}:{posixpath.normpath(path)}" + (f":{mode}" if mode else "")
    if not container.startswith("/"):
        raise SpecError(f"{container.split(':')[0]} is not an absolute path")
    return value


def port_key(spec: str) -> str:
    port, _, proto = spec.partition("/")
    return f"{port}/{proto or 'tcp'}"


def parse_port_specs(specs: list[str]) -> tuple[dict[str, dict], dict[str, list[PortBinding]]]:
    """`-p` values -> (ExposedPorts, PortBindings), as Docker's nat.ParsePortSpecs.

    Forms: containerPort, hostPort:containerPort, ip::containerPort,
    ip:hostPort:containerPort, each with an optional /tcp or /udp."""
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
            raise SpecError(f"Invalid format to parse.  {spec} should match template ip:hostPort:containerPort")
        ip, host_port, container_port = parts
        if ip:
            try:
                ipaddress.ip_address(ip)
            except ValueError:
                raise SpecError(f"Invalid ip address: {ip}") from None
        if not container_port:
            raise SpecError(f"No port specified: {spec}<empty>")
        if not container_port.isdigit() or int(container_port) > 65535:
            raise SpecError(f"Invalid containerPort: {container_port}")
        if host_port and (not host_port.isdigit() or int(host_port) > 65535):
            raise SpecError(f"Invalid hostPort: {host_port}")
        if proto not in ("tcp", "udp"):
            raise SpecError(f"Invalid proto: {proto}")
        key = f"{container_port}/{proto}"
        exposed.setdefault(key, {})
        bindings.setdefault(key, []).append(PortBinding(ip, host_port))
    return exposed, bindings


def parse_env_file(path: str, environ: Mapping[str, str]) -> list[str]:
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().splitlines()
    except OSError as exc:
        raise SpecError(f"open {path}: {exc.strerror.lower() if exc.strerror else exc}") from None
    out = []
    for line in lines:
        if not line or line.startswith("#"):
            continue
        if "=" in line:
            name, value = line.split("=", 1)
            name = name.lstrip()
            if any(c.isspace() for c in name):
                raise SpecError(f"poorly formatted environment: variable '{name}' has white spaces")
            out.append(f"{name}={value}")
        else:
            name = line.strip()
            out.append(f"{name}={environ.get(name, '')}")
    return out


def parse_restart_policy(text: str) -> RestartPolicy:
    if not text:
        return RestartPolicy()
    name, sep, count = text.partition(":")
    if name == "always":
        if sep:
            raise SpecError('maximum restart count not valid with restart policy of "always"')
        return RestartPolicy("always")
    if name == "no":
        return RestartPolicy()
    if name == "on-failure":
        if sep:
            if not count.isdigit():
                raise SpecError(f'strconv.ParseInt: parsing "{count}": invalid syntax')
            return RestartPolicy("on-failure", int(count))
        return RestartPolicy("on-failure")
    raise SpecError(f"invalid restart policy {name}")


def parse_link(text: str) -> str:
    parts = text.split(":")
    if not text or len(parts) > 2 or not all(parts):
        raise SpecError(f"bad format for links: {text}")
    # `--link db` means `--link db:db`; spell it out so the daemon sees one form
    return text if len(parts) == 2 else f"{text}:{text}"


def parse_device(text: str) -> DeviceMapping:
    parts = text.split(":")
    if len(parts) > 3 or not parts[0]:
        raise SpecError(f"Invalid device specification: {text}")
    host = parts[0]
    container = parts[1] if len(parts) > 1 and parts[1] else host
    perms = parts[2] if len(parts) > 2 else "rwm"
    return DeviceMapping(host, container, perms)


def parse_net_mode(text: str) -> str:
    mode, _, rest = text.partition(":")
    if mode in ("bridge", "none", "host"):
        return text
    if mode == "container":
        if not rest:
            raise SpecError("invalid container format container:<name|id>")
        return text
    raise SpecError(f"invalid --net: {text}")
