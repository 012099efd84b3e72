"""``chatsift explore``: a local web app over a release. Server-rendered pages, no scripts, no CDN.

Every value from the data reaches the page through Jinja's autoescape (snippets are escaped before
the only markup we add, ``<mark>``); a Content-Security-Policy forbids scripts outright as a second
line of defence. Pages: search with filters (``/``), one conversation (``/conversation/{id}``), topics
(``/topics``), and ``/api/search`` as JSON.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path

try:
    from fastapi import FastAPI, Request
    from fastapi.responses import HTMLResponse, JSONResponse, Response
except ImportError as exc:  # pragma: no cover - an optional extra
    from chatsift.errors import ConfigError

    raise ConfigError("chatsift explore needs the web extra: pip install 'chatsift[web]'") from exc
from urllib.parse import quote

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from chatsift import __version__
from chatsift.explore.search import PAGE, Query, Searcher

CSP = "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; base-uri 'none'"
FLAG_CATEGORIES = ["sexual", "harassment", "violence", "hate", "self-harm"]


MAX_INT = 2**31 - 1  # SQLite takes 64-bit integers; anything past this is no turn count, topic or page


def _int(value: str | None, low: int = 0, high: int = MAX_INT) -> int | None:
    """A query parameter as an int within [low, high] (clamped); None when absent or not a number."""
    try:
        number = int(value) if value not in (None, "") and len(value) < 30 else None
    except ValueError:
        return None
    return None if number is None else min(max(number, low), high)


def create_app(index: Path, release: Path) -> FastAPI:
    searcher = Searcher(index)
    facets = searcher.facets()
    topics_file = release / "topics" / "clusters.json"
    topics = json.loads(topics_file.read_text(encoding="utf-8")) if topics_file.exists() else None
    labels = {c["cluster"] + 1: c["label"] for c in topics["clusters"]} if topics else {}
    env = Environment(loader=PackageLoader("chatsift.explore", "templates"), autoescape=select_autoescape(["j2"]))
    env.filters["quote_id"] = lambda value: quote(str(value), safe="")
    css = (Path(__file__).parent / "static" / "style.css").read_text(encoding="utf-8")
    app = FastAPI(title="chatsift explorer", docs_url=None, redoc_url=None, openapi_url=None)

    def page(name: str, **context) -> HTMLResponse:
        html = env.get_template(name).render(release=release.name, version=__version__, facets=facets,
                                             labels=labels, flags=FLAG_CATEGORIES, **context)
        return HTMLResponse(html, headers={"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff",
                                           "Referrer-Policy": "no-referrer"})

    def query_from(request: Request) -> Query:
        p = request.query_params
        return Query(q=p.get("q", "")[:300], model=p.get("model", ""), language=p.get("language", ""),
                     flagged=p.get("flagged", ""), topic=_int(p.get("topic")), min_turns=_int(p.get("min_turns")),
                     max_turns=_int(p.get("max_turns")), redacted=p.get("redacted", ""), group=p.get("group", ""),
                     sort=p.get("sort", "relevance"), page=_int(p.get("page"), 1, 100_000) or 1,
                     exact=p.get("exact") == "1")

    @app.get("/", response_class=HTMLResponse)
    def search_page(request: Request) -> HTMLResponse:
        query = query_from(request)
        results = searcher.search(query)
        params = {k: v for k, v in request.query_params.items() if k != "page"}
        return page("search.html.j2", query=query, results=results, page_size=PAGE,
                    hits=[dict(asdict(h), snippet_html=Markup(h.snippet_html)) for h in results.hits], params=params)

    @app.get("/api/search")
    def api_search(request: Request) -> JSONResponse:
        results = searcher.search(query_from(request))
        return JSONResponse({"total": results.total, "capped": results.total > results.cap, "page": results.page,
                             "hits": [asdict(h) for h in results.hits]})

    # ``:path`` so that an id holding "/" (links quote it) still reaches its page.
    @app.get("/conversation/{conversation_id:path}", response_class=HTMLResponse)
    def conversation_page(conversation_id: str) -> HTMLResponse:
        conv = searcher.conversation(conversation_id)
        if conv is None:
            response = page("missing.html.j2", conversation_id=conversation_id)
            response.status_code = 404
            return response
        return page("conversation.html.j2", conv=conv)

    @app.get("/topics", response_class=HTMLResponse)
    def topics_page() -> HTMLResponse:
        return page("topics.html.j2", topics=topics)

    @app.get("/static/style.css")
    def style() -> Response:
        return Response(css, media_type="text/css", headers={"Cache-Control": "max-age=3600"})

    return app


def serve(release: Path, host: str = "127.0.0.1", port: int = 8765, rebuild: bool = False) -> None:
    import uvicorn

    from chatsift.explore.index import ensure_index

    index = ensure_index(release, rebuild=rebuild)
    uvicorn.run(create_app(index, release), host=host, port=port, log_level="warning")
