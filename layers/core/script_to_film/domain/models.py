"""Pydantic models shared by the API, the workflow and the CLI.

One model per concept, used at every boundary: the parser produces a `Screenplay`, the director
turns each `Scene` into a `Shot`, and `cost` prices the shots. Everything here is pure data.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class IntExt(StrEnum):
    """Where a scene happens, from the start of its heading."""

    INT = "INT"
    EXT = "EXT"
    INT_EXT = "INT/EXT"
    EST = "EST"


class ElementType(StrEnum):
    """The kinds of Fountain paragraph kept inside a scene, in script order."""

    ACTION = "action"
    CHARACTER = "character"
    PARENTHETICAL = "parenthetical"
    DIALOGUE = "dialogue"
    LYRIC = "lyric"
    TRANSITION = "transition"
    CENTERED = "centered"
    PAGE_BREAK = "page_break"
    SECTION = "section"
    SYNOPSIS = "synopsis"


class Element(BaseModel):
    """One paragraph-level element of a scene, markup stripped."""

    model_config = ConfigDict(frozen=True)

    type: ElementType
    text: str = ""
    character: str | None = None
    """For character, parenthetical, dialogue and lyric elements spoken in a dialogue block."""
    dual: bool = False
    """True for both blocks of a dual-dialogue pair (`^` on the second character)."""
    depth: int | None = None
    """Section depth (number of leading `#`)."""


class DialogueLine(BaseModel):
    """One speech of a character: the name without extension, the last parenthetical, the words."""

    model_config = ConfigDict(frozen=True)

    character: str
    extension: str | None = None
    """`V.O.`, `O.S.`, `CONT'D`… as written, without parentheses."""
    parenthetical: str | None = None
    text: str
    dual: bool = False


class ShotNote(BaseModel):
    """A `[[shot: …]]` note: a shot starts at the scene's element `element`, filmed as it says."""

    model_config = ConfigDict(frozen=True)

    text: str
    element: int = Field(ge=0, description="Index into the scene's elements where the shot starts")


class Direction(BaseModel):
    """Per-scene direction from notes (`[[camera: …]]`, `[[style: …]]`, `[[duration: N]]`,
    `[[shot: …]]`).

    Each field, when set, overrides what the director would choose for that scene: the camera of
    its master shot, its style, its length (in seconds, the sum of its shots), and where a shot
    starts and how it is filmed.
    """

    model_config = ConfigDict(frozen=True)

    camera: str | None = None
    style: str | None = None
    duration: int | None = Field(default=None, ge=1, le=600)
    shots: tuple[ShotNote, ...] = ()


class Scene(BaseModel):
    """A scene: its heading split into parts, and its content in script order."""

    number: int = Field(ge=1, description="1-based position in the screenplay")
    scene_number: str | None = Field(default=None, description="From `#…#` in the heading")
    heading: str
    int_ext: IntExt | None = None
    location: str = ""
    time_of_day: str | None = None
    qualifiers: list[str] = Field(default_factory=list, description="e.g. FLASHBACK, 1973, STORM")
    elements: list[Element] = Field(default_factory=list)
    characters: list[str] = Field(default_factory=list, description="Speaking characters, first line order")
    dialogue: list[DialogueLine] = Field(default_factory=list)
    action: str = Field(default="", description="Action paragraphs joined by blank lines")
    notes: list[str] = Field(default_factory=list)
    direction: Direction = Field(default_factory=Direction)
    section: str | None = Field(default=None, description="Innermost section the scene sits in")
    synopses: list[str] = Field(default_factory=list)
    estimated_seconds: int = Field(ge=1, description="Screen time estimate, a page a minute")


class Screenplay(BaseModel):
    """A parsed Fountain screenplay."""

    title: str | None = None
    title_page: dict[str, str] = Field(
        default_factory=dict, description="Keys lower-cased with spaces as underscores: draft_date"
    )
    scenes: list[Scene]
    notes: list[str] = Field(default_factory=list, description="Notes before the first scene heading")

    @property
    def total_seconds(self) -> int:
        return sum(scene.estimated_seconds for scene in self.scenes)


class ShotKind(StrEnum):
    """How a shot covers its part of a scene, as a film is cut."""

    MASTER = "master"
    """The establishing shot that opens a scene: its place and its opening action."""
    SINGLE = "single"
    """A close-up on one speaker."""
    OVER_THE_SHOULDER = "over_the_shoulder"
    """On a speaker, from behind the one they talk to."""
    TWO_SHOT = "two_shot"
    """Two people in frame: dual dialogue."""
    MEDIUM = "medium"
    """An action paragraph about a character."""
    INSERT = "insert"
    """An action paragraph about a thing or the place: a detail."""


class Shot(BaseModel):
    """What the video model is asked for one shot of a scene."""

    scene: int = Field(ge=1, description="Scene number (1-based) this shot films")
    number: int = Field(default=1, ge=1, description="1-based position of the shot within its scene")
    kind: ShotKind = ShotKind.MASTER
    lines: list[int] = Field(
        default_factory=list, description="Indices into the scene's dialogue this shot carries, in order"
    )
    subject: str | None = Field(default=None, description="The character the shot is on")
    camera: str
    lighting: str
    environment: str
    style: str
    prompt: str
    duration: int
    ratio: str
    model: str
    provider: str


class SceneJob(BaseModel):
    """Everything a provider needs to film one scene of one video, stored once per video in S3.

    The workflow passes only ids; handlers load the job by (video id, scene number).
    """

    video_id: str
    scene: Scene
    shot: Shot
    """The shot this job films (the scene's first, as stored; `at` gives the others)."""
    shots: list[Shot] = Field(default_factory=list)
    """Every shot of the scene, in order: the scene's clip is them joined."""
    keyframe: bool = False
    """Generate a keyframe image first and animate it (image_to_video) instead of text_to_video."""
    model_audio: bool = False
    """Have a model that makes its own sound (veo) make it, instead of the film's own voices."""
    start_seconds: float = Field(default=0, ge=0)
    """Where the scene starts in the film: the animatic's timecode runs on from there."""
    fade_in: bool = False
    """The scene opens from black: the film's first, or one after a fade or a dissolve."""

    @property
    def shot_count(self) -> int:
        return len(self.shots) or 1

    def at(self, number: int) -> SceneJob:
        """The job of the scene's shot `number` (1-based)."""
        if not self.shots:
            return self
        earlier = sum(shot.duration for shot in self.shots[: number - 1])
        return self.model_copy(
            update={
                "shot": self.shots[number - 1],
                # The timecode runs on through the scene's shots; only its first shot fades in.
                "start_seconds": self.start_seconds + earlier,
                "fade_in": self.fade_in and number == 1,
            }
        )


class VideoStatus(StrEnum):
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    PARTIAL = "PARTIAL"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


class SceneStatus(StrEnum):
    PENDING = "PENDING"
    SUBMITTED = "SUBMITTED"
    THROTTLED = "THROTTLED"
    RUNNING = "RUNNING"
    STORING = "STORING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


class ShotRecord(BaseModel):
    """A shot of a scene as the scene's item holds it: generated one after the other inside the
    scene's execution, each with its own tries, status and failure."""

    number: int = Field(ge=1)
    kind: ShotKind = ShotKind.MASTER
    duration_seconds: int
    lines: list[int] = Field(default_factory=list)
    status: SceneStatus = SceneStatus.PENDING
    provider_task_id: str | None = None
    attempts: int = 0
    failure_code: str | None = None
    failure: str | None = None
    credits: float | None = None


class SceneRecord(BaseModel):
    """A scene of a video as DynamoDB holds it: what the API and the manifest report."""

    number: int
    heading: str
    status: SceneStatus = SceneStatus.PENDING
    duration_seconds: int
    provider_task_id: str | None = None
    attempts: int = 0
    failure_code: str | None = None
    failure: str | None = None
    clip_key: str | None = None
    estimated_credits: float = 0
    credits: float | None = None
    progress: float | None = None
    note: str | None = None
    """What else happened to the scene worth knowing, e.g. a cancel the provider did not confirm."""
    shot: int = 1
    """The shot being generated (all of them are stored once the scene SUCCEEDED)."""
    shots: list[ShotRecord] = Field(default_factory=list)
    """The scene's shots in order; its clip is them joined."""
    updated_at: str | None = None


class LeftOut(BaseModel):
    """A scene whose stored clip the assembly could not read, so the film goes on without it."""

    scene: int
    reason: str


class VideoRecord(BaseModel):
    """A video (one run of the workflow over a screenplay) and its scenes."""

    id: str
    script_id: str
    status: VideoStatus = VideoStatus.QUEUED
    title: str | None = None
    provider: str
    model: str
    style: str
    ratio: str
    scene_count: int
    keyframe: bool = False
    fps: int | None = None
    """The frame rate the caller asked for, recorded; each provider renders at its own fixed rate."""
    estimated_credits: float
    estimated_usd: float
    credits: float | None = None
    execution_arn: str | None = None
    film_key: str | None = None
    manifest_key: str | None = None
    batch_id: str | None = None
    """The S3 batch that started this video, whose summary Finalize brings up to date."""
    failure: str | None = None
    """Why the video ended FAILED or CANCELLED when no scene says it (the film could not be
    assembled, the workflow could not be started, the execution was stopped or timed out)."""
    left_out: list[LeftOut] = Field(default_factory=list)
    concurrency: int | None = None
    """Scenes generated at once, as the provider's account allowed (or as configured)."""
    concurrency_source: str | None = None
    """`provider` when the account said so, `configured` when it could not be asked."""
    limits_note: str | None = None
    """Why the configured concurrency was used, when the account could not be read."""
    request_digest: str | None = None
    """A digest of the request that made the video under an Idempotency-Key: a retry of that key
    with another request is refused, even after its idempotency record is gone."""
    created_at: str
    updated_at: str | None = None
    scenes: list[SceneRecord] = Field(default_factory=list)


class ScriptStatus(StrEnum):
    WRITING = "WRITING"
    READY = "READY"
    FAILED = "FAILED"


class ScriptRecord(BaseModel):
    """A screenplay as stored: its text lives in S3, the item holds what lists and pages show."""

    id: str
    title: str | None = None
    status: ScriptStatus = ScriptStatus.READY
    scene_count: int = 0
    created_at: str
    failure: str | None = None


class BatchStatus(StrEnum):
    """A batch is STARTING while its videos are being started, STARTED once every screenplay in
    it has a video or a recorded refusal, and DONE once its summary is written."""

    STARTING = "STARTING"
    STARTED = "STARTED"
    DONE = "DONE"


class BatchItemState(StrEnum):
    """CLAIMED: a delivery is starting this screenplay (or died doing it); then STARTED or FAILED."""

    CLAIMED = "CLAIMED"
    STARTED = "STARTED"
    FAILED = "FAILED"


class BatchItemRecord(BaseModel):
    """One screenplay of a batch, claimed before its video is started so it is started once."""

    number: int = Field(ge=1, description="1-based position in the batch")
    name: str
    key: str | None = Field(default=None, description="The object the screenplay came from; None if inline")
    state: BatchItemState = BatchItemState.CLAIMED
    video_id: str | None = None
    error: str | None = None
    owner: str | None = Field(default=None, description="The delivery that holds the claim")
    updated_at: str | None = None


class BatchRecord(BaseModel):
    """One object version dropped into `incoming/`: where it came from and what it started."""

    id: str
    bucket: str
    key: str
    version_id: str | None = None
    sequencer: str | None = None
    name: str
    status: BatchStatus = BatchStatus.STARTING
    owner: str = Field(description="The delivery starting the batch's videos")
    lease_until: float = Field(description="Epoch seconds after which that delivery is certainly over")
    created_at: str
    updated_at: str | None = None
    items: list[BatchItemRecord] = Field(default_factory=list)


def now_iso() -> str:
    """Now, as every record writes a time: UTC to the millisecond, `Z`-suffixed."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
