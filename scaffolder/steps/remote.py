"""Remote `url`s of fetch:* steps (https://github.com/org/repo/tree/main/path), read as Backstage
reads them: through the configured git integration, never by fetching the URL itself.

The URL's host must be the configured integration's host (portal.lib.outbound.integration_hosts);
the files are then read with the integration's own client from its configured endpoint, so a
template cannot make the worker connect anywhere else. A private repository is read only for a
requester who may read it (the catalog's rule), so a template cannot copy another team's code.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

from django.conf import settings

from portal.lib.outbound import integration_hosts
from portal.providers.base import PermanentProviderError
from runs.context import StepContext
from runs.workspace import MAX_FILE_BYTES, MAX_WORKSPACE_FILES


def parse_repository_url(url: str) -> tuple[str, str, str, str, str]:
    """(host, owner, name, ref, path) of a `/owner/repo/tree|blob/ref/path` URL."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise PermanentProviderError(f"url {url!r}: only https repository URLs can be fetched")
    if parts.username or parts.password:
        raise PermanentProviderError(f"url {url!r}: a URL may not carry a user name or password")
    segments = [unquote(s) for s in parts.path.split("/") if s]
    if len(segments) < 2:
        raise PermanentProviderError(
            f"url {url!r} names no repository; use https://<host>/<owner>/<repo>/tree/<branch>/<folder>"
        )
    owner, name, rest = segments[0], segments[1].removesuffix(".git"), segments[2:]
    ref, path = "", ""
    if rest:
        if rest[0] not in ("tree", "blob") or len(rest) < 2:
            raise PermanentProviderError(
                f"url {url!r}: expected /tree/<branch>/<folder> or /blob/<branch>/<file> after the repository"
            )
        ref, path = rest[1], "/".join(rest[2:])
    if any(p in ("..", ".") for p in PurePosixPath(path).parts):
        raise PermanentProviderError(f"url {url!r}: a repository path may not contain '..'")
    host = f"{parts.hostname}:{parts.port}" if parts.port else parts.hostname
    return host, owner, name, ref, path


def _integration_host(url: str, host: str) -> None:
    if getattr(settings, "PAVED_GIT_PROVIDER", "") != "github" or host not in integration_hosts():
        configured = ", ".join(integration_hosts()) or "none"
        raise PermanentProviderError(
            f"url {url!r}: {host} is not a configured git integration (configured: {configured}); "
            "keep the skeleton in the template's repository or configure the GitHub integration"
        )


def fetch_remote(ctx: StepContext, url: str, into: Path) -> Path:
    """Copy the folder (or file) `url` names into `into`; returns the path to read."""
    from catalog.ingestion import may_read_repository
    from portal.providers import git_host

    host_name, owner, name, ref, path = parse_repository_url(url)
    _integration_host(url, host_name)
    host = git_host()
    repo = host.get_repository(owner, name)
    if repo is None:
        raise PermanentProviderError(f"url {url!r}: repository {owner}/{name} does not exist")
    requester = ctx.run.requested_by
    private = host.is_private(repo)
    if private and (requester is None or not may_read_repository(requester, repo.full_name, True)):
        raise PermanentProviderError(
            f"url {url!r}: repository {owner}/{name} is private to its team; "
            "a template may only read it for someone who may"
        )
    files = host.list_files(repo, ref=ref or None)
    if not files:
        raise PermanentProviderError(f"url {url!r}: branch {ref or 'default'} has no files")
    if path in files:  # a single file (blob URL)
        target = into / PurePosixPath(path).name
        target.write_bytes(_read(host, repo, path, ref, url))
        return target
    prefix = path.rstrip("/") + "/" if path else ""
    wanted = [f for f in files if f.startswith(prefix)]
    if not wanted:
        raise PermanentProviderError(f"url {url!r}: {path or '/'} does not exist in {owner}/{name}")
    if len(wanted) > MAX_WORKSPACE_FILES:
        raise PermanentProviderError(f"url {url!r}: more than {MAX_WORKSPACE_FILES} files")
    for rel in wanted:
        target = into.joinpath(*PurePosixPath(rel[len(prefix) :]).parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(_read(host, repo, rel, ref, url))
    ctx.log.info("Read %d file(s) from %s.", len(wanted), url)
    return into


def _read(host: object, repo: object, path: str, ref: str, url: str) -> bytes:
    data = host.read_file(repo, path, ref=ref or None)  # type: ignore[attr-defined]
    if data is None:
        raise PermanentProviderError(f"url {url!r}: {path} could not be read")
    if len(data) > MAX_FILE_BYTES:
        raise PermanentProviderError(f"url {url!r}: {path} is larger than {MAX_FILE_BYTES} bytes")
    return bytes(data)
