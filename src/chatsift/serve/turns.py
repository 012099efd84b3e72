"""One turn: the user's message to one or two models, their answers streamed back, then stored whole.

Both sides of a battle stream at once through the LLM client; deltas reach the page as they come.
An upstream that fails, stalls or sends garbage gets FastChat's behaviour: the answer becomes the
serving-error text with an error code (what FastChat's logs show, and what curate's
``network_error`` filter excludes). A stop (pressed in any serving process: it is read from the
store while the answer streams) keeps what was received. The turn's snapshots and the session's new
state are written in one transaction when every side has finished; a server killed before that
stores nothing of the turn, and a store that refuses the write leaves the screen as the store has it
(the turn is undone).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator

from chatsift.chatstore.store import StoreError, for_users
from chatsift.llm import LLMClient, LLMError, StreamBroken
from chatsift.schema import NETWORK_ERROR_MSG
from chatsift.serve.sessions import LEASE_S, Battle, Conversation, Session, Sessions
from chatsift.serve.settings import ServeSettings

log = logging.getLogger(__name__)

SERVER_ERROR_MSG = NETWORK_ERROR_MSG
MODERATION_MSG = "$MODERATION$ YOUR INPUT VIOLATES OUR CONTENT MODERATION GUIDELINES."
CONVERSATION_LIMIT_MSG = ("YOU HAVE REACHED THE CONVERSATION LENGTH LIMIT. PLEASE CLEAR HISTORY AND START A NEW "
                          "CONVERSATION.")
INACTIVE_MSG = "THIS SESSION HAS BEEN INACTIVE FOR TOO LONG. PLEASE REFRESH THIS PAGE."
STOP_POLL_S = 1.0  # how often a streaming turn looks for a stop in the store


def gen_params(settings: ServeSettings, model: str) -> dict:
    m = settings.model(model)
    return {"temperature": m.temperature, "top_p": m.top_p, "max_tokens": m.max_tokens}


async def run_turn(session: Session, mode: str, sides: list[Conversation], battle: Battle | None,
                   clients: dict[str, LLMClient], settings: ServeSettings, sessions: Sessions) -> AsyncIterator[dict]:
    """Stream the turn as events: ``{"side", "delta"}``, ``{"side", "error"}``, then ``{"done", "saved"}``
    (with ``problem``, the reason, when the store refused the turn)."""
    start = time.time()
    store = sessions.store
    for conv in sides:
        conv.messages.append(["assistant", ""])
    queue: asyncio.Queue = asyncio.Queue()
    finish = ["stop"] * len(sides)
    stopping = asyncio.Event()
    # Each side's deltas, joined when the answer ends: joining them on every delta is quadratic in the
    # answer's length, on the event loop every user shares.
    received: list[list[str]] = [[] for _ in sides]

    def take_received() -> None:
        """Put what each side received on its conversation (a side that failed keeps its error text)."""
        for conv, parts, f in zip(sides, received, finish):
            if f != "error":
                conv.messages[-1][1] = "".join(parts)

    async def watch() -> None:
        """Look for a stop in the store, and renew the session's lease while the answer streams."""
        renewed = time.monotonic()
        while True:
            await asyncio.sleep(STOP_POLL_S)
            if time.monotonic() - renewed > LEASE_S / 3:
                renewed = time.monotonic()
                stop = await asyncio.to_thread(sessions.renew, session)
            else:
                stop = await asyncio.to_thread(sessions.stop_requested, session)
            if stop:
                stopping.set()
                return

    async def pump(i: int, conv: Conversation) -> None:
        params = gen_params(settings, conv.model)
        try:
            async for delta in clients[conv.model].astream_chat(conv.openai_messages()[:-1], **params):
                received[i].append(delta)
                await queue.put({"side": i, "delta": delta})
                if stopping.is_set():
                    finish[i] = "stopped"
                    break
        except (StreamBroken, LLMError) as exc:
            code = getattr(exc, "code", "upstream")
            finish[i] = "error"
            conv.messages[-1][1] = f"{SERVER_ERROR_MSG}\n\n(error_code: {code})"
            await asyncio.to_thread(store.add_event, "upstream_error", f"{code}: {exc}", conv.model)
            await queue.put({"side": i, "error": conv.messages[-1][1]})
        finally:
            await queue.put({"side": i, "end": True})

    tasks = [asyncio.create_task(pump(i, c)) for i, c in enumerate(sides)] + [asyncio.create_task(watch())]
    stored: str | None = None  # "" once stored, the user's reason when the store refused; None: not reached
    storing = False  # once the write has started (in a thread), it finishes on its own
    try:
        ended = 0
        while ended < len(sides):
            event = await queue.get()
            if event.get("end"):
                ended += 1
                continue
            yield event
        take_received()
        storing = True
        stored = await asyncio.to_thread(_store_turn, session, mode, sides, battle, finish, start, settings,
                                         sessions)
        done = {"done": True, "saved": not stored, "finish": finish}
        yield done | ({"problem": stored} if stored else {})
    finally:
        for task in tasks:  # a client that went away (stop, closed tab) cancels the stream
            task.cancel()
            task.add_done_callback(lambda t: t.cancelled() or t.exception())
        if stored is None and not storing:  # the client went away: no awaiting here, the loop is closing it
            take_received()
            if all(not conv.messages[-1][1] for conv in sides):
                with contextlib.suppress(StoreError):  # nothing was received: the turn never happened
                    sessions.release(session)
            else:  # keep what the user saw
                finish = [f if f == "error" else "stopped" for f in finish]
                _store_turn(session, mode, sides, battle, finish, start, settings, sessions)


def _store_turn(session: Session, mode: str, sides: list[Conversation], battle: Battle | None, finish: list[str],
                start: float, settings: ServeSettings, sessions: Sessions) -> str:
    """Store the turn's snapshots and the session after it; returns "" or, when the store refused, what
    to tell the user (the session is then released as it was before the turn)."""
    store = sessions.store
    now = time.time()
    snapshots = [{"conv_id": c.conv_id, "user_id": session.user_id, "browser": session.browser, "model": c.model,
                  "mode": mode,
                  "battle_id": c.battle_id, "tstamp": now, "start_tstamp": start, "finish_reason": f,
                  "state": c.state(), "gen_params": gen_params(settings, c.model)} for c, f in zip(sides, finish)]
    row = None
    if battle is not None and not battle.stored:
        row = {"battle_id": battle.battle_id, "user_id": session.user_id, "anony": battle.anony,
               "model_a": battle.models[0], "model_b": battle.models[1], "conv_a": sides[0].conv_id,
               "conv_b": sides[1].conv_id, "created": battle.created}
    for conv, f in zip(sides, finish):
        conv.finish_reasons.append(f)
    was_stored = battle is not None and battle.stored
    if battle is not None:
        battle.stored = True
    session.busy_until = None
    try:
        store.add_snapshots(snapshots, row, then=lambda cur: sessions.write(cur, session, turn_ended=True))
    except StoreError as exc:
        log.warning("a turn was not stored: %s", exc)
        store.add_event("store_error", str(exc))
        for conv in sides:  # the screen shows what the store holds
            del conv.messages[-2:]
            conv.finish_reasons.pop()
        if battle is not None:
            battle.stored = was_stored
        with contextlib.suppress(StoreError):
            sessions.release(session)
        return for_users(exc)[1]
    return ""
