"""Limits every entry point enforces the same way (CLI, API, S3 batch)."""

from __future__ import annotations

MAX_SCREENPLAY_BYTES = 1_000_000
"""A feature screenplay is 150–250 KB of Fountain (Big Fish: 146 KB); a megabyte leaves room
without letting one request hold a Lambda's memory or a DynamoDB item hostage."""

STEP_FUNCTIONS_HISTORY_LIMIT = 25_000
"""Events one Standard execution may record (a hard limit). Inline Map iterations count here."""

HISTORY_HEADROOM = 0.9
"""Keep 10 % of each history for Lambda service retries, which add five events each."""

# The film's execution: a constant per scene, whatever the scene polls -----------------------

EVENTS_PER_FILM = 60
"""LoadShots, Preflight and its Choice, the Map's own events, AssembleFilm, Finalize and the end
states: at most this many, with every film-level retry."""

EVENTS_PER_SCENE_IN_FILM = 10
"""A scene in the film's history: its Map iteration's start and end and RunScene (entered,
scheduled, started, submitted, succeeded or failed, exited), and SceneNotFinished (2) when the
scene's own execution did not succeed. The scene's polls are in its own execution's history."""

# A scene's own execution (SceneWorkflow) ----------------------------------------------------

EVENTS_PER_SCENE = 24
"""A SceneWorkflow execution outside its poll loop: its start and end, SubmitScene and StoreClip
(each TaskStateEntered, TaskScheduled, TaskStarted, TaskSucceeded, TaskStateExited), the Choice
that sends the scene to StoreClip, IsClipStored, and SceneFilmed or RecordFailure's end."""

EVENTS_PER_SHOT = 14
"""Each shot of a scene after its first: SubmitScene and StoreClip again (5 each), and the two
Choices that send it to StoreClip and on to the next shot (2 each)."""

EVENTS_PER_POLL = 9
"""One turn of the poll loop: WaitForProvider (2 events), CheckScene (5), IsSceneDone (2)."""

EVENTS_PER_RESUBMIT = 5
"""A resubmit after a transient provider failure runs SubmitScene once more."""

MAX_SCENES = 1_000
"""Scenes one film may have. The film's history allows about 2,200 (10 events each); the bound
is the assembly, which downloads every clip into one Lambda's /tmp (10 GB) and stitches them
within its 15 minutes. A feature is 40–200 scenes (Big Fish: 190)."""


def history_budget() -> int:
    return int(STEP_FUNCTIONS_HISTORY_LIMIT * HISTORY_HEADROOM)


def film_history_events(scenes: int) -> int:
    """The most events the film's execution records for `scenes` scenes."""
    return EVENTS_PER_FILM + scenes * EVENTS_PER_SCENE_IN_FILM


def scene_history_events(max_polls: int, max_submits: int, shots: int = 1) -> int:
    """The most events one scene's execution records when its `shots` shots poll `max_polls`
    times in all and each shot is submitted `max_submits` times."""
    return (
        EVENTS_PER_SCENE
        + EVENTS_PER_SHOT * (shots - 1)
        + EVENTS_PER_POLL * max_polls
        + EVENTS_PER_RESUBMIT * (max_submits - 1) * shots
    )


def max_scenes() -> int:
    """The largest film: its history's bound, and MAX_SCENES."""
    return min(MAX_SCENES, (history_budget() - EVENTS_PER_FILM) // EVENTS_PER_SCENE_IN_FILM)


def max_polls_per_scene(max_submits: int, shots: int = 1) -> int:
    """The most polls a scene's own execution can record within its history's budget, all of its
    `shots` shots together: the scene's poll budget, which its shots share."""
    return (history_budget() - scene_history_events(0, max_submits, shots)) // EVENTS_PER_POLL


EXECUTION_TIMEOUT_SECONDS = 604_800
"""The film state machine's TimeoutSeconds (7 days; the infra tests check the ASL says the same):
long enough for a feature filmed one scene at a time on a provider's lowest tier."""

SCENE_EXECUTION_TIMEOUT_SECONDS = 90_000
"""The scene state machine's TimeoutSeconds: the longest scene timeout (24 h) and its tasks."""

SCENE_TASKS_WORST_SECONDS = 60 + 300
"""A scene's tasks outside the poll loop at their TimeoutSeconds: SubmitScene and StoreClip."""

FILM_TASKS_WORST_SECONDS = 60 + 30 + 900 + 60
"""The film's own tasks at their TimeoutSeconds: LoadShots, Preflight, AssembleFilm and Finalize."""


MAX_SCRIPT_SCENES = 2_000
"""Scenes a stored script may have. Well over a feature (Big Fish: 190) and over the 1,000 scenes a
film is planned to reach, so that any script can be filmed whole once films may be that long, or a
part at a time (`scenes`) until then; it bounds what storing and reading a script's breakdown costs
(at most 2,000 shots of 1,000 UTF-16 units of prompt each)."""

MAX_FILM_SHOTS = 5_000
"""Shots one film (or one stored script's breakdown) may be cut into. A feature is 1,000–2,000
(Big Fish: 1,669 from 190 scenes); the bound keeps a stored breakdown to a few megabytes (a shot
is at most about 1.5 KB of JSON) however the scenes are cut. Past it: 422 `too_many_shots`."""

MAX_HEADING_CHARS = 500
"""A scene heading is a line (`INT. KITCHEN - NIGHT`); a longer one is a paragraph mistaken for a
heading, and would not fit the scene's DynamoDB item (400 KB) once repeated for every video."""

MAX_TITLE_CHARS = 200
"""A title longer than this (from a title page's `Title:`) is cut, as the API's `title` is bounded."""

MAX_JSON_DEPTH = 64
"""Nesting of arrays and objects a JSON input (a request body, a page token) may have. The API's
deepest body is two levels; Python's parser would recurse past its stack at about a thousand."""

MAX_JSON_INTEGER_DIGITS = 100
"""Digits an integer of a JSON input may have. Python refuses to read one of over 4,300 digits;
the API's largest number has six."""

MAX_RESPONSE_BYTES = 1_000_000
"""The largest body the API answers: well under Lambda's 6 MB synchronous payload, whatever JSON
escaping adds on the way out, and small enough for any client to hold."""


PRESIGNED_URL_MAX_SECONDS = 3600
"""Presigned URLs live an hour at most: long enough to download a film, short enough that a
leaked link stops working the same afternoon."""
