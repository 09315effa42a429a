"""The record of what cleaning did: every step that changed something, with counts and samples."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class Step:
    """One cleaning step that changed the document; `samples` shows what was removed."""

    name: str
    count: int
    samples: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {"step": self.name, "count": self.count, "samples": self.samples}


class StepLog:
    """Collects steps in order; a step that matched nothing is not recorded."""

    def __init__(self) -> None:
        self.steps: dict[str, Step] = {}

    def add(self, name: str, count: int = 1, sample: str | None = None) -> None:
        if count <= 0:
            return
        step = self.steps.setdefault(name, Step(name, 0))
        step.count += count
        if sample and len(step.samples) < 5:
            step.samples.append(sample[:80])

    def as_list(self) -> list[dict[str, object]]:
        return [step.as_dict() for step in self.steps.values()]
