"""Once-only claims in memory, with `ClaimRepository.claim_once`'s answers (the `Claims` port),
for provider tests that run without the local stack."""

from __future__ import annotations

import threading

from script_to_film.domain.errors import SubmitInDoubtError


class MemoryClaims:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.claims: dict[tuple[str, str], str | None] = {}

    def claim_once(self, video_id: str, claim: str, what: str) -> str | None:
        with self._lock:
            key = (video_id, claim)
            if key not in self.claims:
                self.claims[key] = None
                return None
            task_id = self.claims[key]
        if task_id is None:
            raise SubmitInDoubtError(f"{what} was claimed and never recorded a provider task")
        return task_id

    def record_claim(self, video_id: str, claim: str, task_id: str) -> None:
        with self._lock:
            self.claims[(video_id, claim)] = task_id

    def release_claim(self, video_id: str, claim: str) -> None:
        with self._lock:
            self.claims.pop((video_id, claim), None)
