"""The one transition table for video and scene statuses.

Every status write is conditional on the current status being one this table allows to move to
the new one, so a late or repeated event can never undo progress: a RUNNING poll result that
arrives after StoreClip has written SUCCEEDED is refused by DynamoDB, not applied.
"""

from __future__ import annotations

from script_to_film.domain.models import SceneRecord, SceneStatus, ShotRecord, VideoStatus

_S = SceneStatus
_V = VideoStatus

SCENE_FINAL = frozenset({_S.SUCCEEDED, _S.FAILED, _S.CANCELLED})
VIDEO_FINAL = frozenset({_V.SUCCEEDED, _V.PARTIAL, _V.FAILED, _V.CANCELLED})
LIVE_VIDEO = frozenset({_V.QUEUED, _V.RUNNING})
"""A video for which provider calls may still be made."""

_IN_FLIGHT = frozenset({_S.SUBMITTED, _S.THROTTLED, _S.RUNNING})

SCENE_TRANSITIONS: dict[SceneStatus, frozenset[SceneStatus]] = {
    _S.PENDING: frozenset({_S.SUBMITTED, _S.FAILED, _S.CANCELLED}),
    # In flight, a task moves between queued and running as the provider reports it, is
    # resubmitted after a transient failure (back to SUBMITTED), or finishes.
    _S.SUBMITTED: _IN_FLIGHT | {_S.STORING, _S.FAILED, _S.CANCELLED},
    _S.THROTTLED: _IN_FLIGHT | {_S.STORING, _S.FAILED, _S.CANCELLED},
    _S.RUNNING: _IN_FLIGHT | {_S.STORING, _S.FAILED, _S.CANCELLED},
    # A StoreClip retried after a crash writes STORING again; once a shot is stored, the scene's
    # next shot is submitted.
    _S.STORING: frozenset({_S.STORING, _S.SUBMITTED, _S.SUCCEEDED, _S.FAILED, _S.CANCELLED}),
    _S.SUCCEEDED: frozenset(),
    _S.FAILED: frozenset(),
    _S.CANCELLED: frozenset(),
}

VIDEO_TRANSITIONS: dict[VideoStatus, frozenset[VideoStatus]] = {
    _V.QUEUED: frozenset({_V.RUNNING, _V.FAILED, _V.CANCELLED}),
    _V.RUNNING: frozenset({_V.SUCCEEDED, _V.PARTIAL, _V.FAILED, _V.CANCELLED}),
    _V.SUCCEEDED: frozenset(),
    _V.PARTIAL: frozenset(),
    _V.FAILED: frozenset(),
    _V.CANCELLED: frozenset(),
}


def shots_of(scene: SceneRecord) -> list[ShotRecord]:
    """The scene's shots as they stand: the shot being generated has the scene's status while it
    is in flight (the scene's execution records a shot when it is submitted and when it ends,
    never per poll), and every shot of a scene that SUCCEEDED did."""
    shots = []
    for shot in scene.shots:
        if scene.status is SceneStatus.SUCCEEDED:
            shot = shot.model_copy(update={"status": SceneStatus.SUCCEEDED})
        elif shot.number == scene.shot and (
            scene.status in _IN_FLIGHT | {SceneStatus.STORING}
            or (scene.status in SCENE_FINAL and shot.status not in SCENE_FINAL)
        ):
            # A scene ended from outside its execution (a cancel) ends the shot it was on.
            shot = shot.model_copy(update={"status": scene.status})
        shots.append(shot)
    return shots


def scene_sources(target: SceneStatus) -> frozenset[SceneStatus]:
    """The statuses a scene may be in for a write of `target` to be applied."""
    return frozenset(source for source, targets in SCENE_TRANSITIONS.items() if target in targets)


def video_sources(target: VideoStatus) -> frozenset[VideoStatus]:
    """The statuses a video may be in for a write of `target` to be applied."""
    return frozenset(source for source, targets in VIDEO_TRANSITIONS.items() if target in targets)
