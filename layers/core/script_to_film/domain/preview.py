"""What an animatic film adds around its scenes so that it reads as a film: a title card from
the title page before the first scene, an end card after the last, and one running timecode
across all of it (the title card starts it at 00:00:00:00).

Only the animatic's films have the cards: its clips and the cards share one encoding, so the
film is still joined by stream copy, where a provider's footage would be re-encoded to match.
"""

from __future__ import annotations

PREVIEW_PROVIDER = "animatic"
TITLE_CARD_SECONDS = 4
END_CARD_SECONDS = 3


def has_cards(provider: str) -> bool:
    """Whether a film of this provider opens on a title card and closes on an end card."""
    return provider == PREVIEW_PROVIDER


def first_scene_starts_at(provider: str) -> int:
    """Seconds into the film at which its first scene starts: after the title card, if any."""
    return TITLE_CARD_SECONDS if has_cards(provider) else 0
