"""Validate catalog files without writing anything (`manage.py catalog validate`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from catalog.validation import KindSchema, validate_entity
from catalog.yamlio import MAX_FILE_BYTES, YamlError, parse_documents


@dataclass
class DocumentReport:
    """The verdict on one YAML document, in the shape `catalog validate --json` prints."""

    path: str
    index: int
    kind: str | None
    name: str | None
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not self.errors

    def as_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "index": self.index,
            "kind": self.kind,
            "name": self.name,
            "valid": self.valid,
            "errors": self.errors,
            "warnings": self.warnings,
        }


class FileProblem(Exception):
    """A file that cannot be read or parsed as YAML at all."""


def check_text(
    path: str, text: bytes | str, *, extra_kinds: Mapping[str, KindSchema] | None = None
) -> list[DocumentReport]:
    """Validate every document of one file; raises FileProblem if it is not YAML."""
    try:
        docs = parse_documents(text)
    except YamlError as exc:
        raise FileProblem(f"{path}: {exc}") from exc
    reports = []
    for doc in docs:
        if doc.data is None:
            continue  # empty documents are skipped, as Backstage does
        verdict = validate_entity(doc.data, extra_kinds=extra_kinds)
        reports.append(
            DocumentReport(
                path=path,
                index=doc.index,
                kind=verdict.kind,
                name=verdict.name,
                errors=[str(e) for e in verdict.errors],
                warnings=list(doc.warnings),
            )
        )
    return reports


def check_file(
    path: str,
    *,
    extra_kinds: Mapping[str, KindSchema] | None = None,
    max_bytes: int = MAX_FILE_BYTES,
) -> list[DocumentReport]:
    file = Path(path)
    try:
        size = file.stat().st_size
        if size > max_bytes:
            raise FileProblem(
                f"{path}: the file is {size:,} bytes; the catalog reads files up to "
                f"{max_bytes:,} bytes (split it into several files)"
            )
        data = file.read_bytes()
    except FileNotFoundError:
        raise FileProblem(f"{path}: no such file") from None
    except IsADirectoryError:
        raise FileProblem(f"{path}: is a directory, not a YAML file") from None
    except OSError as exc:
        raise FileProblem(f"{path}: cannot be read ({exc.strerror})") from exc
    return check_text(path, data, extra_kinds=extra_kinds)
