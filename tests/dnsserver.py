"""A DNS server of the test's own, for the embedded DNS server of user networks to forward
to (a test daemon's `--dns`): it listens on a loopback address of its own (127.x.y.z:53,
so tests never need the host's resolver and parallel tests never share one), answers the
names it was given, NXDOMAIN for the rest, and counts what it was asked."""

from __future__ import annotations

import random
import socket
import threading

import dns.message
import dns.rcode
import dns.rrset


class UpstreamDNS:
    def __init__(self, records: dict[str, str]) -> None:
        self.records = {k.lower().rstrip("."): v for k, v in records.items()}
        self.asked: list[str] = []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        for _ in range(100):
            self.address = f"127.{random.randint(1, 254)}.{random.randint(1, 254)}.{random.randint(1, 254)}"
            try:
                self.sock.bind((self.address, 53))
                break
            except OSError:
                continue
        else:
            raise RuntimeError("no free loopback address for a test DNS server")
        self.sock.settimeout(0.2)
        self.stopping = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stopping:
            try:
                data, peer = self.sock.recvfrom(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            try:
                query = dns.message.from_wire(data)
            except Exception:
                continue
            question = query.question[0]
            name = question.name.to_text(omit_final_dot=True).lower()
            self.asked.append(name)
            reply = dns.message.make_response(query)
            if name in self.records:
                reply.answer.append(dns.rrset.from_text(question.name, 60, "IN", "A", self.records[name]))
            else:
                reply.set_rcode(dns.rcode.NXDOMAIN)
            self.sock.sendto(reply.to_wire(), peer)

    def close(self) -> None:
        self.stopping = True
        self.thread.join(timeout=2)
        self.sock.close()
