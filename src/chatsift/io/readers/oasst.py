"""OpenAssistant message trees: one conversation per root-to-leaf path.

Accepts both encodings of the OASST export: a tree per line (``message_tree_id`` + ``prompt``) and a
root node per line (``message_id`` + ``replies``). Ids derive from the tree and leaf message ids, so
they are stable whatever the file is called. Messages the source marks deleted are kept but the
conversation gets the ``source_deleted`` reason, which the default selection excludes.
"""

from __future__ import annotations

from collections.abc import Iterator

from chatsift.errors import AdaptError
from chatsift.io.readers.base import (
    Reader,
    RecordContext,
    canonical_role,
    conversation_row,
    require_dict,
    stable_id,
    text_of,
)

MAX_DEPTH = 1000


class OasstTreeReader(Reader):
    name = "oasst"
    description = "OpenAssistant message trees (one conversation per root-to-leaf path)"
    expects = ('{"message_tree_id", "prompt": node} or a root node; node = {"message_id", "role": '
               '"prompter"|"assistant", "text", "replies": [node], optional "deleted", "synthetic", "model_name"}')

    def sniff(self, obj: object) -> bool:
        if not isinstance(obj, dict):
            return False
        if "message_tree_id" in obj and isinstance(obj.get("prompt"), dict):
            return True
        return "message_id" in obj and "replies" in obj and "role" in obj

    def adapt(self, obj: object, ctx: RecordContext) -> Iterator[dict]:
        rec = require_dict(obj)
        root = rec["prompt"] if isinstance(rec.get("prompt"), dict) else rec
        tree_id = str(rec.get("message_tree_id") or root.get("message_id") or ctx.derived_id(self.name))
        issues_before = list(ctx.issues)
        for path in _paths(root):
            ctx.issues = list(issues_before)
            messages = []
            deleted = False
            model = None
            for node in path:
                messages.append({"role": canonical_role(node.get("role")), "content": text_of(node.get("text"), ctx)})
                deleted = deleted or bool(node.get("deleted"))
                if node.get("synthetic") and isinstance(node.get("model_name"), str):
                    model = model or node["model_name"]
            leaf = path[-1].get("message_id") or len(messages)
            yield conversation_row(
                ctx,
                self.name,
                stable_id("oasst", tree_id, leaf),
                messages,
                model=model,
                extras={"quality.reasons": ["source_deleted"]} if deleted else None,
            )


def _paths(root: dict) -> Iterator[list[dict]]:
    """Root-to-leaf paths, iteratively (trees from the wild can be deep)."""
    stack: list[tuple[dict, list[dict]]] = [(root, [])]
    while stack:
        node, prefix = stack.pop()
        if not isinstance(node, dict):
            raise AdaptError("wrong_type", "a tree node is not an object")
        path = [*prefix, node]
        if len(path) > MAX_DEPTH:
            raise AdaptError("tree_too_deep", f"a path is longer than {MAX_DEPTH} messages")
        replies = node.get("replies") or []
        if not isinstance(replies, list):
            raise AdaptError("wrong_type", "replies should be a list")
        if not replies:
            yield path
        for child in reversed(replies):  # reversed so paths come out in the file's order
            stack.append((child, path))
