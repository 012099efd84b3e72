"""A chat store as a curate input: ``sqlite:///chat.db`` or ``postgresql://...`` among the inputs is
exported as FastChat web-server logs into the run's staging folder and read there by the
``fastchat_logs`` reader, so a release built from the store has the schema, counts and user ids of
any other. The staged export is kept until the run finishes, so a killed curate resumes on the same
records.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from chatsift.chatstore.logs import parse_since, staged_export
from chatsift.chatstore.store import is_store_url


class StagedStores:
    """The run's inputs with each chat-store URL replaced by its staged export; ``done()`` removes the
    exports once the release is complete (the next run exports the store afresh)."""

    def __init__(self, inputs: list[str], since: str | None, root: Path, fresh: bool) -> None:
        stores = [str(i) for i in inputs if is_store_url(str(i))]
        when = parse_since(since) if stores else None
        self.staged = {s: str(staged_export(s, when, root, fresh)) for s in stores}
        self.inputs = [self.staged.get(str(i), str(i)) for i in inputs]

    def done(self) -> None:
        for folder in self.staged.values():
            shutil.rmtree(Path(folder).parent, ignore_errors=True)
