"""Live sessions, kept in the store: the conversation on screen, the battle being fought, whether an
answer is streaming and whether its user pressed stop.

As in FastChat's Gradio state, a session expires when idle (``limits.session_expiry_s``); what is worth
keeping is stored as snapshots when each answer is finished. Unlike Gradio's state, a session lives in
the store rather than in one serving process, so several processes (on one host or several, behind a
proxy) serve one store and any of them can answer any request of any session. Each change is written
against the version it was read at (``Sessions.save``): of two requests that race on one session, in
one process or two, one wins and the other is refused, never merged. A streaming answer holds the
session with a lease that its process renews; a process that dies mid-answer frees it when the lease
runs out.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field

import orjson

from chatsift.schema import NETWORK_ERROR_MSG
from chatsift.serve.identity import new_id

MODES = ("chat", "anony", "named")
SERVER_ERROR_PREFIX = NETWORK_ERROR_MSG.split(".")[0]  # "**NETWORK ERROR DUE TO HIGH TRAFFIC"
LEASE_S = 10.0  # how long a streaming answer holds its session without a renewal (renewed every third)
TOUCH_S = 30.0  # last_seen is written at most this often (a read per request, not a write)


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
    busy_until: float | None = None  # an answer is streaming (a lease, renewed while it streams)
    version: int = 0  # of the stored row this copy was read from

    @property
    def busy(self) -> bool:
        return self.busy_until is not None and self.busy_until > time.time()

    def conversations(self, mode: str) -> list[Conversation]:
        if mode == "chat":
            return [self.chat] if self.chat else []
        battle = self.battles.get(mode)
        return battle.sides if battle else []

    def forget(self) -> None:
        """Drop what is on screen (a withdrawal, a newer acceptance)."""
        self.chat = None
        self.battles.clear()
        self.voted_answers.clear()

    def state(self) -> bytes:
        return orjson.dumps({"consented": self.consented, "chat": asdict(self.chat) if self.chat else None,
                             "battles": {m: asdict(b) for m, b in self.battles.items()},
                             "voted": sorted(self.voted_answers)})

    @classmethod
    def from_row(cls, sid: str, user_id: str, browser: str, last_seen: float, version: int,
                 busy_until: float | None, state: str) -> Session:
        data = orjson.loads(state)
        battles = {}
        for mode, b in data["battles"].items():
            battles[mode] = Battle(**{**b, "sides": [Conversation(**c) for c in b["sides"]]})
        return cls(sid, user_id, browser, float(last_seen), data["consented"],
                   Conversation(**data["chat"]) if data["chat"] else None, battles,
                   {(c, int(s)) for c, s in data["voted"]}, busy_until, int(version))


class Sessions:
    """The store's live sessions: expired ones are dropped as they are met and when sessions are made,
    the idlest go past ``limit``, and one address holds at most ``per_user`` (past that its own oldest
    goes), so requests without a cookie from one address cannot push everyone else's sessions out."""

    COLUMNS = "sid, user_id, browser, last_seen, version, busy_until, state"

    def __init__(self, store, expiry_s: float, limit: int, per_user: int = 20) -> None:
        self.store = store
        self.expiry_s = expiry_s
        self.limit = limit
        self.per_user = per_user

    def get(self, sid: str | None) -> tuple[Session | None, bool]:
        """(the live session, whether it had expired); an expired one is dropped."""
        if not sid:
            return None, False
        now = time.time()
        with self.store.tx(write=False, atomic=False) as cur:
            row = cur.one(f"SELECT {self.COLUMNS} FROM sessions WHERE sid = ?", (sid,))
        if row is None:
            return None, False
        session = Session.from_row(*row)
        if now - session.last_seen > self.expiry_s:
            with self.store.tx(atomic=False) as cur:
                cur.run("DELETE FROM sessions WHERE sid = ? AND last_seen = ?", (sid, session.last_seen))
            return None, True
        if now - session.last_seen > min(TOUCH_S, self.expiry_s / 10):
            with self.store.tx(atomic=False) as cur:  # not a change of the session: the version stays
                cur.run("UPDATE sessions SET last_seen = ? WHERE sid = ?", (now, sid))
            session.last_seen = now
        return session, False

    def new(self, user_id: str, browser: str = "") -> Session:
        session = Session(new_id(), user_id, browser)
        with self.store.tx() as cur:
            cur.run("DELETE FROM sessions WHERE last_seen < ?", (session.last_seen - self.expiry_s,))
            cur.run(f"INSERT INTO sessions ({self.COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (session.sid, user_id, browser, session.last_seen, 0, None, session.state().decode()))
            own = cur.all("SELECT sid FROM sessions WHERE user_id = ? ORDER BY last_seen DESC, sid", (user_id,))
            for (sid,) in own[self.per_user:]:
                cur.run("DELETE FROM sessions WHERE sid = ?", (sid,))
            over = int(cur.one("SELECT COUNT(*) FROM sessions")[0]) - self.limit
            if over > 0:
                cur.run("DELETE FROM sessions WHERE sid IN (SELECT sid FROM sessions WHERE sid <> ? "
                        "ORDER BY last_seen, sid LIMIT ?)", (session.sid, over))
        return session

    def save(self, session: Session) -> bool:
        """Write the session if nobody changed it since it was read; False (and nothing written) otherwise."""
        with self.store.tx(atomic=False) as cur:  # one conditional UPDATE
            return self.write(cur, session)

    def write(self, cur, session: Session, *, turn_ended: bool = False) -> bool:
        """``save`` inside the caller's transaction (a turn's end writes it with the turn's snapshots, and
        ``turn_ended`` releases the session even when its state cannot be written: the turn held it).
        Any other failed write leaves the row alone: it may be another request's claim."""
        now = time.time()
        n = cur.changed("UPDATE sessions SET state = ?, busy_until = ?, stop = 0, version = version + 1, "
                        "last_seen = ? WHERE sid = ? AND version = ?",
                        (session.state().decode(), session.busy_until, now, session.sid, session.version))
        if n:
            session.version += 1
            session.last_seen = now
        elif turn_ended:
            self._release(cur, session.sid)
        return bool(n)

    def release(self, session: Session) -> None:
        """The answer has ended (stored or not): the session takes requests again."""
        session.busy_until = None
        with self.store.tx(atomic=False) as cur:
            self._release(cur, session.sid)

    @staticmethod
    def _release(cur, sid: str) -> None:
        cur.run("UPDATE sessions SET busy_until = NULL, stop = 0 WHERE sid = ?", (sid,))

    def renew(self, session: Session) -> bool:
        """Extend a streaming answer's lease; True when its user has pressed stop (from any process)."""
        until = time.time() + LEASE_S
        with self.store.tx(atomic=False) as cur:
            cur.run("UPDATE sessions SET busy_until = ? WHERE sid = ? AND busy_until IS NOT NULL",
                    (until, session.sid))
            row = cur.one("SELECT stop FROM sessions WHERE sid = ?", (session.sid,))
        session.busy_until = until
        return bool(row and row[0])

    def stop_requested(self, session: Session) -> bool:
        with self.store.tx(write=False, atomic=False) as cur:
            row = cur.one("SELECT stop FROM sessions WHERE sid = ?", (session.sid,))
        return bool(row and row[0])

    def request_stop(self, sid: str) -> bool:
        """Ask the process streaming this session's answer to stop; False when nothing is streaming."""
        with self.store.tx(atomic=False) as cur:
            return bool(cur.changed("UPDATE sessions SET stop = 1 WHERE sid = ? AND busy_until > ?",
                                    (sid, time.time())))

    def forget_browser(self, browser: str) -> None:
        """A withdrawal: every session of the browser drops what it shows (a streaming answer's own
        write then fails its version check, so nothing comes back)."""
        empty = Session("", "").state().decode()
        with self.store.tx(atomic=False) as cur:
            cur.run("UPDATE sessions SET state = ?, version = version + 1 WHERE browser = ?", (empty, browser))

    def __len__(self) -> int:
        with self.store.tx(write=False, atomic=False) as cur:
            return int(cur.one("SELECT COUNT(*) FROM sessions WHERE last_seen >= ?",
                               (time.time() - self.expiry_s,))[0])


