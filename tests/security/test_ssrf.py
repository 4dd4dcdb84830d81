"""SSRF: a developer makes Paved fetch a URL that reaches its internal network.

Every attack goes through the real entry point (the Register page, the entity's Docs tab, the
beat refresh task) against real HTTP servers on 127.0.0.1. An "attacker" server stands in for
a host outside: the platform team allows it by `127.0.0.1:<its port>` only. An "internal"
server on another port stands in for what must stay unreachable; it records every request.
"""

from __future__ import annotations

import re
import socket
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.core.cache import cache
from django.urls import reverse

from catalog.models import Entity, Location
from portal.lib import outbound
from portal.models import AuditEvent
from tests.fakes.http import FakeServer, Request, Response

pytestmark = pytest.mark.django_db

SECRET = "TOP-SECRET-INTERNAL-VALUE"
REGISTER = "/catalog/register/"


def refused(url: str, where: str, *, redirect: bool = False) -> str:
    lead = f"it redirects to {where}, which" if redirect else where
    return (
        f"could not fetch {url}: {lead} is not an address Paved may fetch from; "
        "a platform admin can allow it with PAVED_OUTBOUND_ALLOWED_HOSTS"
    )


def unreachable(url: str) -> str:
    return f"could not fetch {url}: it could not be reached"


def component(name: str, **extra: Any) -> dict[str, Any]:
    """A catalog document; JSON is YAML, so the fake server can serve it as is."""
    metadata = {"name": name, **extra.pop("metadata", {})}
    spec = {"type": "service", "lifecycle": "production", "owner": "team-orders"}
    return {"apiVersion": "backstage.io/v1alpha1", "kind": "Component",
            "metadata": metadata, "spec": spec, **extra}  # fmt: skip


def serve(server: FakeServer, path: str, payload: Any, status: int = 200, **headers: str) -> None:
    server.route("GET", path, lambda request: Response(status, payload, dict(headers)))


def redirect(server: FakeServer, path: str, to: str) -> None:
    serve(server, path, None, 302, Location=to)


@pytest.fixture
def internal() -> Iterator[FakeServer]:
    server = FakeServer()
    serve(server, "/.*", {"secret": SECRET})
    server.start()
    yield server
    server.stop()


@pytest.fixture
def attacker(settings: Any) -> Iterator[FakeServer]:
    server = FakeServer().start()
    settings.PAVED_OUTBOUND_ALLOWED_HOSTS = [server.url.removeprefix("http://")]
    settings.PAVED_CATALOG_URL_ALLOWED_HOSTS = []
    settings.PAVED_GIT_PROVIDER = "local"
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    cache.clear()


def port_of(server: FakeServer) -> int:
    return int(server.url.rsplit(":", 1)[1])


def nothing_registered(name: str) -> None:
    assert not Location.objects.exists()
    assert not Entity.objects.filter(name=name).exists()
    assert not AuditEvent.objects.filter(action="catalog.location.registered").exists()


# --- Audit hook: what the process tried on the network --------------------------------------

_recording: list[tuple[str, tuple[Any, ...]]] | None = None


def _audit(event: str, args: tuple[Any, ...]) -> None:
    if _recording is not None and event in ("socket.connect", "socket.getaddrinfo"):
        _recording.append((event, args))


sys.addaudithook(_audit)


@contextmanager
def network_attempts() -> Iterator[list[tuple[str, tuple[Any, ...]]]]:
    """Every DNS lookup and connect this process makes inside the block (Python audit events,
    so nothing of the HTTP client is patched)."""
    global _recording
    _recording = []
    try:
        yield _recording
    finally:
        _recording = None


# --- The attack as found: a $text placeholder that redirects inward ---------------------------


def test_register_page_refuses_a_text_placeholder_that_redirects_to_an_internal_server(
    owner_client: Any, attacker: FakeServer, internal: FakeServer
) -> None:
    serve(attacker, "/catalog-info.yaml",
          component("innocent", metadata={"description": {"$text": "./readme"}}))  # fmt: skip
    redirect(attacker, "/readme", f"{internal.url}/admin/secret")
    location = f"{attacker.url}/catalog-info.yaml"
    expected = refused(f"{attacker.url}/readme", f"127.0.0.1:{port_of(internal)}", redirect=True)

    preview = owner_client.post(REGISTER, {"location": location})
    confirm = owner_client.post(REGISTER, {"location": location, "action": "confirm"})

    for response in (preview, confirm):
        assert response.status_code == 422
        page = response.content.decode()
        assert expected in page
        assert SECRET not in page
    assert [r.path for r in attacker.requests].count("/readme") == 2  # the attack was tried
    assert internal.requests == []
    nothing_registered("innocent")


def test_register_page_refuses_a_location_that_redirects_to_an_internal_server(
    owner_client: Any, attacker: FakeServer, internal: FakeServer
) -> None:
    redirect(attacker, "/catalog-info.yaml", f"{internal.url}/catalog-info.yaml")
    location = f"{attacker.url}/catalog-info.yaml"
    response = owner_client.post(REGISTER, {"location": location, "action": "confirm"})
    assert response.status_code == 422
    assert refused(location, f"127.0.0.1:{port_of(internal)}", redirect=True) in (
        response.content.decode()
    )
    assert internal.requests == []
    assert not Location.objects.exists()


def test_a_location_entity_pointing_inward_refuses_the_whole_location(
    owner_client: Any, attacker: FakeServer, internal: FakeServer
) -> None:
    serve(attacker, "/catalog-info.yaml", {
        "apiVersion": "backstage.io/v1alpha1", "kind": "Location",
        "metadata": {"name": "more"},
        "spec": {"type": "url", "presence": "optional",
                 "targets": [f"{internal.url}/catalog-info.yaml"]},
    })  # fmt: skip
    response = owner_client.post(
        REGISTER, {"location": f"{attacker.url}/catalog-info.yaml", "action": "confirm"}
    )
    assert response.status_code == 422
    assert "is not an address Paved may fetch from" in response.content.decode()
    assert internal.requests == []
    nothing_registered("more")


@pytest.mark.parametrize("host", [
    "127.0.0.1", "localhost", "2130706433", "0177.0.0.1", "0x7f.0.0.1", "127.1",
    "[::1]", "[::ffff:127.0.0.1]",
])  # fmt: skip
def test_register_page_refuses_loopback_urls_in_any_spelling(
    owner_client: Any, attacker: FakeServer, internal: FakeServer, host: str
) -> None:
    url = f"http://{host}:{port_of(internal)}/catalog-info.yaml"
    response = owner_client.post(REGISTER, {"location": url, "action": "confirm"})
    assert response.status_code == 422
    page = response.content.decode()
    assert "is not an address Paved may fetch from" in page
    assert "PAVED_OUTBOUND_ALLOWED_HOSTS" in page
    assert internal.requests == []
    assert not Location.objects.exists()


@pytest.mark.parametrize("url", [
    "http://169.254.169.254/latest/meta-data/iam/security-credentials/",
    "http://[fd00:ec2::254]/latest/meta-data/",
    "http://[::ffff:169.254.169.254]/latest/meta-data/",
    "http://2852039166/latest/meta-data/",  # 169.254.169.254 as one number
])  # fmt: skip
def test_cloud_metadata_address_is_refused_without_any_connection_attempt(
    owner_client: Any, settings: Any, url: str
) -> None:
    settings.PAVED_OUTBOUND_ALLOWED_HOSTS = ["*"]  # even "any host" never means these
    with network_attempts() as attempts:
        response = owner_client.post(REGISTER, {"location": url, "action": "confirm"})
    assert response.status_code == 422
    assert "is not an address Paved may fetch from" in response.content.decode()
    # Neither a lookup nor a connect towards port 80 (the session and cache use other ports).
    assert not [a for e, a in attempts if e == "socket.getaddrinfo" and a[1] in (80, "80")]
    assert not [a for e, a in attempts if e == "socket.connect" and a[1][1:2] == (80,)]
    assert not Location.objects.exists()


def test_a_host_that_is_not_allowed_is_refused_before_any_dns_lookup(
    owner_client: Any, attacker: FakeServer
) -> None:
    url = "http://metadata.google.internal/computeMetadata/v1/"
    with network_attempts() as attempts:
        response = owner_client.post(REGISTER, {"location": url})
    assert response.status_code == 422
    assert refused(url, "metadata.google.internal:80") in response.content.decode()
    assert not [a for e, a in attempts if e == "socket.getaddrinfo" and "google" in str(a[0])]


# --- No port scanner: every way of not answering reads the same --------------------------------


@contextmanager
def tcp_server(behaviour: str) -> Iterator[int]:
    """A TCP port on 127.0.0.1 that is closed, speaks another protocol, resets or stays mute."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    if behaviour == "closed":
        listener.close()
        yield port
        return
    listener.listen(8)
    stop = threading.Event()

    def loop() -> None:
        listener.settimeout(0.2)
        held = []
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            if behaviour == "ssh":
                conn.sendall(b"SSH-2.0-OpenSSH_9.6\r\n")
                conn.close()
            elif behaviour == "reset":
                conn.setsockopt(
                    socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
                )
                conn.close()
            else:
                held.append(conn)  # mute: never answers
        for conn in held:
            conn.close()

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    try:
        yield port
    finally:
        stop.set()
        thread.join(2)
        listener.close()


@pytest.mark.parametrize("behaviour", ["closed", "ssh", "reset", "mute"])
def test_closed_and_non_http_ports_give_the_identical_message(
    owner_client: Any, settings: Any, behaviour: str
) -> None:
    settings.PAVED_CATALOG_URL_TIMEOUT = 1
    with tcp_server(behaviour) as port:
        settings.PAVED_OUTBOUND_ALLOWED_HOSTS = [f"127.0.0.1:{port}"]
        url = f"http://127.0.0.1:{port}/catalog-info.yaml"
        response = owner_client.post(REGISTER, {"location": url})
    page = response.content.decode()
    assert response.status_code == 422
    assert f"url:{url}: {unreachable(url)}" in page
    for detail in ("Errno", "Connection", "timed out", "SSH-2.0", "BadStatusLine", "Remote"):
        assert detail not in page


# --- TechDocs url: refs ---------------------------------------------------------------------


def register(client: Any, url: str) -> None:
    response = client.post(REGISTER, {"location": url, "action": "confirm"})
    assert response.status_code == 302, response.content.decode()


def docs_tab(client: Any, name: str) -> str:
    url = reverse("catalog:entity-detail", args=["default", "component", name])
    response = client.get(url, {"tab": "docs"})
    assert response.status_code == 200
    return str(response.content.decode())


def test_techdocs_url_ref_that_redirects_inward_is_refused_on_the_docs_tab(
    owner_client: Any, attacker: FakeServer, internal: FakeServer
) -> None:
    docs = f"{attacker.url}/site/"
    serve(attacker, "/catalog-info.yaml", component(
        "documented", metadata={"annotations": {"backstage.io/techdocs-ref": f"url:{docs}"}}))  # fmt: skip
    redirect(attacker, "/site/docs/index.md", f"{internal.url}/docs/index.md")
    register(owner_client, f"{attacker.url}/catalog-info.yaml")

    page = docs_tab(owner_client, "documented")

    where = f"127.0.0.1:{port_of(internal)}"
    assert refused(f"{docs}docs/index.md", where, redirect=True) in page
    assert SECRET not in page
    assert internal.requests == []


def test_techdocs_url_ref_straight_at_an_internal_server_is_refused(
    owner_client: Any, attacker: FakeServer, internal: FakeServer
) -> None:
    docs = f"http://localhost:{port_of(internal)}/"
    serve(attacker, "/catalog-info.yaml", component(
        "inward", metadata={"annotations": {"backstage.io/techdocs-ref": f"url:{docs}"}}))  # fmt: skip
    register(owner_client, f"{attacker.url}/catalog-info.yaml")
    page = docs_tab(owner_client, "inward")
    assert refused(f"{docs}docs/index.md", f"localhost:{port_of(internal)}") in page
    assert internal.requests == []


def test_docs_tab_does_not_fetch_a_url_page_on_every_view(
    owner_client: Any, attacker: FakeServer
) -> None:
    serve(attacker, "/catalog-info.yaml", component(
        "cached", metadata={"annotations": {"backstage.io/techdocs-ref": f"url:{attacker.url}/"}}))  # fmt: skip
    serve(attacker, "/docs/index.md", "Welcome to the cached docs")
    register(owner_client, f"{attacker.url}/catalog-info.yaml")
    for _ in range(5):
        assert "Welcome to the cached docs" in docs_tab(owner_client, "cached")
    assert [r.path for r in attacker.requests].count("/docs/index.md") == 1


# --- The beat refresh applies the same rules --------------------------------------------------


def test_beat_refresh_of_a_registered_location_refuses_a_placeholder_turned_inward(
    owner_client: Any, attacker: FakeServer, internal: FakeServer
) -> None:
    from catalog.tasks import refresh_locations

    serve(attacker, "/catalog-info.yaml",
          component("turncoat", metadata={"description": {"$text": "./readme"}}))  # fmt: skip
    readme: dict[str, str] = {"to": ""}

    def answer(request: Request) -> Response:
        if readme["to"]:
            return Response(302, None, {"Location": readme["to"]})
        return Response(200, "A harmless description")

    attacker.route("GET", "/readme", answer)
    register(owner_client, f"{attacker.url}/catalog-info.yaml")
    assert "harmless" in Entity.objects.get(name="turncoat").description

    readme["to"] = f"{internal.url}/admin/secret"
    refresh_locations()

    entity = Entity.objects.get(name="turncoat")
    assert internal.requests == []
    assert SECRET not in entity.description
    assert "harmless" in entity.description  # the last good data is kept
    assert any("is not an address Paved may fetch from" in e for e in entity.processing_errors)


def test_beat_refresh_of_an_old_location_at_an_internal_url_reads_nothing(
    attacker: FakeServer, internal: FakeServer
) -> None:
    from catalog.tasks import refresh_locations

    # Registered before these rules existed.
    location = Location.objects.create(type="url", target=f"{internal.url}/catalog-info.yaml")
    with network_attempts() as attempts:
        refresh_locations()
    location.refresh_from_db()
    assert internal.requests == []
    assert not any(e == "socket.connect" and a[1][1] == port_of(internal)
                   for e, a in attempts if isinstance(a[1], tuple))  # fmt: skip
    assert location.errors == [
        f"url:{location.target}: " + refused(location.target, f"127.0.0.1:{port_of(internal)}")
    ]
    assert not Entity.objects.exists()


# --- DNS rebinding: the address checked is the address connected to ---------------------------


def test_a_named_host_is_looked_up_once_and_the_checked_address_is_used(
    settings: Any, attacker: FakeServer
) -> None:
    port = port_of(attacker)
    settings.PAVED_OUTBOUND_ALLOWED_HOSTS = [f"localhost:{port}"]
    serve(attacker, "/doc", "hello")
    with network_attempts() as attempts:
        body = outbound.fetch(f"http://localhost:{port}/doc", max_bytes=1000, timeout=5)
    assert body == b'"hello"'
    lookups = [a for e, a in attempts if e == "socket.getaddrinfo" and a[0] == "localhost"]
    assert len(lookups) == 1
    connected = [a[1][0] for e, a in attempts if e == "socket.connect" and a[1][1] == port]
    assert connected
    assert all(host in ("127.0.0.1", "::1") for host in connected)
    assert attacker.requests[-1].headers["host"] == f"localhost:{port}"


def test_redirect_chains_are_cut_after_three_hops(settings: Any, attacker: FakeServer) -> None:
    for hop in range(5):
        redirect(attacker, f"/hop{hop}", f"/hop{hop + 1}")
    url = f"{attacker.url}/hop0"
    with pytest.raises(outbound.FetchError, match="it redirected more than 3 times"):
        outbound.fetch(url, max_bytes=1000, timeout=5)
    assert [r.path for r in attacker.requests] == ["/hop0", "/hop1", "/hop2", "/hop3"]


def test_a_response_larger_than_the_limit_is_cut_off(attacker: FakeServer) -> None:
    serve(attacker, "/big", "x" * 5000)
    with pytest.raises(outbound.FetchError, match="larger than the 1,000-byte limit"):
        outbound.fetch(f"{attacker.url}/big", max_bytes=1000, timeout=5)


def test_a_server_that_trickles_bytes_is_cut_off_at_the_deadline(settings: Any) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)
    port = listener.getsockname()[1]
    settings.PAVED_OUTBOUND_ALLOWED_HOSTS = [f"127.0.0.1:{port}"]

    def trickle() -> None:
        conn, _ = listener.accept()
        conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n")
        try:
            for _ in range(50):  # 100 bytes every 0.2 s: each read is well within the timeout
                conn.sendall(b"x" * 100)
                time.sleep(0.2)
        except OSError:
            pass
        conn.close()

    threading.Thread(target=trickle, daemon=True).start()
    started = time.monotonic()
    with pytest.raises(outbound.FetchError):
        outbound.fetch(f"http://127.0.0.1:{port}/", max_bytes=10**9, timeout=1)
    assert time.monotonic() - started < 3
    listener.close()


# --- The address classifier and the allowlist -------------------------------------------------


@pytest.mark.parametrize(("host", "address", "reason"), [
    ("2130706433", "127.0.0.1", "a loopback address"),
    ("0177.0.0.1", "127.0.0.1", "a loopback address"),
    ("0x7f.0.0.1", "127.0.0.1", "a loopback address"),
    ("127.1", "127.0.0.1", "a loopback address"),
    ("017700000001", "127.0.0.1", "a loopback address"),
    ("0", "0.0.0.0", "the unspecified address"),  # noqa: S104  (a value, nothing binds)
    ("[::]", "::", "the unspecified address"),
    ("[::1]", "::1", "a loopback address"),
    ("[::ffff:127.0.0.1]", "::ffff:127.0.0.1", "a loopback address"),
    ("[::ffff:10.1.2.3]", "::ffff:10.1.2.3", "a private address"),
    ("[64:ff9b::10.0.0.1]", "64:ff9b::a00:1", "a private address"),
    ("10.0.0.1", "10.0.0.1", "a private address"),
    ("172.16.5.4", "172.16.5.4", "a private address"),
    ("192.168.1.1", "192.168.1.1", "a private address"),
    ("[fd12:3456::1]", "fd12:3456::1", "a private address"),
    ("169.254.169.254", "169.254.169.254", "a cloud metadata address"),
    ("[fd00:ec2::254]", "fd00:ec2::254", "a cloud metadata address"),
    ("[::ffff:169.254.169.254]", "::ffff:169.254.169.254", "a cloud metadata address"),
    ("169.254.1.1", "169.254.1.1", "a link-local address"),
    ("[fe80::1%eth0]", "fe80::1", "a link-local address"),
    ("100.64.0.1", "100.64.0.1", "a shared (CGNAT) address"),
    ("224.0.0.1", "224.0.0.1", "a multicast address"),
    ("[ff02::1]", "ff02::1", "a multicast address"),
    ("240.0.0.1", "240.0.0.1", "a private address"),
    ("192.0.2.1", "192.0.2.1", "a private address"),
    ("[::7f00:1]", "::7f00:1", "a reserved address"),
    ("[2001:db8::1]", "2001:db8::1", "a private address"),
    ("8.8.8.8", "8.8.8.8", None),
    ("[2606:4700::1111]", "2606:4700::1111", None),
    ("[64:ff9b::8.8.8.8]", "64:ff9b::808:808", None),
])  # fmt: skip
def test_address_classifier(host: str, address: str, reason: str | None) -> None:
    parsed = outbound.parse_ip(host)
    assert str(parsed) == address
    assert parsed is not None
    assert outbound.refused_reason(parsed) == reason


@pytest.mark.parametrize("host", ["example.com", "1.2.3.4.5", "08.1.1.1", "127.0.0.1.nip.io"])
def test_host_names_are_not_mistaken_for_addresses(host: str) -> None:
    assert outbound.parse_ip(host) is None


@pytest.mark.parametrize("url", [
    "http://2130706433/", "http://0177.0.0.1/", "http://[::ffff:7f00:1]/", "http://0x7f000001/",
])  # fmt: skip
def test_any_host_never_means_internal_addresses(url: str) -> None:
    entries = outbound.parse_allowlist(["*"])
    with network_attempts() as attempts, pytest.raises(outbound.FetchRefused):
        outbound.check(url, shown=url, hop=0, entries=entries)
    assert attempts == []


def test_allowlist_entries_and_ports() -> None:
    entries = outbound.parse_allowlist(["git.example.com", "*.corp.example", "10.9.0.0/16"])
    check = outbound.check
    with pytest.raises(outbound.FetchRefused, match=r"git\.example\.com:8080 is not an address"):
        check("http://git.example.com:8080/x", shown="u", hop=0, entries=entries)
    names_only = entries[:2]  # without a CIDR entry nothing else is even looked up
    with pytest.raises(outbound.FetchRefused, match=r"other\.example:443 is not an address"):
        check("https://other.example/x", shown="u", hop=0, entries=names_only)
    dest = check("http://10.9.8.7/x?y=1", shown="u", hop=0, entries=entries)
    assert (str(dest.addresses[0]), dest.target, dest.host_header) == ("10.9.8.7", "/x?y=1",
                                                                       "10.9.8.7")  # fmt: skip
    for bad in ("ftp://git.example.com/x", "file:///etc/passwd", "gopher://10.9.8.7/"):
        with pytest.raises(outbound.FetchRefused, match="only http and https URLs are fetched"):
            check(bad, shown="u", hop=0, entries=entries)
    with pytest.raises(outbound.FetchRefused, match="user name or password"):
        check("http://a:b@git.example.com/x", shown="u", hop=0, entries=entries)


@pytest.mark.parametrize("entry", ["host:port", "10.0.0.0/33", "exa mple.com", ":80", "[::1]x"])
def test_bad_allowlist_entries_are_named(entry: str) -> None:
    with pytest.raises(ValueError, match=re.escape(repr(entry))):
        outbound.parse_allowlist([entry])


def test_default_allowlist_is_the_configured_integrations(settings: Any) -> None:
    settings.PAVED_OUTBOUND_ALLOWED_HOSTS = []
    settings.PAVED_CATALOG_URL_ALLOWED_HOSTS = []
    settings.PAVED_GIT_PROVIDER = "local"
    assert outbound.allowlist() == ()
    settings.PAVED_GIT_PROVIDER = "github"
    settings.PAVED_GITHUB_API_URL = "https://api.github.com"
    assert {e.name for e in outbound.allowlist()} == {
        "github.com", "api.github.com", "raw.githubusercontent.com"}  # fmt: skip
    settings.PAVED_GITHUB_API_URL = "https://ghe.acme.internal:8443/api/v3"
    settings.PAVED_CATALOG_URL_ALLOWED_HOSTS = [
        "docs.acme.internal"
    ]  # the old setting still counts
    assert [(e.name, e.port) for e in outbound.allowlist()] == [
        ("ghe.acme.internal", 8443), ("docs.acme.internal", None)]  # fmt: skip


def test_https_certificates_are_verified_against_the_host_name(
    settings: Any, tmp_path: Any
) -> None:
    """Connecting to the checked address must not switch TLS verification off: a server with a
    certificate nobody issued is not read."""
    import datetime
    import ipaddress
    import ssl

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([
            x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    (tmp_path / "cert.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    (tmp_path / "key.pem").write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption()))  # fmt: skip
    server = FakeServer()
    serve(server, "/doc", "served over TLS")
    server.start()
    assert server._server is not None
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "cert.pem", tmp_path / "key.pem")
    server._server.socket = context.wrap_socket(server._server.socket, server_side=True)
    port = port_of(server)
    settings.PAVED_OUTBOUND_ALLOWED_HOSTS = [f"localhost:{port}"]
    url = f"https://localhost:{port}/doc"
    try:
        with pytest.raises(outbound.FetchError) as refused_tls:
            outbound.fetch(url, max_bytes=1000, timeout=5)
    finally:
        server.stop()
    assert str(refused_tls.value) == unreachable(url)
    assert server.requests == []
