"""Which votes count for the leaderboard: FastChat's ``clean_battle_data.py`` rules.

A vote counts only when the battle was anonymous, its names were still hidden when the vote came,
neither side's answer was the serving-error text, and no message of either side (prompt or answer)
names a model: FastChat drops those as ``ct_leaked_identity``, since a prompt that asks "are you
GPT-4?" or an answer that says "I am Claude" makes the vote a vote for a name.
"""

from __future__ import annotations

from chatsift.schema import NETWORK_ERROR_TEXT

IDENTITY_WORDS = (
    "vicuna", "lmsys", "koala", "uc berkeley", "open assistant", "laion", "chatglm", "chatgpt", "gpt-4", "openai",
    "anthropic", "claude", "bard", "palm", "lamda", "google", "gemini", "llama", "qianwan", "qwen", "alibaba",
    "mistral", "zhipu", "keg lab", "01.ai", "ai2", "tülu", "tulu", "deepseek", "hermes", "cohere", "dbrx",
    "databricks",
)
ARENA_KINDS = {"leftvote": "model_a", "rightvote": "model_b", "tievote": "tie", "bothbad_vote": "tie (bothbad)"}
SINGLE_KINDS = {"upvote", "downvote", "flag"}


def not_counted(anony: bool, revealed: bool, texts: list[str], model_names: list[str]) -> str | None:
    """Why a battle's vote does not count (``None``: it counts)."""
    if not anony:
        return "named"
    if revealed:
        return "after_reveal"
    joined = "\n".join(t for t in texts if t).lower()
    if NETWORK_ERROR_TEXT in joined:
        return "network_error"
    words = set(IDENTITY_WORDS) | {n.lower() for n in model_names}
    if any(w in joined for w in words):
        return "identity_leak"
    return None
