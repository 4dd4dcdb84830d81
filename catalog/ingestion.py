"""Reading locations: files, URLs and git repositories, following Location entities.

This module reads and validates; it writes nothing (catalog.services stores the result). A
problem with one target or one document is recorded and the rest of the location is still read.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlparse

from django.conf import settings
from django.contrib.auth.models import User

from catalog.queries import group_refs_for_user, team_owns_repository
from catalog.validation import (
    FieldError,
    KindSchema,
    RefError,
    RelationRow,
    iter_placeholders,
    parse_ref,
    stringify_ref,
    validate_entity,
)
from catalog.yamlio import MAX_FILE_BYTES, YamlDocument, YamlError, load_one, parse_documents
from portal.annotations import MANAGED_BY_LOCATION, MANAGED_BY_ORIGIN_LOCATION, PAVED_ONLY
from portal.lib import outbound

FILE, URL, REPO = "file", "url", "repo"

CATALOG_FILE = "catalog-info.yaml"
MAX_TARGETS = 500  # files followed from one registered location


def max_file_bytes() -> int:
    return int(getattr(settings, "PAVED_CATALOG_MAX_FILE_BYTES", MAX_FILE_BYTES))


class ReadError(Exception):
    """A target that cannot be read; the message says which and why."""


class RefusedError(ReadError):
    """A URL Paved may not fetch (the outbound rules); a location that needs one is refused."""


@dataclass(frozen=True)
class Target:
    """Something readable: a file path, a URL, or `owner/name[/path]` on the git host."""

    type: str
    target: str

    def __str__(self) -> str:
        return f"{self.type}:{self.target}"

    def resolve(self, relative: str) -> Target:
        """A target relative to this one (Location `targets`, placeholders, techdocs)."""
        parsed = urlparse(relative)
        if parsed.scheme in ("http", "https"):
            return Target(URL, relative)
        if self.type == URL:
            return Target(URL, urljoin(self.target, relative))
        if self.type == REPO:
            where, _, branch = self.target.partition("#")
            owner, name, path = split_repo(where)
            joined = posixpath.normpath(posixpath.join(posixpath.dirname(path), relative))
            if joined.startswith("../") or joined == "..":
                raise ReadError(f"{relative!r} points outside the repository {owner}/{name}")
            suffix = f"#{branch}" if branch else ""
            return Target(REPO, f"{owner}/{name}/{joined.lstrip('/')}{suffix}")
        return Target(FILE, str((Path(self.target).parent / relative).resolve()))


def split_repo(target: str) -> tuple[str, str, str]:
    parts = target.strip("/").split("/", 2)
    if len(parts) < 2 or not parts[0] or not parts[1]:
        raise ReadError(f"repository location {target!r} must look like owner/name[/path]")
    return parts[0], parts[1], parts[2] if len(parts) == 3 else CATALOG_FILE


def read_target(target: Target, reader: User | None = None) -> bytes:
    """The bytes at `target`, at most `max_file_bytes()`; ReadError otherwise."""
    limit = max_file_bytes()
    if target.type == FILE:
        path = Path(target.target)
        try:
            if path.stat().st_size > limit:
                raise ReadError(f"{path} is larger than the {limit:,}-byte limit")
            return path.read_bytes()
        except FileNotFoundError:
            raise ReadError(f"file {path} does not exist") from None
        except IsADirectoryError:
            raise ReadError(f"{path} is a directory, not a YAML file") from None
        except OSError as exc:
            raise ReadError(f"file {path} cannot be read: {exc.strerror}") from exc
    if target.type == URL:
        return _read_url(target.target, limit)
    if target.type == REPO:
        return _read_repo(target.target, limit, reader)
    raise ReadError(f"unknown location type {target.type!r} (use file, url or repo)")


def _read_url(url: str, limit: int) -> bytes:
    # Every rule about where Paved may connect lives in portal.lib.outbound.
    timeout = float(getattr(settings, "PAVED_CATALOG_URL_TIMEOUT", 10))
    try:
        return outbound.fetch(url, max_bytes=limit, timeout=timeout)
    except outbound.FetchRefused as exc:
        raise RefusedError(str(exc)) from None
    except outbound.FetchError as exc:
        raise ReadError(str(exc)) from None


def may_read_repository(reader: User, full_name: str, private: bool) -> bool:
    """The catalog reads a private repository only for its team: a platform admin, a member of
    the team named by its owner, or of the team owning a component that names it
    (`<host>/project-slug`). Whoever registered a location is its reader, on every refresh."""
    if not private or reader.is_staff:
        return True

    return team_owns_repository(group_refs_for_user(reader), full_name)


def _read_repo(target: str, limit: int, reader: User | None = None) -> bytes:
    from portal.providers import git_host
    from portal.providers.base import ProviderError

    target, _, branch = target.partition("#")
    owner, name, path = split_repo(target)
    try:
        host = git_host()
        repo = host.get_repository(owner, name)
        if repo is None:
            raise ReadError(f"repository {owner}/{name} does not exist on the {host.name} git host")
        if reader is not None and not may_read_repository(
            reader, repo.full_name, host.is_private(repo)
        ):
            raise RefusedError(
                f"repository {owner}/{name} is private to its team; only its team or a platform "
                "admin may register it"
            )
        data = host.read_file(repo, path, ref=branch or None)
    except ProviderError as exc:
        raise ReadError(f"repository {owner}/{name}: {exc}") from exc
    if data is None:
        raise ReadError(f"repository {owner}/{name} has no {path}")
    if len(data) > limit:
        raise ReadError(f"{owner}/{name}/{path} is larger than the {limit:,}-byte limit")
    return data


@dataclass
class ProcessedEntity:
    """One document read from a location: the resolved entity, its relations and problems."""

    ref: str
    kind: str
    namespace: str
    name: str
    doc: dict[str, Any]
    source: str
    relations: list[RelationRow] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def etag(self) -> str:
        body = json.dumps([self.doc, self.source], sort_keys=True, default=str)
        return hashlib.sha256(body.encode()).hexdigest()

    def fields(self) -> dict[str, Any]:
        """Column values for catalog.models.Entity."""
        meta = _mapping(self.doc.get("metadata"))
        spec = _mapping(self.doc.get("spec"))
        owner_ref = ""
        if isinstance(spec.get("owner"), str):
            try:
                owner_ref = str(
                    parse_ref(spec["owner"], default_kind="Group", default_namespace=self.namespace)
                )
            except RefError:
                owner_ref = ""
        tags = [t for t in meta.get("tags") or [] if isinstance(t, str)]
        title = _text(meta.get("title"))
        description = _text(meta.get("description"))
        spec_type = _text(spec.get("type"))
        lifecycle = _text(spec.get("lifecycle"))
        return {
            "kind": self.kind,
            "namespace": self.namespace,
            "name": self.name,
            "ref": self.ref,
            "api_version": str(self.doc.get("apiVersion") or "")[:100],
            "title": title[:300],
            "description": description,
            "spec_type": spec_type[:100],
            "lifecycle": lifecycle[:100],
            "owner_ref": owner_ref[:400],
            "tags": tags,
            "metadata": meta,
            "spec": spec,
            "source": self.source[:1000],
            "processing_warnings": self.warnings,
            "search_text": " ".join(
                [
                    self.name,
                    title,
                    description,
                    self.kind,
                    spec_type,
                    lifecycle,
                    *tags,
                    owner_ref.partition("/")[2],
                ]
            ).lower(),
        }


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


@dataclass
class ReadResult:
    """Everything read from one registered location."""

    entities: dict[str, ProcessedEntity] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)  # location-level problems
    failed_sources: set[str] = field(default_factory=set)  # files that could not be read/parsed
    sources: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # URLs the outbound rules did not allow


def _resolve_placeholders(
    doc: dict[str, Any], base: Target, cache: dict[Target, bytes], refused: list[str]
) -> list[FieldError]:
    """Replace `$text`/`$json`/`$yaml` values in place, reading relative to `base`."""
    errors = []
    for path, key, argument in list(iter_placeholders(doc)):
        try:
            if not isinstance(argument, str) or not argument:
                raise ReadError(f"{key} needs a path or URL, found {argument!r}")
            target = base.resolve(argument)
            if target not in cache:
                cache[target] = read_target(target)
            raw = cache[target]
            if key == "$text":
                value: Any = raw.decode("utf-8", errors="replace")
            elif key == "$json":
                value = json.loads(raw)
            else:
                value = load_one(raw)
        except (ReadError, YamlError, ValueError) as exc:
            if isinstance(exc, RefusedError):
                refused.append(str(exc))
            errors.append(FieldError(path, f"cannot resolve {key} placeholder: {exc}"))
            continue
        _set_path(doc, path, value)
    return errors


def _set_path(doc: Any, path: str, value: Any) -> None:
    parts = path.split(".")
    node = doc
    for part in parts[:-1]:
        node = node[int(part)] if isinstance(node, list) else node[part]
    last = parts[-1]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value


def read_location(
    root: Target,
    *,
    extra_kinds: Mapping[str, KindSchema] | None = None,
    reader: User | None = None,
) -> ReadResult:
    """Read `root` and every file its Location entities point to (breadth first)."""
    result = ReadResult()
    queue: deque[tuple[Target, bool]] = deque([(root, True)])
    seen: set[Target] = set()
    cache: dict[Target, bytes] = {}
    while queue:
        target, required = queue.popleft()
        if target in seen:
            continue
        seen.add(target)
        if len(seen) > MAX_TARGETS:
            result.errors.append(f"stopped after {MAX_TARGETS} files; is there a Location loop?")
            break
        source = str(target)
        result.sources.append(source)
        docs = _read_documents(target, required, reader, result)
        for doc in docs:
            if doc.data is None:
                continue
            if not isinstance(doc.data, dict):
                result.errors.append(
                    f"{source}: document {doc.index} (line {doc.line}): expected a mapping "
                    "(an entity) at the document root"
                )
                continue
            processed = _process(doc, target, root, extra_kinds, cache, result)
            if processed is not None and processed.kind == "Location" and not processed.errors:
                queue.extend(_children(doc.data, target, result))
    return result


def _read_documents(
    target: Target, required: bool, reader: User | None, result: ReadResult
) -> list[YamlDocument]:
    """The documents of one file; [] (with the error recorded) when it cannot be read."""
    source = str(target)
    try:
        return parse_documents(read_target(target, reader))
    except ReadError as exc:
        if isinstance(exc, RefusedError):
            # Reported even for optional targets: someone asked Paved to go there.
            result.refused.append(str(exc))
            result.errors.append(f"{source}: {exc}")
            result.failed_sources.add(source)
        elif required:
            result.errors.append(f"{source}: {exc}")
            result.failed_sources.add(source)
    except YamlError as exc:
        result.errors.append(f"{source}: {exc}")
        result.failed_sources.add(source)
    return []


def _process(
    doc: YamlDocument,
    target: Target,
    root: Target,
    extra_kinds: Mapping[str, KindSchema] | None,
    cache: dict[Target, bytes],
    result: ReadResult,
) -> ProcessedEntity | None:
    """Validate one entity document and add it to `result` (None when it is not kept)."""
    source = str(target)
    data: dict[str, Any] = doc.data
    placeholder_errors = _resolve_placeholders(data, target, cache, result.refused)
    verdict = validate_entity(data, extra_kinds=extra_kinds)
    kind, name = verdict.kind, verdict.name
    if not kind or not name:
        problems = "; ".join(str(e) for e in verdict.errors)
        result.errors.append(f"{source}: document {doc.index}: {problems}")
        return None
    ref = stringify_ref(kind, verdict.namespace, name)
    errors = [str(e) for e in placeholder_errors + verdict.errors]
    if ref in result.entities:
        other = result.entities[ref].source
        result.errors.append(
            f"{source}: document {doc.index}: {ref} is also defined in {other}; "
            "the first definition is kept"
        )
        return None
    annotations = data.setdefault("metadata", {}).setdefault("annotations", {})
    if isinstance(annotations, dict):
        # Always ours, never the document's: other code trusts where an entity came from
        # (a template's files are read next to its `file:` location).
        annotations[MANAGED_BY_LOCATION] = source
        annotations[MANAGED_BY_ORIGIN_LOCATION] = str(root)
        for key in PAVED_ONLY:
            annotations.pop(key, None)
    processed = result.entities[ref] = ProcessedEntity(
        ref=ref,
        kind=kind,
        namespace=verdict.namespace,
        name=name,
        doc=data,
        source=source,
        relations=verdict.relations,
        errors=[f"document {doc.index} of {source}: {e}" for e in errors],
        warnings=[f"document {doc.index} of {source}: {w}" for w in doc.warnings],
    )
    return processed


def _children(
    data: dict[str, Any], target: Target, result: ReadResult
) -> list[tuple[Target, bool]]:
    """The targets a valid Location entity points to, each with whether it is required."""
    source = str(target)
    spec = data.get("spec") or {}
    child_type = spec.get("type") or target.type
    optional = spec.get("presence") == "optional"
    found: list[tuple[Target, bool]] = []
    for child in [spec.get("target"), *(spec.get("targets") or [])]:
        if not child:
            continue
        if child_type == FILE and target.type != FILE:
            # Only platform admins register file locations; a document fetched
            # from a URL or repository must not make the server read its own disk.
            result.errors.append(
                f"{source}: a {target.type} location cannot point at files on the "
                f"Paved server ({child}); ask a platform admin to register it"
            )
            continue
        try:
            if child_type != target.type and child_type in (FILE, URL, REPO):
                child_target = Target(child_type, child)
            else:
                child_target = target.resolve(child)
        except ReadError as exc:
            result.errors.append(f"{source}: {exc}")
            continue
        found.append((child_target, not optional))
    return found
