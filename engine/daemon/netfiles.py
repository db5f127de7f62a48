"""The container's /etc/hostname, /etc/hosts and /etc/resolv.conf, written by the
daemon into the container's directory and bind-mounted (writable, as in 1.2)."""

from __future__ import annotations

import re

from .container import Container

DEFAULT_DNS = ("8.8.8.8", "8.8.4.4")
_LOCAL_NAMESERVER = re.compile(r"^\s*nameserver\s+(127\.\S*|::1)\s*$", re.M)


def resolv_conf(host_text: str, dns: list[str], dns_search: list[str], host_network: bool) -> str:
    """From the host's resolv.conf: loopback nameservers are unreachable from a
    container's own network namespace, so they are dropped (Docker's rule)."""
    if not dns and not dns_search:
        if host_network:
            return host_text
        text = _LOCAL_NAMESERVER.sub("", host_text)
        if not re.search(r"^\s*nameserver\s", text, re.M):
            text = text.rstrip("\n") + "\n" + "".join(f"nameserver {ip}\n" for ip in DEFAULT_DNS)
        return text.lstrip("\n")
    lines = []
    if dns_search:
        lines.append("search " + " ".join(dns_search))
    for ip in dns or []:
        lines.append(f"nameserver {ip}")
    if not dns:  # only --dns-search given: keep the host's nameservers
        lines += [l for l in host_text.splitlines() if l.strip().startswith("nameserver")
                  and (host_network or not _LOCAL_NAMESERVER.match(l))] or \
                 [f"nameserver {ip}" for ip in DEFAULT_DNS]
    return "\n".join(lines) + "\n"


def hosts(hostname: str, ip: str, extra: list[tuple[str, str]]) -> str:
    lines = [
        f"{ip}\t{hostname}" if ip else "",
        "127.0.0.1\tlocalhost",
        "::1\tlocalhost ip6-localhost ip6-loopback",
        "fe00::0\tip6-localnet",
        "ff00::0\tip6-mcastprefix",
        "ff02::1\tip6-allnodes",
        "ff02::2\tip6-allrouters",
    ]
    lines += [f"{addr}\t{name}" for addr, name in extra]
    return "\n".join(l for l in lines if l) + "\n"


def embedded_resolv_conf(host_text: str, dns_search: list[str]) -> str:
    """A container on a user-defined network asks the daemon's DNS server at 127.0.0.11,
    which forwards what is not a container's name to its --dns (Docker's resolv.conf)."""
    search = ["search " + " ".join(dns_search)] if dns_search else \
        [l.strip() for l in host_text.splitlines() if l.strip().startswith(("search ", "domain "))][:1]
    return "\n".join(["nameserver 127.0.0.11", *search, "options ndots:0"]) + "\n"


def switch_to_embedded_dns(container: Container, dns_search: list[str]) -> None:
    """A running container connected to its first user-defined network: its resolv.conf
    (bind-mounted, so rewritten in place) names the embedded server from now on."""
    record = container.record
    try:
        with open("/etc/resolv.conf") as f:
            host_text = f.read()
    except OSError:
        host_text = ""
    with open(record.resolv_conf_path, "r+") as f:
        f.truncate(0)
        f.write(embedded_resolv_conf(host_text, record.host_config.dns_search or dns_search))


def write(container: Container, dns: list[str], dns_search: list[str], ip: str = "",
          links: list[tuple[str, str]] | None = None, embedded_dns: bool = False) -> None:
    record = container.record
    config, host = record.config, record.host_config
    host_network = host.network_mode == "host"
    fqdn = f"{config.hostname}.{config.domainname}" if config.domainname else config.hostname
    with open(record.hostname_path, "w") as f:
        f.write(config.hostname + "\n")
    with open(record.hosts_path, "w") as f:
        f.write(_host_file("/etc/hosts") if host_network else hosts(fqdn, ip, links or []))
    try:
        with open("/etc/resolv.conf") as f:
            host_text = f.read()
    except OSError:
        host_text = ""
    if embedded_dns:
        text = embedded_resolv_conf(host_text, host.dns_search or dns_search)
    else:
        text = resolv_conf(host_text, host.dns or dns, host.dns_search or dns_search, host_network)
    if host.dns_options:   # --dns-option: they replace the host's options line
        text = "".join(line + "\n" for line in text.splitlines() if not line.strip().startswith("options"))
        text += "options " + " ".join(host.dns_options) + "\n"
    with open(record.resolv_conf_path, "w") as f:
        f.write(text)


def _host_file(path: str) -> str:
    """--net=host shares the host's names too (Docker 1.2 mounted its /etc/hosts)."""
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return hosts("localhost", "", [])
