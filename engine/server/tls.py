"""Server-side TLS for tcp listeners: `--tls` encrypts, `--tlsverify` also requires
a client certificate signed by `--tlscacert`. TLS 1.2 is the oldest accepted."""

from __future__ import annotations

import os
import ssl
from dataclasses import dataclass

DEFAULT_CERT_DIR = os.path.join(os.path.expanduser("~"), ".pyctr")


@dataclass(frozen=True)
class ServerTLS:
    verify: bool                # require and check client certificates
    ca: str = os.path.join(DEFAULT_CERT_DIR, "ca.pem")
    cert: str = os.path.join(DEFAULT_CERT_DIR, "cert.pem")
    key: str = os.path.join(DEFAULT_CERT_DIR, "key.pem")

    def context(self) -> ssl.SSLContext:
        """The listener's context; ValueError naming the file that is wrong."""
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        try:
            ctx.load_cert_chain(self.cert, self.key)
        except (OSError, ssl.SSLError) as exc:
            raise ValueError(f"cannot load the TLS certificate {self.cert} / key {self.key}: {exc}") from None
        if self.verify:
            try:
                ctx.load_verify_locations(self.ca)
            except (OSError, ssl.SSLError) as exc:
                raise ValueError(f"cannot load the TLS CA certificate {self.ca}: {exc}") from None
            ctx.verify_mode = ssl.CERT_REQUIRED
        return ctx
