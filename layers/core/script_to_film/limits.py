"""Limits every entry point enforces the same way (CLI, API, S3 batch)."""

from __future__ import annotations

MAX_SCREENPLAY_BYTES = 1_000_000
"""A feature screenplay is 150–250 KB of Fountain (Big Fish: 146 KB); a megabyte leaves room
without letting one request hold a Lambda's memory or a DynamoDB item hostage."""

STEP_FUNCTIONS_HISTORY_LIMIT = 25_000
"""Events one Standard execution may record (a hard limit). Inline Map iterations count here."""

HISTORY_HEADROOM = 0.9
"""Keep 10 % of the history for Lambda service retries, which add five events each."""

EVENTS_PER_SCENE = 21
"""Per scene, outside the poll loop: the iteration's start and end, SubmitScene and StoreClip
(each TaskStateEntered, TaskScheduled, TaskStarted, TaskSucceeded, TaskStateExited), the Choice
that sends the scene to StoreClip, the Choice after it (IsClipStored) and SceneFilmed."""

EVENTS_PER_POLL = 9
"""One turn of the poll loop: WaitForProvider (2 events), CheckScene (5), IsSceneDone (2)."""

EVENTS_PER_RESUBMIT = 5
"""A resubmit after a transient provider failure runs SubmitScene once more."""

EVENTS_PER_FILM = 40
"""LoadShots, the Map's own events, AssembleFilm, Finalize and the end states."""

MAX_SCENES = 100
"""However short the polling, one film has at most this many scenes (a feature is 40–200)."""


def history_events(scenes: int, max_polls: int, max_submits: int) -> int:
    """The most events an execution of `scenes` scenes can record when every scene polls
    `max_polls` times and is submitted `max_submits` times (the budget's worst case)."""
    per_scene = EVENTS_PER_SCENE + EVENTS_PER_POLL * max_polls + EVENTS_PER_RESUBMIT * (max_submits - 1)
    return EVENTS_PER_FILM + scenes * per_scene


def max_scenes(max_polls: int, max_submits: int) -> int:
    """The largest film whose worst-case history fits the limit with headroom."""
    budget = STEP_FUNCTIONS_HISTORY_LIMIT * HISTORY_HEADROOM - EVENTS_PER_FILM
    per_scene = history_events(1, max_polls, max_submits) - EVENTS_PER_FILM
    return max(0, min(MAX_SCENES, int(budget // per_scene)))


EXECUTION_TIMEOUT_SECONDS = 86_400
"""The film state machine's TimeoutSeconds (24 h); the infra tests check the ASL says the same."""

SCENE_TASKS_WORST_SECONDS = 60 + 300
"""A scene's tasks outside the poll loop at their TimeoutSeconds: SubmitScene and StoreClip."""

FILM_TASKS_WORST_SECONDS = 60 + 900 + 60
"""The film's own tasks at their TimeoutSeconds: LoadShots, AssembleFilm and Finalize."""


MAX_SCRIPT_SCENES = 2_000
"""Scenes a stored script may have. Well over a feature (Big Fish: 190) and over the 1,000 scenes a
film is planned to reach, so that any script can be filmed whole once films may be that long, or a
part at a time (`scenes`) until then; it bounds what storing and reading a script's breakdown costs
(at most 2,000 shots of 1,000 UTF-16 units of prompt each)."""

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
