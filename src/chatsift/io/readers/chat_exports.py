"""The data exports of chat apps: ChatGPT's and Claude's ``conversations.json`` (a JSON array, one
conversation per element).

ChatGPT keeps a conversation as a tree (``mapping``: node id -> ``{message, parent, children}``); every
regenerated answer or edited prompt starts a branch, and ``current_node`` is the leaf the user last
saw. The active branch is read from that leaf back to the root; the other branches are left out and
the record says so (``normalize.issues``: ``inactive_branches_dropped``). Assistant steps addressed to
a tool (``recipient`` other than ``all``), tool messages, reasoning (``thoughts``) and attachments go to
``tools.events``.

Claude's export lists ``chat_messages`` in order (``sender``: human / assistant), each with ``content``
parts (``text``, ``tool_use``, ``tool_result``, ``thinking``) and ``attachments`` / ``files``. It names
no model.
"""

from __future__ import annotations

from collections.abc import Iterator

from chatsift.errors import AdaptError
from chatsift.io.readers.base import Reader, RecordContext, conversation_row, optional_text, require_dict, to_tstamp
from chatsift.io.readers.turns import Turns


def _first_text(*values: object) -> str | None:
    for v in values:
        if isinstance(v, str) and v:
            return v
    return None


class ChatGPTExportReader(Reader):
    name = "chatgpt_export"
    description = "ChatGPT data export (conversations.json): the active branch of each conversation tree"
    expects = ('[{"title", "create_time", "update_time", "mapping": {NODE: {"message": {"author": {"role"}, '
               '"content": {"content_type", "parts"}, "recipient", "metadata": {"model_slug"}}, "parent", '
               '"children"}}, "current_node", "conversation_id"/"id", "default_model_slug"}]')

    def sniff(self, obj: object) -> bool:
        return isinstance(obj, dict) and isinstance(obj.get("mapping"), dict) and (
            "current_node" in obj or "conversation_id" in obj or "title" in obj)

    def adapt(self, obj: object, ctx: RecordContext) -> Iterator[dict]:
        rec = require_dict(obj)
        mapping = rec["mapping"]
        path = _active_path(mapping, rec.get("current_node"))
        on_path = set(path)
        if any(isinstance(n, dict) and n.get("message") for k, n in mapping.items() if k not in on_path):
            ctx.issues.append("inactive_branches_dropped")  # the regenerated answers and edited prompts
        turns = Turns(ctx)
        model = None
        last_time = None
        for node_id in path:
            message = mapping[node_id].get("message")
            if not isinstance(message, dict):
                continue  # the root, and nodes whose message was deleted
            meta = message.get("metadata") if isinstance(message.get("metadata"), dict) else {}
            content = message.get("content") if isinstance(message.get("content"), dict) else {}
            if content.get("content_type") == "user_editable_context":
                turns.say("system", _content_text(content)[0])  # the custom instructions, hidden in the app
                continue
            if meta.get("is_visually_hidden_from_conversation"):
                continue  # the empty system message every conversation starts with
            created = message.get("create_time")
            last_time = created if isinstance(created, (int, float)) else last_time
            author = message.get("author") if isinstance(message.get("author"), dict) else {}
            role = author.get("role")
            self._message(turns, role, author.get("name"), message, meta)
            if role == "assistant" and isinstance(meta.get("model_slug"), str):
                model = meta["model_slug"]
        messages, events = turns.finish()
        conv_id = optional_text(rec.get("conversation_id") or rec.get("id"), "conversation_id")
        yield conversation_row(
            ctx, self.name, conv_id or ctx.derived_id(self.name), messages,
            model=model or optional_text(rec.get("default_model_slug"), "default_model_slug"),
            tstamp=to_tstamp(rec.get("update_time") or last_time or rec.get("create_time")),
            extras={"tools.events": events},
        )

    @staticmethod
    def _message(turns: Turns, role: object, author_name: object, message: dict, meta: dict) -> None:
        content = message.get("content") if isinstance(message.get("content"), dict) else {}
        kind = content.get("content_type")
        for attachment in meta.get("attachments") or []:
            if isinstance(attachment, dict):
                turns.event("attachment", name=_first_text(attachment.get("name"), attachment.get("id")))
        if kind in ("thoughts", "reasoning_recap"):
            thoughts = content.get("thoughts")
            text = ("\n\n".join(_first_text(t.get("content"), t.get("summary")) or "" for t in thoughts
                                if isinstance(t, dict)) if isinstance(thoughts, list) else content.get("content"))
            turns.event("reasoning", text if isinstance(text, str) else None)
            return
        text, images = _content_text(content)
        for _ in range(images):
            turns.event("attachment", name="image")
        if role == "tool":
            turns.event("result", text, name=author_name)
        elif role == "assistant" and message.get("recipient") not in (None, "all"):
            turns.event("call", text, name=message.get("recipient"))
        elif role in ("user", "assistant"):
            turns.say(role, text)
        elif role == "system":
            turns.say("system", text)
        else:
            raise AdaptError("unknown_role", f"author role {str(role)[:40]!r} in a ChatGPT export")


def _content_text(content: dict) -> tuple[str | None, int]:
    """The text of a ChatGPT message's content, and how many images it held."""
    kind = content.get("content_type")
    if kind in ("text", "multimodal_text"):
        parts = content.get("parts") or []
        texts = [p for p in parts if isinstance(p, str)]
        images = sum(1 for p in parts if isinstance(p, dict) and "image" in str(p.get("content_type", "")))
        return "\n".join(t for t in texts if t) or None, images
    if kind == "user_editable_context":  # the user's custom instructions
        return "\n\n".join(v for v in (content.get("user_profile"), content.get("user_instructions"))
                           if isinstance(v, str) and v) or None, 0
    if kind == "tether_quote":
        return _first_text(content.get("text"), content.get("title")), 0
    if kind == "tether_browsing_display":
        return _first_text(content.get("result"), content.get("summary")), 0
    return _first_text(content.get("text"), content.get("result")), 0  # code, execution_output, system_error


def _active_path(mapping: dict, current: object) -> list[str]:
    """Node ids from the root to ``current`` (the leaf the user saw)."""
    if current is None:
        leaves = [k for k, n in mapping.items() if isinstance(n, dict) and not n.get("children")]
        if len(leaves) != 1:
            raise AdaptError("missing_current_node", f"no current_node, and the tree has {len(leaves)} leaves: "
                             "which branch the user saw is unknown")
        current = leaves[0]
    if current not in mapping:
        raise AdaptError("bad_current_node", f"current_node {str(current)[:40]!r} is not in the mapping")
    path: list[str] = []
    seen: set[str] = set()
    node_id: object = current
    while node_id is not None:
        if node_id in seen:
            raise AdaptError("cycle", f"the mapping's parent links loop back to node {str(node_id)[:40]!r}")
        node = mapping.get(node_id)
        if not isinstance(node, dict):
            raise AdaptError("missing_parent",
                             f"node {str(node_id)[:40]!r} is named as a parent but not in the mapping")
        seen.add(node_id)  # type: ignore[arg-type]
        path.append(node_id)  # type: ignore[arg-type]
        node_id = node.get("parent")
    return path[::-1]


class ClaudeExportReader(Reader):
    name = "claude_export"
    description = "Claude data export (conversations.json): chat_messages with text, tool and thinking parts"
    expects = ('[{"uuid", "name", "created_at", "updated_at", "account": {"uuid"}, "chat_messages": [{"sender": '
               '"human"|"assistant", "text", "content": [{"type": "text"|"tool_use"|"tool_result"|"thinking", ...}], '
               '"attachments": [{"file_name", "extracted_content"}], "files": [{"file_name"}], "created_at"}]}]')

    def sniff(self, obj: object) -> bool:
        return isinstance(obj, dict) and isinstance(obj.get("chat_messages"), list)

    def adapt(self, obj: object, ctx: RecordContext) -> Iterator[dict]:
        rec = require_dict(obj)
        turns = Turns(ctx)
        for i, message in enumerate(rec["chat_messages"]):
            if not isinstance(message, dict):
                raise AdaptError("wrong_type", f"chat message {i} is not an object")
            sender = message.get("sender")
            if sender not in ("human", "assistant"):
                raise AdaptError("unknown_role", f"chat message {i} has sender {str(sender)[:40]!r}")
            role = "user" if sender == "human" else "assistant"
            for attachment in (message.get("attachments") or []) + (message.get("files") or []):
                if isinstance(attachment, dict):
                    turns.event("attachment", attachment.get("extracted_content"), name=attachment.get("file_name"))
            parts = message.get("content")
            if not isinstance(parts, list) or not parts:
                turns.say(role, message.get("text") if isinstance(message.get("text"), str) else None)
                continue
            for part in parts:
                self._part(turns, role, part)
        messages, events = turns.finish()
        account = rec.get("account") if isinstance(rec.get("account"), dict) else {}
        user = account.get("uuid")
        yield conversation_row(
            ctx, self.name, optional_text(rec.get("uuid"), "uuid") or ctx.derived_id(self.name), messages,
            tstamp=to_tstamp(rec.get("updated_at") or rec.get("created_at")),
            user_key=None if user is None else str(user), extras={"tools.events": events},
        )

    @staticmethod
    def _part(turns: Turns, role: str, part: object) -> None:
        if not isinstance(part, dict):
            raise AdaptError("wrong_type", "a content part is not an object")
        kind = part.get("type")
        if kind == "text":
            turns.say(role, part.get("text"))
        elif kind == "tool_use":
            turns.event("call", part.get("input"), name=part.get("name"), call_id=part.get("id"))
        elif kind == "tool_result":
            content = part.get("content")
            if isinstance(content, list):
                content = "\n".join(c["text"] for c in content
                                    if isinstance(c, dict) and isinstance(c.get("text"), str))
            turns.event("result", content, name=part.get("name"), call_id=part.get("tool_use_id"))
        elif kind in ("thinking", "redacted_thinking"):
            turns.event("reasoning", part.get("thinking"))
        else:
            raise AdaptError("unknown_part", f"content part of type {str(kind)[:40]!r} in a Claude export")
