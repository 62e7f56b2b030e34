"""A Powertools Tracer provider that records what would go into X-Ray instead of sending it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any


@dataclass
class RecordedSubsegment:
    name: str
    metadata: dict[str, Any] = field(default_factory=dict)
    annotations: dict[str, Any] = field(default_factory=dict)

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        self.metadata[f"{namespace}/{key}"] = value

    def put_annotation(self, key: str, value: Any) -> None:
        self.annotations[key] = value


@dataclass
class RecordingTracerProvider:
    subsegments: list[RecordedSubsegment] = field(default_factory=list)

    @contextmanager
    def in_subsegment(self, name: str | None = None, **kwargs: Any) -> Iterator[RecordedSubsegment]:
        subsegment = RecordedSubsegment(name or "")
        self.subsegments.append(subsegment)
        yield subsegment

    def put_metadata(self, key: str, value: Any, namespace: str = "default") -> None:
        self.in_subsegment("(segment)").__enter__().put_metadata(key, value, namespace)

    def put_annotation(self, key: str, value: Any) -> None:
        self.in_subsegment("(segment)").__enter__().put_annotation(key, value)

    @property
    def metadata(self) -> dict[str, Any]:
        return {key: value for segment in self.subsegments for key, value in segment.metadata.items()}
