"""Live sessions in memory: the conversation on screen, the battle being fought, a user's send rate.

As in FastChat's Gradio state, a session lives in the serving process and expires when idle
(``limits.session_expiry_s``); what is worth keeping is stored as snapshots when each answer is
finished, so a restart loses only screens, never a stored turn.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict, deque
from dataclasses import dataclass, field

from chatsift.schema import NETWORK_ERROR_MSG
from chatsift.serve.identity import new_id

MODES = ("chat", "anony", "named")
SERVER_ERROR_PREFIX = NETWORK_ERROR_MSG.split(".")[0]  # "**NETWORK ERROR DUE TO HIGH TRAFFIC"


@dataclass
class Conversation:
    """One model's side: the FastChat state (``messages`` as [role, text] pairs, ``offset`` 0)."""

    model: str
    mode: str
    system_message: str | None = None
    battle_id: str | None = None
    conv_id: str = field(default_factory=new_id)
    messages: list[list] = field(default_factory=list)
    finish_reasons: list[str] = field(default_factory=list)

    @property
    def turns(self) -> int:
        return sum(1 for role, _ in self.messages if role == "user")

    def state(self) -> dict:
        state = {"conv_id": self.conv_id, "model_name": self.model, "roles": ["user", "assistant"],
                 "messages": [list(m) for m in self.messages], "offset": 0}
        if self.system_message:
            state["system_message"] = self.system_message
        return state

    def openai_messages(self) -> list[dict]:
        """The prompt for the next answer; a turn that ended in the serving error is left out of it
        (the state keeps it, as FastChat's logs do)."""
        out = [{"role": "system", "content": self.system_message}] if self.system_message else []
        pairs = [self.messages[i:i + 2] for i in range(0, len(self.messages), 2)]
        for pair in pairs:
            if len(pair) == 2 and pair[1][1] and pair[1][1].startswith(SERVER_ERROR_PREFIX) and pair is not pairs[-1]:
                continue
            out += [{"role": role, "content": text} for role, text in pair if text is not None]
        return out


@dataclass
class Battle:
    anony: bool
    sides: list[Conversation]
    battle_id: str = field(default_factory=new_id)
    created: float = field(default_factory=time.time)
    voted: str | None = None
    stored: bool = False

    @property
    def models(self) -> list[str]:
        return [c.model for c in self.sides]


@dataclass
class Session:
    sid: str
    user_id: str
    browser: str = ""  # the consent key of the browser (identity.consent_key)
    last_seen: float = field(default_factory=time.time)
    consented: float | None = None  # when the acceptance this session works under was given
    chat: Conversation | None = None
    battles: dict[str, Battle] = field(default_factory=dict)  # by mode: anony, named
    voted_answers: set[tuple[str, int]] = field(default_factory=set)
    busy: bool = False  # one turn at a time per session
    stop: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)  # requests run in worker threads

    def conversations(self, mode: str) -> list[Conversation]:
        if mode == "chat":
            return [self.chat] if self.chat else []
        battle = self.battles.get(mode)
        return battle.sides if battle else []


class Sessions:
    """sid -> Session, dropping the idlest past ``limit`` and any idle past ``expiry_s``. One address holds
    at most ``per_user`` sessions: past that its own oldest goes, so requests without a cookie from one
    address cannot push everyone else's live sessions out."""

    def __init__(self, expiry_s: float, limit: int, per_user: int = 20) -> None:
        self.expiry_s = expiry_s
        self.limit = limit
        self.per_user = per_user
        self._by_sid: OrderedDict[str, Session] = OrderedDict()
        self._by_user: dict[str, OrderedDict[str, None]] = {}

    def get(self, sid: str | None) -> tuple[Session | None, bool]:
        """(the live session, whether it had expired); an expired one is dropped."""
        now = time.time()
        session = self._by_sid.get(sid) if sid else None
        if session is None:
            return None, False
        if now - session.last_seen > self.expiry_s:
            self._drop(sid)
            return None, True
        session.last_seen = now
        self._by_sid.move_to_end(sid)
        return session, False

    def new(self, user_id: str, browser: str = "") -> Session:
        session = Session(new_id(), user_id, browser)
        own = self._by_user.setdefault(user_id, OrderedDict())
        while len(own) >= self.per_user:
            self._drop(next(iter(own)))
        self._by_sid[session.sid] = session
        own[session.sid] = None
        while len(self._by_sid) > self.limit:
            self._drop(next(iter(self._by_sid)))
        return session

    def _drop(self, sid: str) -> None:
        session = self._by_sid.pop(sid, None)
        if session is None:
            return
        own = self._by_user.get(session.user_id)
        if own is not None:
            own.pop(sid, None)
            if not own:
                del self._by_user[session.user_id]

    def __len__(self) -> int:
        return len(self._by_sid)


class MinuteWindow:
    """At most ``per_minute`` events per key in any 60 s: the send rate per user, wrong admin tokens per
    address. ``wait(key)`` is 0 or the seconds until one more is allowed; ``add(key)`` counts one."""

    def __init__(self, per_minute: int) -> None:
        self.per_minute = per_minute
        self._times: dict[str, deque[float]] = {}

    def wait(self, key: str) -> float:
        now = time.monotonic()
        times = self._times.get(key)
        while times and now - times[0] > 60:
            times.popleft()
        return 60 - (now - times[0]) if times and len(times) >= self.per_minute else 0.0

    def add(self, key: str) -> None:
        now = time.monotonic()
        self._times.setdefault(key, deque()).append(now)
        if len(self._times) > 100_000:  # forget keys with nothing in the last minute
            for k in [k for k, d in self._times.items() if not d or now - d[-1] > 60][:50_000]:
                del self._times[k]

    def retry_after(self, key: str) -> float:
        """0 when one more is allowed now (and it is counted), else seconds to wait."""
        wait = self.wait(key)
        if not wait:
            self.add(key)
        return wait
