"""The firewall through the real `iptables` (Debian's, nf_tables backend).

Every rule a daemon adds lives in chains named after its own bridge, so two
daemons (or pyctrd and a Docker engine) never touch each other's rules:

  nat    PYCTR-<bridge>       DNAT of published ports; jumped to from PREROUTING
                              and OUTPUT for local destinations
  nat    PYCTR-POST-<bridge>  MASQUERADE of the subnet; jumped to from POSTROUTING
  filter PYCTR-FWD-<bridge>   icc, outgoing/incoming, published ports and links;
                              jumped to from the top of FORWARD

Changes go in one `iptables-restore --noflush` batch each, which the nf_tables
backend applies as one transaction: all of a container's rules or none."""

from __future__ import annotations

import asyncio
import shlex
import shutil
from dataclasses import dataclass

IPTABLES = "iptables"
IPTABLES_RESTORE = "iptables-restore"
IPTABLES_SAVE = "iptables-save"
CHAIN_MAX = 28   # xtables' limit on chain names


class IptablesError(Exception):
    pass


@dataclass(frozen=True)
class Rule:
    table: str            # "nat" | "filter"
    chain: str
    spec: tuple[str, ...]  # match and target, as iptables arguments
    first: bool = False    # insert at the top of the chain rather than append

    def line(self, op: str) -> str:
        """`op` is -A or -D; -A of a `first` rule becomes an insert at the top."""
        head = [op, self.chain] if not (op == "-A" and self.first) else ["-I", self.chain, "1"]
        return " ".join(head + [_quote(a) for a in self.spec])


def _quote(arg: str) -> str:
    return f'"{arg}"' if not arg or any(c.isspace() for c in arg) else arg


def available() -> bool:
    return shutil.which(IPTABLES_RESTORE) is not None and shutil.which(IPTABLES_SAVE) is not None


async def _run(argv: list[str], stdin: str | None = None) -> str:
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv, stdin=asyncio.subprocess.PIPE if stdin is not None else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    except FileNotFoundError:
        raise IptablesError(f"{argv[0]} not found (install Debian's iptables package)") from None
    out, err = await proc.communicate(stdin.encode() if stdin is not None else None)
    if proc.returncode != 0:
        raise IptablesError(f"{' '.join(argv[:2])}: {err.decode().strip() or f'exit {proc.returncode}'}")
    return out.decode()


async def apply(add: list[Rule] = (), delete: list[Rule] = (), new_chains: list[tuple[str, str]] = (),
                drop_chains: list[tuple[str, str]] = ()) -> None:
    """One atomic batch: delete rules, flush+remove chains, create (empty) chains, add rules."""
    tables: dict[str, list[str]] = {}
    for rule in delete:
        tables.setdefault(rule.table, []).append(rule.line("-D"))
    for table, chain in drop_chains:
        tables.setdefault(table, []).extend([f"-F {chain}", f"-X {chain}"])
    for table, chain in new_chains:   # a declaration also flushes an existing chain
        tables.setdefault(table, []).insert(0, f":{chain} - [0:0]")
    for rule in add:
        tables.setdefault(rule.table, []).append(rule.line("-A"))
    if not tables:
        return
    text = "".join(f"*{table}\n" + "\n".join(lines) + "\nCOMMIT\n" for table, lines in tables.items())
    await _run([IPTABLES_RESTORE, "-w", "--noflush"], text)


async def save(table: str) -> list[str]:
    return (await _run([IPTABLES_SAVE, "-t", table])).splitlines()


async def rules_referring_to(chains: set[str]) -> tuple[list[Rule], list[tuple[str, str]]]:
    """Rules in any chain that jump to one of `chains`, and which of `chains` exist."""
    jumps: list[Rule] = []
    present: list[tuple[str, str]] = []
    for table in ("nat", "filter"):
        for line in await save(table):
            if line.startswith(":") and line[1:].split(" ", 1)[0] in chains:
                present.append((table, line[1:].split(" ", 1)[0]))
            elif line.startswith("-A "):
                words = shlex.split(line)
                if words[1] not in chains and "-j" in words and words[words.index("-j") + 1] in chains:
                    jumps.append(Rule(table, words[1], tuple(words[2:])))
    return jumps, present


async def rules_in(table: str, chain: str) -> list[Rule]:
    """The rules of one chain (none if it does not exist)."""
    out = []
    for line in await save(table):
        if line.startswith(f"-A {chain} "):
            words = shlex.split(line)
            out.append(Rule(table, chain, tuple(words[2:])))
    return out


async def rules_in_chains(table: str, prefix: str) -> list[Rule]:
    """The rules of every chain whose name starts with `prefix`."""
    out = []
    for line in await save(table):
        if line.startswith(f"-A {prefix}"):
            words = shlex.split(line)
            out.append(Rule(table, words[1], tuple(words[2:])))
    return out


async def ensure_chain(table: str, chain: str) -> None:
    """The chain, made empty if missing (an existing one keeps its rules)."""
    if not any(line.startswith(f":{chain} ") for line in await save(table)):
        await apply(new_chains=[(table, chain)])


async def drop_chain(table: str, chain: str) -> None:
    """The chain and every jump to it, if it exists."""
    jumps, present = await rules_referring_to({chain})
    await apply(delete=jumps, drop_chains=present)
