"""``chatsift explore``: a local web app over a release. Server-rendered pages, no CDN.

Every value from the data reaches the page through Jinja's autoescape (snippets are escaped before
the only markup we add, ``<mark>``); a Content-Security-Policy forbids scripts outright as a second
line of defence. Pages: search with filters (``/``), one conversation (``/conversation/{id}``), topics
(``/topics``), and ``/api/search`` as JSON.

The map (``/map``) is the one page with a script: ``static/map.js``, served by the app and allowed by
that page's policy alone (``script-src 'self'``, no inline code). It draws the topic map's prompts on
a canvas from ``/api/map/points`` (binary arrays), greys out what the page's filters (the search
form's, in the same query string) do not match via ``/api/map/match``, and shows a prompt on hover
from ``/api/map/point/{idx}`` as text, never as markup.
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
MAP_CSP = CSP + "; script-src 'self'; connect-src 'self'"
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
    app = FastAPI(title="chatsift explorer", docs_url=None, redoc_url=None, openapi_url=None)

    static = Path(__file__).parent / "static"
    css = (static / "style.css").read_text(encoding="utf-8")
    script = (static / "map.js").read_text(encoding="utf-8")
    icon = (static / "favicon.svg").read_text(encoding="utf-8")
    map_topics = searcher.map_topics()
    # In the asset URLs, so that a browser never mixes a cached map or script with a rebuilt index.
    map_version = f"{__version__}-{int(index.stat().st_mtime)}"
    headers = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer"}

    def page(name: str, policy: str = CSP, **context) -> HTMLResponse:
        html = env.get_template(name).render(release=release.name, version=__version__, facets=facets,
                                             labels=labels, flags=FLAG_CATEGORIES, **context)
        return HTMLResponse(html, headers={"Content-Security-Policy": policy, **headers})

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

    @app.get("/map", response_class=HTMLResponse)
    def map_page(request: Request) -> HTMLResponse:
        params = {k: v for k, v in request.query_params.items() if k not in ("page", "exact", "sort")}
        return page("map.html.j2", policy=MAP_CSP, query=query_from(request), params=params, map_topics=map_topics,
                    points=int(searcher.meta.get("map_points", 0)), topic_meta=(topics or {}).get("meta", {}),
                    map_version=map_version)

    @app.get("/api/map/points")
    def api_map_points() -> Response:
        return Response(searcher.map_points(), media_type="application/octet-stream",
                        headers={"Cache-Control": "max-age=3600", **headers})

    @app.get("/api/map/match")
    def api_map_match(request: Request) -> Response:
        return Response(searcher.map_matches(query_from(request)), media_type="application/octet-stream",
                        headers=headers)

    @app.get("/api/map/point/{idx}")
    def api_map_point(idx: str) -> JSONResponse:
        # no clamping here: a wrong idx is a 404, not a neighbour
        point = searcher.map_point(int(idx)) if idx.isdigit() and len(idx) < 12 else None
        if point is None:
            return JSONResponse({"error": "no such point"}, status_code=404)
        point["label"] = labels.get(point["topic"], "")
        return JSONResponse(point)

    @app.get("/static/style.css")
    def style() -> Response:
        return Response(css, media_type="text/css", headers={"Cache-Control": "max-age=3600", **headers})

    @app.get("/static/favicon.svg")
    @app.get("/favicon.ico")  # browsers ask for it whatever the page says
    def favicon() -> Response:
        return Response(icon, media_type="image/svg+xml", headers={"Cache-Control": "max-age=86400", **headers})

    @app.get("/static/map.js")
    def map_script() -> Response:
        return Response(script, media_type="text/javascript", headers={"Cache-Control": "max-age=3600", **headers})

    return app


def serve(release: Path, host: str = "127.0.0.1", port: int = 8765, rebuild: bool = False) -> None:
    import uvicorn

    from chatsift.explore.index import ensure_index

    index = ensure_index(release, rebuild=rebuild)
    uvicorn.run(create_app(index, release), host=host, port=port, log_level="warning", proxy_headers=False)
