"""The default curation pipeline, built from a ``CurateConfig``: the paper's order plus what it lacked.

normalize -> user_id -> format_filter -> [snapshot_dedup] -> language -> pii -> moderation
-> jailbreak (on by default) -> content_filter -> duplicate_signatures -> [duplicate_groups] -> [select] -> [sample]
(bracketed: global stages; the executor runs them after the per-record map phase).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chatsift.pipeline.pipeline import Pipeline
from chatsift.pipeline.stage import Stage
from chatsift.schema import working_schema
from chatsift.stages.dedup.groups import DuplicateGroups
from chatsift.stages.dedup.signatures import DuplicateSignatures
from chatsift.stages.filters import ContentFilter, FormatFilter
from chatsift.stages.jailbreak import JailbreakStage
from chatsift.stages.language import LanguageStage
from chatsift.stages.moderation import ModerationStage
from chatsift.stages.normalize import NormalizeStage
from chatsift.stages.pii import PiiStage
from chatsift.stages.sample import Sample
from chatsift.stages.select import Select
from chatsift.stages.snapshot import PRE_SNAPSHOT_REASONS, SnapshotDedup
from chatsift.stages.user_id import RAW_USER, UserIdStage

if TYPE_CHECKING:  # the type only: config imports the settings of the layers below it, not the other way
    from chatsift.config import CurateConfig


def build_pipeline(config: CurateConfig, user_secret: bytes, work_dir: str | None = None) -> Pipeline:
    """The default stages for ``config``; ``work_dir``: the run's work folder (the moderation stage keeps its
    LLM ledger there)."""
    excluded = config.select.exclude_reasons
    pre = tuple(r for r in PRE_SNAPSHOT_REASONS if r in excluded)
    post = tuple(r for r in excluded if r not in pre)
    stages: list[Stage] = [
        NormalizeStage(config.normalize),
        UserIdStage(user_secret),
        FormatFilter(config.filters),
        SnapshotDedup(pre, enabled=config.snapshot.enabled, scope=config.snapshot.scope),
    ]
    notes = []
    if config.language.enabled:
        stages.append(LanguageStage(config.language))
    else:
        notes.append("language detection is off: the source's language (or null) is kept")
    if config.pii.enabled:
        stages.append(PiiStage(config.pii, user_secret))
    else:
        notes.append("pii: redaction is OFF; names, contacts and secrets are NOT redacted")
    stages.append(ModerationStage(config.moderation, config.llm, ledger_dir=work_dir))
    if config.safety.jailbreak:
        stages.append(JailbreakStage(config.safety))
    stages.append(ContentFilter(config.filters))
    stages.append(DuplicateSignatures(config.duplicates))
    stages.append(DuplicateGroups(config.duplicates))
    stages.append(Select(config.select, post, config.duplicates.near.enabled))
    if config.sample.n is not None:
        stages.append(Sample(config.sample))
    pipeline = Pipeline(stages, source_columns=(*working_schema().names, RAW_USER), notes=notes)
    pipeline.validate()
    return pipeline
