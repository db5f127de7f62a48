"""Client-side TLS, configured as Docker clients are: flags `--tls`, `--tlsverify`,
`--tlscacert`, `--tlscert`, `--tlskey`, or the environment (`DOCKER_TLS_VERIFY`,
`DOCKER_CERT_PATH`, with pyctr's own `PYCTR_TLS_VERIFY`/`PYCTR_CERT_PATH` first).
Certificates default to ca.pem, cert.pem and key.pem in the cert path, ~/.pyctr."""

from __future__ import annotations

import os

from .errors import ClientError
from .lightrecord import light_record

TYPE_CHECKING = False  # typing costs ~5 ms at start-up; annotations only need it for checkers
if TYPE_CHECKING:
    import ssl
    from typing import Mapping


class TLSConfig(light_record("TLSConfig", {"verify": ..., "ca": "", "cert": "", "key": ""})):
    """Immutable settings: verify (check the daemon's certificate against `ca`), ca,
    cert and key (the client certificate, sent when present). A light record, and ssl
    loaded only when a context is made: every CLI start reads these (issue 24)."""

    __slots__ = ()

    def context(self) -> "ssl.SSLContext":
        import ssl

        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        try:
            if self.verify:
                ctx.load_verify_locations(self.ca)
            else:  # --tls alone: encrypted, but the daemon is not authenticated
                ctx.check_hostname = False
                ctx.verify_mode = ssl.CERT_NONE
            if self.cert and os.path.exists(self.cert):
                ctx.load_cert_chain(self.cert, self.key)
        except (OSError, ssl.SSLError) as exc:
            raise ClientError(f"Could not load the TLS certificates: {exc}") from None
        return ctx


def _truthy(value: str | None) -> bool:
    return bool(value) and value.strip().lower() not in ("0", "false", "no", "")


def from_options(tls: bool = False, tlsverify: bool = False, cacert: str = "", cert: str = "",
                 key: str = "", environ: Mapping[str, str] | None = None) -> TLSConfig | None:
    """The TLS settings of a client, or None for plain HTTP."""
    environ = os.environ if environ is None else environ
    verify = tlsverify or _truthy(environ.get("PYCTR_TLS_VERIFY")) or _truthy(environ.get("DOCKER_TLS_VERIFY"))
    if not (tls or verify):
        return None
    cert_path = (environ.get("PYCTR_CERT_PATH") or environ.get("DOCKER_CERT_PATH")
                 or os.path.join(os.path.expanduser("~"), ".pyctr"))
    return TLSConfig(verify=verify,
                     ca=cacert or os.path.join(cert_path, "ca.pem"),
                     cert=cert or os.path.join(cert_path, "cert.pem"),
                     key=key or os.path.join(cert_path, "key.pem"))


def describe_ssl_error(exc: OSError, url: str) -> str:
    """A clear line for the usual TLS failures."""
    text = str(exc)
    if isinstance(exc, ConnectionResetError):  # TLS 1.3: the daemon's verdict comes after the handshake
        return (f"The daemon at {url} refused this client's certificate (the connection was reset "
                "after the TLS handshake): check --tlscert and --tlskey")
    if "CERTIFICATE_VERIFY_FAILED" in text:
        reason = getattr(exc, "verify_message", "") or text
        return f"The daemon's certificate at {url} could not be verified ({reason}): check --tlscacert"
    if "CERTIFICATE_REQUIRED" in text or "HANDSHAKE_FAILURE" in text or "UNKNOWN_CA" in text \
            or "BAD_CERTIFICATE" in text:
        return f"The daemon at {url} refused this client's certificate: check --tlscert and --tlskey ({text})"
    if "WRONG_VERSION_NUMBER" in text or "record layer failure" in text:
        return f"The daemon at {url} does not speak TLS (or speaks it on another port): {text}"
    return f"TLS error talking to {url}: {text}"
