"""One repository per aggregate of the table: scripts (with their text and breakdown), videos
(with their scenes and scene jobs), the once-only claims on paid calls, and batches.
Each implements its port of `script_to_film.domain.ports`."""
