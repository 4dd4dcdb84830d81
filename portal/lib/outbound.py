"""Outbound fetches of URLs that users influence: catalog `url:` locations, `$text`/`$json`/
`$yaml` placeholders and TechDocs `url:` refs all go through `fetch()`.

The rules, checked on the first URL and again on every redirect hop:

* only http and https, no user name or password in the URL;
* the host must be allowed: one of the configured integrations' hosts or an entry of
  PAVED_OUTBOUND_ALLOWED_HOSTS (`host`, `host:port`, `*.domain`, `*`, an IP address or a CIDR);
  an entry without a port allows only the scheme's default port;
* every address the host resolves to must be public (no loopback, private, link-local,
  CGNAT, multicast, reserved, unspecified or cloud-metadata address, in any spelling) unless
  the platform team named that host or address in an entry;
* the connection goes to an address that was checked, never to a second DNS answer;
* size and time are bounded, and every way a server can fail to answer gives one message,
  so the fetcher cannot be used to map internal ports.

Provider clients (GitHub, Argo CD, PagerDuty, ...) talk to configured endpoints and do not use
this module.
"""

from __future__ import annotations

import http.client
import ipaddress
import logging
import re
import socket
import time
from dataclasses import dataclass
from functools import lru_cache
from urllib.parse import SplitResult, urljoin, urlsplit

import certifi
import urllib3
from django.conf import settings

logger = logging.getLogger(__name__)

SETTING = "PAVED_OUTBOUND_ALLOWED_HOSTS"
DEFAULT_PORTS = {"http": 80, "https": 443}
MAX_REDIRECTS = 3
_REDIRECTS = {301, 302, 303, 307, 308}
_CHUNK = 64 * 1024

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_CGNAT = ipaddress.IPv4Network("100.64.0.0/10")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_METADATA = {
    ipaddress.ip_address("169.254.169.254"),  # AWS, GCP, Azure, OpenStack, DigitalOcean
    ipaddress.ip_address("fd00:ec2::254"),  # AWS over IPv6
    ipaddress.ip_address("100.100.100.200"),  # Alibaba Cloud
}


class FetchError(Exception):
    """A URL that was not fetched; the message says which and why, in plain words."""


class FetchRefused(FetchError):
    """The URL, or an address on its way, is not one Paved may fetch from."""


# --- Addresses --------------------------------------------------------------------------------

_PART = re.compile(r"0[xX][0-9a-fA-F]*|0[0-7]*|[1-9][0-9]*")


def parse_ip(host: str) -> IPAddress | None:
    """The IP address `host` spells, in any form the C library would connect to (`2130706433`,
    `0177.0.0.1`, `0x7f.1`, `[::ffff:127.0.0.1]`), or None for a host name."""
    text = host.strip()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        pass
    else:
        if isinstance(address, ipaddress.IPv6Address) and address.scope_id:
            address = ipaddress.IPv6Address(text.split("%", 1)[0])
        return address
    # inet_aton forms: 1 to 4 parts, each decimal, octal (leading 0) or hex (0x); the last
    # part fills the remaining bytes.
    parts = text.removesuffix(".").split(".")
    if not 1 <= len(parts) <= 4 or not all(_PART.fullmatch(p) for p in parts):
        return None
    values = [
        int(p[2:] or "0", 16) if p[:2].lower() == "0x" else int(p, 8 if p.startswith("0") else 10)
        for p in parts
    ]
    *head, last = values
    if any(v > 255 for v in head) or last >= 256 ** (4 - len(head)):
        return None
    value = last
    for index, byte in enumerate(head):
        value += byte << (8 * (3 - index))
    return ipaddress.IPv4Address(value)


def refused_reason(address: IPAddress) -> str | None:
    """Why Paved must not connect to `address` on a user's behalf, or None if it is public."""
    if isinstance(address, ipaddress.IPv6Address):
        # IPv6 forms that carry an IPv4 address are judged by that address.
        if address.ipv4_mapped is not None:
            return refused_reason(address.ipv4_mapped)
        if address in _NAT64:
            return refused_reason(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    if address in _METADATA:
        return "a cloud metadata address"
    if address.is_unspecified:
        return "the unspecified address"
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_multicast:
        return "a multicast address"
    if isinstance(address, ipaddress.IPv4Address) and address in _CGNAT:
        return "a shared (CGNAT) address"
    if address.is_private:
        return "a private address"
    if address.is_reserved or not address.is_global:
        return "a reserved address"
    return None


# --- The allowlist ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One allowlist entry: a host name (exact, `*.suffix`, or `*`) or a network, and a port."""

    text: str
    name: str = ""  # exact host name
    suffix: str | None = None  # "" for `*`, ".example.com" for `*.example.com`
    network: IPNetwork | None = None
    port: int | None = None  # None: the scheme's default port

    def port_ok(self, scheme: str, port: int) -> bool:
        return port == (self.port if self.port is not None else DEFAULT_PORTS[scheme])


_NAME = re.compile(r"[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*")


def _port(text: str, entry: str) -> int:
    if not text.isdigit() or not 0 < int(text) < 65536:
        raise ValueError(f"{entry!r}: {text!r} is not a port number")
    return int(text)


def parse_entry(raw: str) -> Entry:
    """`host`, `host:port`, `*.example.com`, `*`, an IP (`[v6]:port` with a port) or a CIDR."""
    text = raw.strip()
    if not text:
        raise ValueError("an empty entry")
    if "/" in text:
        try:
            return Entry(text, network=ipaddress.ip_network(text, strict=False))
        except ValueError:
            raise ValueError(f"{text!r} is not a network in CIDR notation (10.0.0.0/8)") from None
    host, port = text, None
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        if rest:
            if not rest.startswith(":"):
                raise ValueError(f"{text!r}: write an IPv6 address with a port as [::1]:8080")
            port = _port(rest[1:], text)
    elif text.count(":") == 1:
        host, _, port_text = text.partition(":")
        port = _port(port_text, text)
    address = parse_ip(host)
    if address is not None:
        return Entry(text, network=ipaddress.ip_network(address), port=port)
    host = host.lower().removesuffix(".")
    if host == "*":
        return Entry(text, suffix="", port=port)
    wildcard = host.startswith("*.")
    name = host[2:] if wildcard else host
    try:
        name = name.encode("idna").decode("ascii")
    except UnicodeError:
        raise ValueError(f"{text!r} is not a host name") from None
    if not _NAME.fullmatch(name):
        raise ValueError(f"{text!r} is not a host name, host:port, IP address or CIDR")
    return (
        Entry(text, suffix="." + name, port=port) if wildcard else Entry(text, name=name, port=port)
    )


def parse_allowlist(entries: list[str] | tuple[str, ...]) -> tuple[Entry, ...]:
    """Parse every entry; ValueError names the first bad one."""
    return tuple(parse_entry(e) for e in entries)


def integration_hosts() -> list[str]:
    """Hosts of the integrations the platform team configured, allowed without listing them."""
    hosts: list[str] = []
    if getattr(settings, "PAVED_GIT_PROVIDER", "") == "github":
        api = urlsplit(str(getattr(settings, "PAVED_GITHUB_API_URL", "")))
        if api.hostname == "api.github.com":
            hosts += ["github.com", "api.github.com", "raw.githubusercontent.com"]
        elif api.hostname:
            # GitHub Enterprise Server serves its web pages and raw files on the API's host.
            hosts.append(f"{api.hostname}:{api.port}" if api.port else api.hostname)
    # The local git host is Paved itself: its pages need a signed-in user, and `repo:`
    # locations read it directly, so it is not an outbound destination.
    return hosts


def allowlist() -> tuple[Entry, ...]:
    configured = [
        *integration_hosts(),
        *getattr(settings, SETTING, []),
        # Before PAVED_OUTBOUND_ALLOWED_HOSTS: host names for catalog URL locations.
        *getattr(settings, "PAVED_CATALOG_URL_ALLOWED_HOSTS", []),
    ]
    return _parsed(tuple(configured))


@lru_cache(maxsize=8)
def _parsed(entries: tuple[str, ...]) -> tuple[Entry, ...]:
    return parse_allowlist(entries)


# --- Checking one URL -------------------------------------------------------------------------


@dataclass(frozen=True)
class Destination:
    """A URL that passed the checks, and the addresses it may be fetched from."""

    scheme: str
    host: str  # ASCII host name or IP text, as sent in the Host header
    port: int
    target: str  # path and query
    addresses: tuple[IPAddress, ...]

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == DEFAULT_PORTS[self.scheme] else f"{host}:{self.port}"


def _contains(network: IPNetwork, address: IPAddress) -> bool:
    if isinstance(network, ipaddress.IPv4Network):
        return isinstance(address, ipaddress.IPv4Address) and address in network
    return isinstance(address, ipaddress.IPv6Address) and address in network


def _where(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _resolve(host: str, port: int) -> tuple[IPAddress, ...]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    seen: list[IPAddress] = []
    for *_, sockaddr in infos:
        address = parse_ip(str(sockaddr[0]))
        if address is not None and address not in seen:
            seen.append(address)
    return tuple(seen)


def check(url: str, *, shown: str, hop: int, entries: tuple[Entry, ...]) -> Destination:
    """Decide whether `url` may be fetched; FetchRefused or FetchError say why not.

    `shown` is the URL the person gave (messages name it); `hop` counts redirects so far."""
    try:
        parts: SplitResult = urlsplit(url)
        port = parts.port
    except ValueError:
        raise FetchError(f"could not fetch {shown}: {url} is not a valid URL") from None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        lead = f"it redirects to a {scheme or 'scheme-less'} URL; " if hop else ""
        raise FetchRefused(f"could not fetch {shown}: {lead}only http and https URLs are fetched")
    if parts.username is not None or parts.password is not None:
        raise FetchRefused(
            f"could not fetch {shown}: URLs with a user name or password are not fetched"
        )
    raw_host = (parts.hostname or "").removesuffix(".")
    if not raw_host:
        raise FetchError(f"could not fetch {shown}: the URL has no host")
    port = port if port is not None else DEFAULT_PORTS[scheme]
    literal = parse_ip(raw_host)
    if literal is not None:
        host = str(literal)
    else:
        try:
            host = raw_host.encode("idna").decode("ascii").lower()
        except UnicodeError:
            raise FetchError(f"could not fetch {shown}: {raw_host!r} is not a host name") from None

    def refuse(reason: str) -> FetchRefused:
        where = _where(host, port)
        logger.warning("refused outbound fetch of %s (hop %d): %s %s", shown, hop, where, reason)
        lead = f"it redirects to {where}, which" if hop else where
        return FetchRefused(
            f"could not fetch {shown}: {lead} is not an address Paved may fetch from; "
            f"a platform admin can allow it with {SETTING}"
        )

    by_name = [e for e in entries if e.network is None and e.port_ok(scheme, port)]
    named = literal is None and any(e.name == host for e in by_name)
    # `*` allows any public host, `*.example.com` any public name under example.com.
    wildcard = any(
        e.suffix == "" or (e.suffix and literal is None and host.endswith(e.suffix))
        for e in by_name
    )
    networks = [e.network for e in entries if e.network is not None and e.port_ok(scheme, port)]
    if not (named or wildcard or networks):
        # Nothing could allow it: refuse before any DNS lookup.
        raise refuse("matches no allowlist entry")
    if literal is not None:
        addresses: tuple[IPAddress, ...] = (literal,)
    else:
        try:
            addresses = _resolve(host, port)
        except (OSError, UnicodeError):
            raise FetchError(f"could not fetch {shown}: it could not be reached") from None
        if not addresses:
            raise FetchError(f"could not fetch {shown}: it could not be reached")

    def in_networks(address: IPAddress) -> bool:
        return any(_contains(n, address) for n in networks)

    if not (named or wildcard) and not all(in_networks(a) for a in addresses):
        raise refuse("matches no allowlist entry")
    for address in addresses:
        reason = refused_reason(address)
        # A host the platform team named, or an address range it listed, is trusted as is.
        if reason and not named and not in_networks(address):
            raise refuse(f"resolves to {address}, {reason}")
    target = parts.path or "/"
    if parts.query:
        target += "?" + parts.query
    return Destination(scheme, host, port, target, addresses)


# --- Fetching ---------------------------------------------------------------------------------


def _pool(dest: Destination, address: IPAddress, timeout: float) -> urllib3.HTTPConnectionPool:
    options = {
        "timeout": urllib3.Timeout(connect=timeout, read=timeout),
        "retries": False,
        "maxsize": 1,
    }
    if dest.scheme == "https":
        # Connect to the checked address; TLS still verifies the certificate for the host name.
        return urllib3.HTTPSConnectionPool(
            str(address),
            dest.port,
            cert_reqs="CERT_REQUIRED",
            ca_certs=certifi.where(),
            assert_hostname=dest.host,
            server_hostname=dest.host,
            **options,  # type: ignore[arg-type]
        )
    return urllib3.HTTPConnectionPool(str(address), dest.port, **options)  # type: ignore[arg-type]


_UNREACHABLE = (urllib3.exceptions.HTTPError, http.client.HTTPException, OSError, ValueError)


def _open(
    dest: Destination, shown: str, deadline: float
) -> tuple[urllib3.HTTPConnectionPool, urllib3.BaseHTTPResponse]:
    headers = {
        "Host": dest.host_header,
        "User-Agent": "Paved",
        "Accept": "*/*",
        "Accept-Encoding": "identity",
    }
    for address in dest.addresses:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            break
        pool = _pool(dest, address, remaining)
        try:
            response = pool.urlopen(
                "GET",
                dest.target,
                headers=headers,
                redirect=False,
                retries=False,
                preload_content=False,
                assert_same_host=False,
            )
        except (urllib3.exceptions.NewConnectionError, urllib3.exceptions.ConnectTimeoutError):
            pool.close()
            continue  # the next address of the same host may answer
        except _UNREACHABLE:
            pool.close()
            break
        return pool, response
    raise FetchError(f"could not fetch {shown}: it could not be reached")


def fetch(url: str, *, max_bytes: int, timeout: float) -> bytes:
    """The body at `url`, following at most MAX_REDIRECTS redirects, each checked.

    The whole fetch, redirects included, takes at most about `timeout` seconds."""
    entries = allowlist()
    deadline = time.monotonic() + timeout
    current = url
    for hop in range(MAX_REDIRECTS + 1):
        dest = check(current, shown=url, hop=hop, entries=entries)
        pool, response = _open(dest, url, deadline)
        try:
            if response.status in _REDIRECTS and response.headers.get("Location"):
                current = urljoin(current, response.headers["Location"])
                continue
            if response.status >= 300:
                raise FetchError(f"could not fetch {url}: it answered HTTP {response.status}")
            return _read(response, url, max_bytes, deadline)
        finally:
            response.release_conn()
            response.close()
            pool.close()
    raise FetchError(f"could not fetch {url}: it redirected more than {MAX_REDIRECTS} times")


def _read(response: urllib3.BaseHTTPResponse, url: str, max_bytes: int, deadline: float) -> bytes:
    too_large = FetchError(f"could not fetch {url}: it is larger than the {max_bytes:,}-byte limit")
    length = response.headers.get("Content-Length", "")
    if length.isdigit() and int(length) > max_bytes:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    try:
        # read1 returns after one read from the socket, so the deadline is checked even when
        # a server sends a few bytes at a time.
        while chunk := response.read1(_CHUNK, decode_content=True):
            size += len(chunk)
            if size > max_bytes:
                raise too_large
            if time.monotonic() > deadline:
                # A server that trickles bytes just under the read timeout.
                raise FetchError(f"could not fetch {url}: it could not be reached")
            chunks.append(chunk)
    except _UNREACHABLE:
        raise FetchError(f"could not fetch {url}: it could not be reached") from None
    return b"".join(chunks)
