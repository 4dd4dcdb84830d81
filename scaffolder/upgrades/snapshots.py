"""Snapshots of a template version's folder, so an old version can be rendered exactly."""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import uuid
from pathlib import Path

from django.conf import settings
from django.db import IntegrityError, transaction

from runs.workspace import safe_join
from scaffolder.models import TemplateSnapshot, TemplateVersion
from scaffolder.steps._files import SNAPSHOTS_FOLDER

# A folder larger than this is not snapshotted: upgrades then render it from the folder.
MAX_SNAPSHOT_FILES = 2000
MAX_SNAPSHOT_BYTES = 20 * 1024 * 1024
# Tools' caches left in a template's folder by running them there are not part of a version.
CACHE_FOLDERS = frozenset({".git", "__pycache__", ".ruff_cache", ".mypy_cache", ".pytest_cache"})


def folder_files(base_dir: str) -> dict[str, bytes] | None:
    """Every regular file of the template folder (no .git or tool caches, no symlinks), or None
    when the folder is missing or too large to keep."""
    root = Path(base_dir) if base_dir else None
    if root is None or not root.is_dir():
        return None
    files: dict[str, bytes] = {}
    total = 0
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if path.is_symlink() or not path.is_file() or CACHE_FOLDERS.intersection(rel.split("/")):
            continue
        data = path.read_bytes()
        total += len(data)
        if len(files) >= MAX_SNAPSHOT_FILES or total > MAX_SNAPSHOT_BYTES:
            return None
        files[rel] = data
    return files


def tree_digest(base_dir: str) -> str:
    """A digest of the folder's files, part of a version's content hash: a changed skeleton
    is a new version even when template.yaml did not change."""
    files = folder_files(base_dir)
    if not files:
        return ""
    digest = hashlib.sha256()
    for rel, data in files.items():
        digest.update(rel.encode() + b"\0" + hashlib.sha256(data).digest())
    return digest.hexdigest()


def snapshot_version(version: TemplateVersion) -> TemplateSnapshot | None:
    files = folder_files(version.base_dir)
    if files is None:
        return None
    encoded = {rel: base64.b64encode(data).decode() for rel, data in files.items()}
    try:
        with transaction.atomic():
            snapshot, _ = TemplateSnapshot.objects.get_or_create(
                version=version,
                defaults={"files": encoded, "tree_hash": tree_digest(version.base_dir)},
            )
    except IntegrityError:
        return TemplateSnapshot.objects.filter(version=version).first()
    return snapshot


def materialize(version: TemplateVersion, folder: Path) -> Path | None:
    """Write the version's snapshot into `folder`; None when it has none."""
    snapshot = TemplateSnapshot.objects.filter(version=version).first()
    if snapshot is None:
        return None
    for rel, encoded in snapshot.files.items():
        target = safe_join(folder, rel, what="snapshot file")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(base64.b64decode(encoded))
    return folder


def snapshot_folder(version: TemplateVersion) -> Path | None:
    """The version's snapshot written out once under the data directory and reused (a version
    never changes, so its folder is named by its id and hash); None when it has none."""
    root = Path(settings.PAVED_DATA_DIR) / SNAPSHOTS_FOLDER
    folder = root / f"{version.pk}-{version.content_hash[:16]}"
    if (folder / ".complete").is_file():
        return folder
    partial = root / f".{folder.name}-{uuid.uuid4().hex[:8]}"
    if materialize(version, partial) is None:
        return None
    (partial / ".complete").touch()
    try:
        os.rename(partial, folder)
    except OSError:  # another process wrote it first: theirs is the same
        shutil.rmtree(partial, ignore_errors=True)
    return folder
