"""Jailbreak tactic tags: the five of the paper's Appendix B.4, plus role play (DAN-style personas).

Rules read the user turns; ``gradual_escalation`` reads the per-turn moderation flags instead (a
conversation whose first user turn is clean and a later one flagged, or whose user scores rise over
three or more turns). An LLM can add tags through the one client (``llm_tactics``); its tags are kept
apart from the rules' so either can be audited.
"""

from __future__ import annotations

import itertools
import re

from chatsift.llm import LLMClient, chat_text

TACTICS: dict[str, str] = {
    "content_warning": "prefaces the request with a content or trigger warning",
    "research_pretext": "claims an educational, research, fictional or professional purpose",
    "rewrite_explicit": "asks for an existing text to be rewritten more explicitly",
    "token_replacement": "swaps sensitive words for other tokens, code words, synonyms or obfuscated spellings",
    "gradual_escalation": "escalates over several turns",
    "role_play": "sets up a persona or mode without rules (DAN, developer mode, stay in character)",
}
_RULES: dict[str, re.Pattern] = {
    "content_warning": re.compile(
        r"content warning|trigger warning|\b(?:cw|tw)\s*:|nsfw warning|viewer discretion|"
        r"warning\s*:\s*(?:this|the following)|\[(?:warning|nsfw)\]", re.I),
    "research_pretext": re.compile(
        r"for (?:purely )?(?:educational|research|academic|scientific|informational|training) purposes?|"
        r"(?:i am|i'm|i’m) (?:a|an) (?:researcher|student|professor|teacher|scientist|doctor|nurse|"
        r"police officer|security researcher|novelist|writer|author)|"
        r"for (?:a|my|our) (?:novel|story|book|paper|thesis|research|class|study|screenplay|game)|"
        r"(?:purely |strictly )?hypothetical(?:ly)?|in a fictional (?:world|story|setting|scenario)|"
        r"this is (?:just )?(?:fiction|for a story)", re.I),
    "rewrite_explicit": re.compile(
        r"(?:rewrite|rephrase|redo|revise|make|write) (?:it|this|that|the (?:story|text|scene|poem|previous)"
        r"(?: \w+)?) (?:(?:even|much|a lot|way) )?more (?:explicit|detailed|graphic|vulgar|sexual|violent|"
        r"descriptive|lewd|dirty|brutal)|more explicit(?:ly)?\b|"
        r"add (?:more )?(?:explicit|graphic|sexual|violent|gory) (?:details|content|descriptions)", re.I),
    "token_replacement": re.compile(
        r"replace (?:the word|the words|every|all|each|any) .{0,60}? with|"
        r"instead of (?:saying|using|writing) [\"'“‘]|"
        r"(?:use|using) (?:the )?(?:code ?words?|synonyms?|euphemisms?|a cipher|base64|leetspeak)|"
        r"\b[a-z]+\*+[a-z]+\b|\b[a-z](?:[.\-_][a-z]){3,}\b", re.I),
    "role_play": re.compile(
        r"\bDAN\b|do anything now|developer mode|jailbr(?:ea|o)k|stay in character|"
        r"(?:you are|you're) (?:no longer|now) (?:an? |free|unfiltered|uncensored)|"
        r"pretend (?:to be|you are|that you)|(?:transform|turn) yourself into|act as (?:an? |my )|"
        r"from now on,? you (?:are|will)|"
        r"without (?:any )?(?:restrictions|filters|limitations|censorship|rules)", re.I),
}


def rule_tactics(user_turns: list[str], user_flags: list[bool] | None = None,
                 user_scores: list[float] | None = None) -> list[str]:
    text = "\n".join(t or "" for t in user_turns)
    tags = [name for name, pattern in _RULES.items() if pattern.search(text)]
    flagged_later = bool(user_flags) and len(user_flags) >= 2 and not user_flags[0] and any(user_flags[1:])
    rising = bool(user_scores) and len(user_scores) >= 3 and all(b > a for a, b in itertools.pairwise(user_scores))
    if flagged_later or rising:
        tags.append("gradual_escalation")
    return sorted(set(tags), key=list(TACTICS).index)


LLM_PROMPT = (
    "You label jailbreak attempts found in real chat logs. Which of these tactics does the user side of the "
    "conversation below use? Tactics:\n{tactics}\n\nAnswer with the tactic names that apply, comma-separated, "
    "or `none`. Do not explain.\n\n[USER TURNS]\n{turns}\n[END]"
)
MAX_LLM_CHARS = 6000


def llm_requests(conversations: list[list[str]]) -> list[list[dict]]:
    listing = "\n".join(f"- {name}: {doc}" for name, doc in TACTICS.items())
    out = []
    for turns in conversations:
        body = "\n---\n".join(turns)[:MAX_LLM_CHARS]
        out.append([{"role": "user", "content": LLM_PROMPT.format(tactics=listing, turns=body)}])
    return out


def parse_llm_tactics(answer: str) -> list[str]:
    lowered = answer.lower()
    return [name for name in TACTICS if name in lowered or name.replace("_", " ") in lowered]


def llm_tactics(client: LLMClient, conversations: list[list[str]]) -> list[list[str] | None]:
    """Tags per conversation, or None where the call failed (never guessed)."""
    results = client.chat_many(llm_requests(conversations), temperature=0.0, max_tokens=64, desc="tactics")
    return [parse_llm_tactics(chat_text(r.response)) if r.response is not None else None for r in results]
