"""What the pages and the API do, apart from HTTP: consent, limits, turns, votes, the leaderboard.

``ChatService`` holds the settings, the store, one LLM client per model, and the live sessions and
rate limits (both kept in the store, so that several serving processes share them). Each refusal is a
``Refusal`` with the HTTP status and a sentence for the user; nothing is stored for a refused request.
"""

from __future__ import annotations

import asyncio
import random
import threading
import time
from dataclasses import dataclass

from chatsift.chatstore.store import Duplicate, NoConsent, Store
from chatsift.llm import Endpoint, Ledger, LLMClient, RetryPolicy, parse_endpoint
from chatsift.serve.rates import MinuteWindow
from chatsift.serve.sampling import NoPair, battle_pair
from chatsift.serve.sessions import LEASE_S, MODES, Battle, Conversation, Session, Sessions
from chatsift.serve.settings import ServeSettings
from chatsift.serve.turns import CONVERSATION_LIMIT_MSG, MODERATION_MSG
from chatsift.serve.votes import ARENA_KINDS, SINGLE_KINDS, not_counted


@dataclass
class Refusal(Exception):
    status: int
    message: str
    retry_after: float | None = None

    def __str__(self) -> str:
        return self.message


class ChatService:
    def __init__(self, settings: ServeSettings, store: Store, secret: bytes, *, moderator=None,
                 rng: random.Random | None = None) -> None:
        self.settings = settings
        self.store = store
        self.secret = secret
        self.moderator = moderator  # a moderation backend (``.moderate(texts)``), or None
        self.rng = rng or random.Random()
        self.sessions = Sessions(store, settings.limits.session_expiry_s, settings.limits.max_sessions,
                                 settings.limits.max_sessions_per_user)
        self.rate = MinuteWindow(store, settings.limits.rate_per_minute, "send")
        self.ledger = Ledger()
        self.clients = {m.name: self._client(m.name, m.endpoint) for m in settings.models}
        self._board: tuple[int, object] | None = None
        self._board_lock = threading.Lock()

    def _client(self, name: str, spec: str) -> LLMClient:
        endpoint: Endpoint = parse_endpoint(spec, max_concurrency=self.settings.upstream_concurrency,
                                            timeout_s=self.settings.upstream_timeout_s)
        # Live answers: retry quickly before the first token, then give the user the error.
        return LLMClient(endpoint, ledger=self.ledger, retry=RetryPolicy(max_attempts=3, base_delay_s=0.3,
                                                                          max_delay_s=2.0, connect_attempts=2))

    async def aclose(self) -> None:
        for client in self.clients.values():
            await client.aclose()

    # ------------------------------------------------------------ consent

    def has_consent(self, session: Session) -> bool:
        """Read from the store every time: a withdrawal in another tab or process holds at once. A session
        that meets an acceptance newer than its own drops what it holds on screen (that may be turns from
        before a withdrawal, which must never be stored again inside a later snapshot)."""
        latest = self.store.consent(session.browser)
        if not (latest and latest[0] == "accept" and latest[1] == self.settings.terms_version):
            return False
        if session.consented != latest[2]:
            if session.consented is not None:
                session.forget()
            session.consented = latest[2]
            self.sessions.save(session)  # a stale copy is refused; the next change reads it again
        return True

    def accept_terms(self, session: Session) -> None:
        now = time.time()
        self.store.add_consent(session.browser, "accept", self.settings.terms_version, now)
        latest = self.store.consent(session.browser)
        session.consented = latest[2] if latest else now
        self.sessions.save(session)

    def withdraw(self, session: Session) -> None:
        """Every session of the browser drops what it shows, in every process; a turn still streaming
        is refused by the store when it comes to be written."""
        self.store.add_consent(session.browser, "withdraw", self.settings.terms_version, time.time())
        self.sessions.forget_browser(session.browser)
        session.consented = None
        session.forget()

    # ------------------------------------------------------------ turns

    def begin_turn(self, session: Session, mode: str, text: str | None, *, model: str | None = None,
                   models: list[str] | None = None, regenerate: bool = False) -> tuple[list[Conversation],
                                                                                    Battle | None]:
        """Check the request, hold the session for the answer (refused when another request, in this
        process or another, changed it meanwhile), and put the user's message on the conversation(s);
        the caller streams."""
        if mode not in MODES:
            raise Refusal(400, f"unknown mode {mode!r} (chat, anony or named)")
        if not self.has_consent(session):
            raise Refusal(403, "accept the terms of use first (on /terms)")
        if session.busy:
            raise Refusal(409, "an answer is still streaming; wait for it or press stop")
        limits = self.settings.limits
        if regenerate:
            sides = session.conversations(mode)
            if not sides or not sides[0].messages:
                raise Refusal(400, "there is no answer to regenerate")
            battle = session.battles.get(mode) if mode != "chat" else None
            if battle is not None and battle.voted:
                raise Refusal(409, "this battle has been voted on; start a new round")
            self._check_rate(session)
            text = sides[0].messages[-2][1]
        else:
            text = (text or "").strip()
            if not text:
                raise Refusal(400, "the message is empty")
            if len(text) > limits.input_chars:
                raise Refusal(413, f"the message is {len(text):,} characters; the limit is {limits.input_chars:,}")
            sides, battle = self._sides(session, mode, model, models)
            if sides[0].turns >= limits.max_turns:
                raise Refusal(400, CONVERSATION_LIMIT_MSG)
            self._check_rate(session)
            self._moderate(session, text, sides)
        # The stored session keeps its state before the turn: a process that dies mid-answer leaves it
        # as it was, and the turn's end writes the new state with the turn's snapshots.
        session.busy_until = time.time() + LEASE_S
        if not self.sessions.save(session):
            session.busy_until = None
            raise Refusal(409, "this conversation changed in another tab or request; reload the page")
        if regenerate:
            for conv in sides:
                del conv.messages[-2:]
                if conv.finish_reasons:
                    conv.finish_reasons.pop()
            self.store.add_event("regenerate", f"mode {mode}", ",".join(c.model for c in sides))
        for conv in sides:
            conv.messages.append(["user", text])
        return sides, battle

    def _check_rate(self, session: Session) -> None:
        wait = self.rate.retry_after(session.user_id)
        if wait:
            self.store.add_event("rate_limited", f"user {session.user_id[:8]}")
            raise Refusal(429, f"too many messages; wait {wait:.0f} s", retry_after=wait)

    def _moderate(self, session: Session, text: str, sides: list[Conversation]) -> None:
        if self.moderator is None:
            return
        out = self.moderator.moderate([text])
        if bool(out.flagged[0]):
            self.store.add_event("moderation_block", f"user {session.user_id[:8]}, {len(text):,} characters",
                                 ",".join(c.model for c in sides))
            raise Refusal(400, MODERATION_MSG)

    def _sides(self, session: Session, mode: str, model: str | None,
               models: list[str] | None) -> tuple[list[Conversation], Battle | None]:
        settings = self.settings
        if mode == "chat":
            model = model or (session.chat.model if session.chat else settings.models[0].name)
            m = settings.model(model)
            if m is None:
                raise Refusal(400, f"unknown model {model!r}")
            if session.chat is None or session.chat.model != model:  # a new model starts a new conversation
                session.chat = Conversation(model, "chat", m.system_prompt)
            return [session.chat], None
        battle = session.battles.get(mode)
        if mode == "named":
            wanted = models or (battle.models if battle else [m.name for m in settings.models[:2]])
            if len(wanted) != 2 or any(settings.model(n) is None for n in wanted):
                raise Refusal(400, f"unknown model in {wanted!r}" if len(wanted) == 2 else "name two models")
            if battle is None or battle.models != list(wanted):
                battle = self._new_battle(session, mode, list(wanted))
        elif battle is None:
            try:
                battle = self._new_battle(session, mode, list(battle_pair(settings, self.rng)))
            except NoPair as exc:
                raise Refusal(503, str(exc)) from None
        if battle.voted:
            raise Refusal(409, "this battle has been voted on; start a new round")
        return battle.sides, battle

    def _new_battle(self, session: Session, mode: str, names: list[str]) -> Battle:
        sides = [Conversation(n, mode, self.settings.model(n).system_prompt) for n in names]
        battle = Battle(anony=mode == "anony", sides=sides)
        for conv in sides:
            conv.battle_id = battle.battle_id
        session.battles[mode] = battle
        return battle

    def clear(self, session: Session, mode: str) -> None:
        if session.busy:
            raise Refusal(409, "an answer is still streaming; wait for it or press stop")
        if mode == "chat":
            session.chat = None
        else:
            session.battles.pop(mode, None)
        if not self.sessions.save(session):
            raise Refusal(409, "this conversation changed in another tab or request; reload the page")

    # ------------------------------------------------------------ votes

    def vote(self, session: Session, mode: str, kind: str, battle_id: str | None = None) -> dict:
        """One vote; the store's unique vote key holds it to one per answer or battle, whichever process
        takes the request."""
        result = self._vote(session, mode, kind, battle_id)
        self.sessions.save(session)  # what the page shows; the vote itself is already stored
        return result

    def _vote(self, session: Session, mode: str, kind: str, battle_id: str | None) -> dict:
        if not self.has_consent(session):
            raise Refusal(403, "accept the terms of use first (on /terms)")
        if session.busy:
            raise Refusal(409, "wait for the answer to finish before voting")
        now = time.time()
        if mode == "chat":
            conv = session.chat
            if kind not in SINGLE_KINDS:
                raise Refusal(400, f"unknown vote {kind!r} (upvote, downvote or flag)")
            if conv is None or not conv.finish_reasons:
                raise Refusal(400, "there is no answer to vote on yet")
            seq = len(conv.finish_reasons)
            record = {"type": kind, "model": conv.model, "state": conv.state()}
            try:
                self.store.add_vote(vote_key=f"conv:{conv.conv_id}:{seq}", kind=kind, user_id=session.user_id,
                                    browser=session.browser, tstamp=now, counted=True, not_counted=None, record=record,
                                    conv_id=conv.conv_id, seq=seq)
            except Duplicate:
                raise Refusal(409, "this answer has been voted on already") from None
            except NoConsent:
                raise Refusal(403, "accept the terms of use first (on /terms)") from None
            session.voted_answers.add((conv.conv_id, seq))
            return {"ok": True, "kind": kind}
        battle = session.battles.get(mode)
        if kind not in ARENA_KINDS:
            raise Refusal(400, f"unknown vote {kind!r} (leftvote, rightvote, tievote or bothbad_vote)")
        if battle is None or not battle.stored:
            raise Refusal(400, "there is no battle to vote on yet")
        if battle_id and battle_id != battle.battle_id:
            raise Refusal(409, "that battle is no longer on screen")
        stored = self.store.battle(battle.battle_id)
        texts = [t for conv in battle.sides for _, t in conv.messages if t]
        reason = not_counted(battle.anony, bool(battle.voted or (stored and stored["revealed"])), texts,
                             [m.name for m in self.settings.models])
        record = {"type": kind, "models": ["", ""] if battle.anony else battle.models,
                  "states": [c.state() for c in battle.sides], "anony": battle.anony}
        try:
            self.store.add_vote(vote_key=f"battle:{battle.battle_id}", kind=kind, user_id=session.user_id,
                                browser=session.browser, tstamp=now, counted=reason is None, not_counted=reason,
                                record=record, battle_id=battle.battle_id)
        except Duplicate:
            raise Refusal(409, "this battle has been voted on already") from None
        except NoConsent:
            raise Refusal(403, "accept the terms of use first (on /terms)") from None
        battle.voted = kind
        return {"ok": True, "kind": kind, "models": battle.models, "counted": reason is None, "not_counted": reason}

    # ------------------------------------------------------------ the live leaderboard

    def leaderboard(self):
        """The leaderboard of the counted votes (recomputed when a vote arrives), or None with too few."""
        from chatsift.arena.battles import Battles, RankingError
        from chatsift.arena.leaderboard import rank_battles
        from chatsift.arena.sources import VOTE_WINNERS, ReadReport

        rows = self.store.counted_battles()
        with self._board_lock:
            if self._board is not None and self._board[0] == len(rows):
                return self._board[1]
            report = ReadReport(records=len(rows), games=len(rows), files=1)
            board = None
            pairs = [(a, b, VOTE_WINNERS[ARENA_KINDS[k]]) for a, b, k in rows if a != b]
            if pairs:
                try:
                    board = rank_battles(Battles.from_rows(pairs), report, rounds=self.settings.leaderboard_rounds)
                except RankingError:
                    board = None
            self._board = (len(rows), board)
            return board

    async def leaderboard_async(self):
        return await asyncio.to_thread(self.leaderboard)
