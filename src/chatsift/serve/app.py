"""``chatsift serve``: the chat and arena web app (FastAPI, server-rendered pages, no CDN).

Pages work without JavaScript (plain forms; the answer is shown when it is complete). With it,
``static/serve.js`` streams answers as they arrive, adds stop, and votes without a reload. Every
value from users or models reaches a page through Jinja's autoescape or ``textContent``; the policy
allows only the app's own script and styles.

Every state-changing request carries the session's CSRF token (a form field or ``X-CSRF-Token``)
and, when the browser sends one, an ``Origin`` of this host. The client address is hashed with the
server's secret on arrival (``identity``) and is never stored or logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import orjson

try:
    from fastapi import FastAPI, Request
    from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response, StreamingResponse
except ImportError as exc:  # pragma: no cover - an optional extra
    from chatsift.errors import ConfigError

    raise ConfigError("chatsift serve needs the web extra: pip install 'chatsift[web]'") from exc
from jinja2 import Environment, PackageLoader, select_autoescape

from chatsift import __version__
from chatsift.chatstore.store import StoreBusy, StoreError, for_users
from chatsift.serve.identity import (
    ADMIN_SESSION_S,
    admin_cookie,
    admin_cookie_ok,
    browser_id,
    client_address,
    consent_key,
    csrf_ok,
    csrf_token,
    new_browser_cookie,
    token_matches,
    user_id,
)
from chatsift.serve.rates import MinuteWindow
from chatsift.serve.service import ChatService, Refusal
from chatsift.serve.sessions import Session
from chatsift.serve.turns import INACTIVE_MSG, run_turn

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; "
       "form-action 'self'; base-uri 'none'; frame-ancestors 'none'")
HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin",
           "X-Frame-Options": "DENY", "Cache-Control": "no-store"}
SESSION_COOKIE, ADMIN_COOKIE, BROWSER_COOKIE = "chatsift_sid", "chatsift_admin", "chatsift_browser"
BROWSER_COOKIE_MAX_AGE = 400 * 24 * 3600  # the longest browsers keep a cookie
ADMIN_ATTEMPTS_PER_MINUTE = 5  # wrong admin tokens one address may try in any 60 s


PAGES = {"chat": "/", "anony": "/arena", "named": "/side-by-side"}
STATIC = Path(__file__).parent / "static"
MAX_BODY = 1 << 20


class _Ctx:
    """A request's session (new or live), whether its cookie must be set, and a browser cookie to set."""

    def __init__(self, session: Session, fresh: bool, expired: bool, browser_cookie: str | None = None) -> None:
        self.session, self.fresh, self.expired = session, fresh, expired
        self.browser_cookie = browser_cookie


def create_app(service: ChatService, admin_token: str | None = None) -> FastAPI:
    settings, secret = service.settings, service.secret
    networks = settings.proxy_networks()
    env = Environment(loader=PackageLoader("chatsift.serve", "templates"), autoescape=select_autoescape(["j2"]))
    env.globals.update(version=__version__, title=settings.title, pages=PAGES)

    @contextlib.asynccontextmanager
    async def lifespan(_app):
        yield
        await service.aclose()

    app = FastAPI(title="chatsift serve", docs_url=None, redoc_url=None, openapi_url=None, lifespan=lifespan)
    admin_failures = MinuteWindow(service.store, ADMIN_ATTEMPTS_PER_MINUTE, "admin")  # wrong tokens per address

    @app.exception_handler(StoreError)
    async def store_refused(request: Request, exc: StoreError):
        """A store that cannot be read before the request has a session (its session is read from it)."""
        status, message, retry = _status(exc)
        headers = {**HEADERS, **({"Retry-After": str(int(retry) + 1)} if retry else {})}
        if request.url.path.startswith("/api/"):
            return JSONResponse({"error": message}, status_code=status, headers=headers)
        return HTMLResponse(env.get_template("message.html.j2").render(message=message, back="/", settings=settings),
                            status_code=status, headers=headers)

    async def context(request: Request) -> _Ctx:
        return await asyncio.to_thread(_context, request)

    def _context(request: Request) -> _Ctx:
        """The request's session, read from the store (any serving process may have made it)."""
        address = client_address(request.client.host if request.client else None,
                                 request.headers.get("x-forwarded-for"), networks)
        uid = user_id(secret, address)
        cookie = request.cookies.get(BROWSER_COOKIE)
        browser = browser_id(secret, cookie)
        new_cookie = None
        if browser is None:  # no cookie, or one the server did not sign: a new browser identity
            new_cookie = new_browser_cookie(secret)
            browser = browser_id(secret, new_cookie)
        key = consent_key(secret, browser)
        session, expired = service.sessions.get(request.cookies.get(SESSION_COOKIE))
        if session is not None and session.user_id == uid and session.browser == key:
            return _Ctx(session, False, False)
        return _Ctx(service.sessions.new(uid, key), True, expired, new_cookie)

    def finish(ctx: _Ctx, response: Response) -> Response:
        for k, v in HEADERS.items():
            response.headers.setdefault(k, v)
        if ctx.browser_cookie:
            response.set_cookie(BROWSER_COOKIE, ctx.browser_cookie, max_age=BROWSER_COOKIE_MAX_AGE, httponly=True,
                                samesite="lax", secure=settings.secure_cookies)
        if ctx.fresh:
            # A browser-session cookie: the server ends a session after limits.session_expiry_s idle.
            response.set_cookie(SESSION_COOKIE, ctx.session.sid, httponly=True, samesite="lax",
                                secure=settings.secure_cookies)
        return response

    def page(ctx: _Ctx, template: str, status: int = 200, **values) -> Response:
        html = env.get_template(template).render(csrf=csrf_token(secret, ctx.session.sid), session=ctx.session,
                                                 settings=settings, **values)
        return finish(ctx, HTMLResponse(html, status_code=status))

    def refusal(ctx: _Ctx, exc: Exception, api: bool) -> Response:
        status, message, retry = _status(exc)
        headers = {"Retry-After": str(int(retry) + 1)} if retry else None
        if api:
            return finish(ctx, JSONResponse({"error": message}, status_code=status, headers=headers))
        return page(ctx, "message.html.j2", status, message=message, back="/")

    async def read_form(request: Request) -> dict[str, str]:
        body = await _body(request)
        return {k: v[0] for k, v in parse_qs(body.decode("utf-8", "replace"), keep_blank_values=True).items()}

    async def read_json(request: Request) -> dict:
        body = await _body(request)
        try:
            data = orjson.loads(body or b"{}")
        except orjson.JSONDecodeError:
            raise Refusal(400, "the request body is not JSON") from None
        if not isinstance(data, dict):
            raise Refusal(400, "the request body must be a JSON object")
        return data

    def guard(request: Request, ctx: _Ctx, token: str | None) -> None:
        """CSRF: the session's token, and a same-host Origin when the browser names one."""
        origin = request.headers.get("origin")
        if origin and urlsplit(origin).netloc != request.headers.get("host"):
            raise Refusal(403, "cross-site request refused")
        if ctx.fresh or not csrf_ok(secret, ctx.session.sid, token):
            message = INACTIVE_MSG if ctx.expired else "the form has expired or was not sent from this site; reload"
            raise Refusal(403, message)

    # ------------------------------------------------------------ pages

    @app.get("/", response_class=HTMLResponse)
    async def chat_page(request: Request):
        return await _mode_page(request, "chat")

    @app.get("/arena", response_class=HTMLResponse)
    async def arena_page(request: Request):
        return await _mode_page(request, "anony")

    @app.get("/side-by-side", response_class=HTMLResponse)
    async def named_page(request: Request):
        return await _mode_page(request, "named")

    async def _mode_page(request: Request, mode: str) -> Response:
        ctx = await context(request)
        try:
            consented = await asyncio.to_thread(service.has_consent, ctx.session)
        except StoreError as exc:
            return refusal(ctx, exc, api=False)
        if not consented:
            return finish(ctx, RedirectResponse(f"/terms?next={PAGES[mode]}", status_code=303))
        battle = ctx.session.battles.get(mode)
        return page(ctx, "chat.html.j2" if mode == "chat" else "arena.html.j2", mode=mode,
                    conversations=ctx.session.conversations(mode), battle=battle,
                    models=[m.name for m in settings.models], expired=ctx.expired)

    @app.get("/terms", response_class=HTMLResponse)
    async def terms_page(request: Request, next: str = "/"):
        ctx = await context(request)
        latest = await asyncio.to_thread(service.store.consent, ctx.session.browser)
        return page(ctx, "terms.html.j2", latest=latest, next=next if next in PAGES.values() else "/")

    @app.post("/terms")
    async def terms_action(request: Request):
        ctx = await context(request)
        form: dict[str, str] = {}
        try:
            form = await read_form(request)
            guard(request, ctx, form.get("csrf"))
            if form.get("action") == "withdraw":
                await asyncio.to_thread(service.withdraw, ctx.session)
                return page(ctx, "message.html.j2", message="Your consent is withdrawn. Nothing you sent before "
                            "now will be in any later export.", back="/terms")
            if form.get("accept") != "yes":
                raise Refusal(400, "tick the box to accept the terms")
            await asyncio.to_thread(service.accept_terms, ctx.session)
        except (Refusal, StoreError) as exc:
            return refusal(ctx, exc, api=False)
        target = form.get("next", "/")
        return finish(ctx, RedirectResponse(target if target in PAGES.values() else "/", status_code=303))

    @app.get("/leaderboard", response_class=HTMLResponse)
    async def leaderboard_page(request: Request):
        ctx = await context(request)
        try:
            board = await service.leaderboard_async()
        except StoreError as exc:
            return refusal(ctx, exc, api=False)
        return page(ctx, "leaderboard.html.j2", board=board)

    @app.get("/api/leaderboard")
    async def leaderboard_api(request: Request):
        ctx = await context(request)
        board = await service.leaderboard_async()
        return finish(ctx, JSONResponse(orjson.loads(board.to_json()) if board else {"rows": []}))

    @app.get("/admin", response_class=HTMLResponse)
    async def admin_page(request: Request):
        ctx = await context(request)
        if not admin_token:
            return page(ctx, "message.html.j2", 404, message="the admin page is off (set the admin token)", back="/")
        if not admin_cookie_ok(secret, admin_token, request.cookies.get(ADMIN_COOKIE)):
            return page(ctx, "admin_login.html.j2", 401)
        summary = await asyncio.to_thread(service.store.summary)
        sessions = await asyncio.to_thread(len, service.sessions)
        return page(ctx, "admin.html.j2", summary=summary, sessions=sessions,
                    ledger=service.ledger.to_dict(), now=time.time())

    @app.post("/admin")
    async def admin_login(request: Request):
        ctx = await context(request)
        try:
            form = await read_form(request)
        except Refusal as exc:
            return refusal(ctx, exc, api=False)
        if not admin_token:
            return page(ctx, "message.html.j2", 404, message="the admin page is off (set the admin token)", back="/")
        try:
            guard(request, ctx, form.get("csrf"))  # the sign-in form is a form like the others: same site only
            wait = await asyncio.to_thread(admin_failures.wait, ctx.session.user_id)
            if wait:
                raise Refusal(429, f"too many wrong admin tokens from this address; try again in {wait:.0f} s",
                              retry_after=wait)
        except Refusal as exc:
            return refusal(ctx, exc, api=False)
        if not token_matches(form.get("token"), admin_token):
            await asyncio.to_thread(admin_failures.add, ctx.session.user_id)
            return page(ctx, "admin_login.html.j2", 401, wrong=True)
        response = finish(ctx, RedirectResponse("/admin", status_code=303))
        response.set_cookie(ADMIN_COOKIE, admin_cookie(secret, admin_token), max_age=ADMIN_SESSION_S, httponly=True,
                            samesite="strict", secure=settings.secure_cookies)
        return response

    @app.post("/admin/logout")
    async def admin_logout(request: Request):
        ctx = await context(request)
        try:
            guard(request, ctx, (await read_form(request)).get("csrf"))
        except Refusal as exc:
            return refusal(ctx, exc, api=False)
        response = finish(ctx, RedirectResponse("/", status_code=303))
        response.delete_cookie(ADMIN_COOKIE, httponly=True, samesite="strict", secure=settings.secure_cookies)
        return response

    @app.get("/favicon.ico")
    async def favicon():
        return await static("favicon.svg")

    @app.get("/static/{name}")
    async def static(name: str):
        kinds = {"serve.js": "text/javascript", "serve.css": "text/css", "favicon.svg": "image/svg+xml"}
        path = STATIC / name
        if name not in kinds or not path.is_file():
            return Response(status_code=404)
        kind = kinds[name]
        return Response(path.read_bytes(), media_type=kind, headers={"Cache-Control": "no-cache",
                                                                     "X-Content-Type-Options": "nosniff"})

    @app.get("/healthz")
    async def health():
        version = await asyncio.to_thread(service.store.version)
        sessions = await asyncio.to_thread(len, service.sessions)
        return JSONResponse({"ok": True, "schema": version, "sessions": sessions})

    # ------------------------------------------------------------ turns, as a stream (JS) or a form (no JS)

    async def _begin(request: Request, ctx: _Ctx, data: dict, token: str | None, regenerate: bool):
        guard(request, ctx, token)
        models = data.get("models")
        if not models and data.get("model_a") and data.get("model_b"):  # the side-by-side form's two pickers
            models = [data["model_a"], data["model_b"]]
        if not isinstance(models, list) or not all(isinstance(m, str) for m in models):
            models = None
        return await asyncio.to_thread(service.begin_turn, ctx.session, str(data.get("mode", "chat")),
                                       data.get("text") if isinstance(data.get("text"), str) else None,
                                       model=data.get("model") or None, models=models, regenerate=regenerate)

    async def _stream(request: Request, regenerate: bool):
        ctx = await context(request)
        try:
            data = await read_json(request)
            sides, battle = await _begin(request, ctx, data, request.headers.get("x-csrf-token"), regenerate)
        except (Refusal, StoreError) as exc:
            return refusal(ctx, exc, api=True)
        mode = str(data.get("mode", "chat"))

        async def lines():
            if battle is not None:
                yield orjson.dumps({"battle_id": battle.battle_id,
                                    "models": None if battle.anony else battle.models}) + b"\n"
            else:
                yield orjson.dumps({"model": sides[0].model, "conv_id": sides[0].conv_id}) + b"\n"
            async for event in run_turn(ctx.session, mode, sides, battle, service.clients, settings,
                                        service.sessions):
                yield orjson.dumps(event) + b"\n"

        return finish(ctx, StreamingResponse(lines(), media_type="application/x-ndjson",
                                             headers={"X-Accel-Buffering": "no"}))

    @app.post("/api/send")
    async def send_api(request: Request):
        return await _stream(request, regenerate=False)

    @app.post("/api/regenerate")
    async def regenerate_api(request: Request):
        return await _stream(request, regenerate=True)

    @app.post("/api/stop")
    async def stop_api(request: Request):
        ctx = await context(request)
        try:
            guard(request, ctx, request.headers.get("x-csrf-token"))
        except Refusal as exc:
            return refusal(ctx, exc, api=True)
        try:
            stopping = await asyncio.to_thread(service.sessions.request_stop, ctx.session.sid)
        except StoreError as exc:
            return refusal(ctx, exc, api=True)
        return finish(ctx, JSONResponse({"ok": True, "stopping": stopping}))

    @app.post("/send")
    async def send_form(request: Request):
        ctx = await context(request)
        try:
            form = await read_form(request)
            mode = form.get("mode", "chat")
            sides, battle = await _begin(request, ctx, form, form.get("csrf"), form.get("regenerate") == "1")
        except (Refusal, StoreError) as exc:
            return refusal(ctx, exc, api=False)
        async for _ in run_turn(ctx.session, mode, sides, battle, service.clients, settings, service.sessions):
            pass
        return finish(ctx, RedirectResponse(PAGES.get(mode, "/"), status_code=303))

    # ------------------------------------------------------------ votes and new rounds

    async def _vote(request: Request, ctx: _Ctx, data: dict, token: str | None) -> dict:
        guard(request, ctx, token)
        return await asyncio.to_thread(service.vote, ctx.session, str(data.get("mode", "chat")),
                                       str(data.get("kind", "")), data.get("battle_id") or None)

    @app.post("/api/vote")
    async def vote_api(request: Request):
        ctx = await context(request)
        try:
            result = await _vote(request, ctx, await read_json(request), request.headers.get("x-csrf-token"))
        except (Refusal, StoreError) as exc:
            return refusal(ctx, exc, api=True)
        return finish(ctx, JSONResponse(result))

    @app.post("/vote")
    async def vote_form(request: Request):
        ctx = await context(request)
        try:
            form = await read_form(request)
            await _vote(request, ctx, form, form.get("csrf"))
        except (Refusal, StoreError) as exc:
            return refusal(ctx, exc, api=False)
        return finish(ctx, RedirectResponse(PAGES.get(form.get("mode", "chat"), "/"), status_code=303))

    @app.post("/clear")
    async def clear_form(request: Request):
        ctx = await context(request)
        try:
            form = await read_form(request)
            guard(request, ctx, form.get("csrf"))
            await asyncio.to_thread(service.clear, ctx.session, form.get("mode", "chat"))
        except (Refusal, StoreError) as exc:
            return refusal(ctx, exc, api=False)
        return finish(ctx, RedirectResponse(PAGES.get(form.get("mode", "chat"), "/"), status_code=303))

    return app


async def _body(request: Request) -> bytes:
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > MAX_BODY:
        raise Refusal(413, f"the request is larger than {MAX_BODY:,} bytes")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise Refusal(413, f"the request is larger than {MAX_BODY:,} bytes")
    return body


def _status(exc: Exception) -> tuple[int, str, float | None]:
    if isinstance(exc, Refusal):
        return exc.status, exc.message, exc.retry_after
    status, message = for_users(exc)
    return status, message, 2.0 if isinstance(exc, StoreBusy) else None
