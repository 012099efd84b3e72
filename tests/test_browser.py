"""The report and the explorer in a real browser (Debian's Chromium, driven by Selenium).

Script-injection payloads are planted in conversations and model names; the tests prove in Chromium
that none of them runs, and in the served HTML that they arrive escaped.
"""

from __future__ import annotations

import json
import shutil
import time
from html import escape as html_escape

import httpx
import numpy as np
import pytest
from conftest import read_release, run_curate, serving

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMEDRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(not (CHROMIUM and CHROMEDRIVER), reason="Chromium and chromedriver are not installed")

PAYLOADS = [
    "<script>window.__pwned = 1</script>",
    '<img src=x onerror="window.__pwned = 2">',
    '<a href="javascript:window.__pwned = 3">click me</a>',
    '"><svg onload="window.__pwned = 4">',
    "</textarea><iframe srcdoc=\"<script>parent.__pwned = 5</script>\"></iframe>",
    "{{ 7 * 7 }} ${7*7} <style>body{display:none}</style>",
]


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-quic", "--window-size=1280,1600",
                f"--user-data-dir={tmp_path_factory.mktemp('chromium-profile')}"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def hostile_release(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    records = []
    for i, payload in enumerate(PAYLOADS):
        for j in range(3):  # enough prompts for a small topic map
            records.append({"id": f"x{i}-{j}", "model": PAYLOADS[3] if i % 2 else "vicuna-13b",
                            "messages": [{"role": "user", "content": f"Please explain this markup {j}: {payload} "
                                                                     "and why browsers treat it specially."},
                                         {"role": "assistant", "content": f"It is shown as text: {payload}"}]})
    records.append({"id": "a<script>b", "model": "gpt-4", "messages": [
        {"role": "user", "content": "What is the capital of France and why is it famous for art?"},
        {"role": "assistant", "content": "Paris."}]})
    records.append({"id": "dir/sub?q=1#frag", "model": "llama-2", "messages": [
        {"role": "user", "content": "Odd \x02 control \x03 bytes \x02 in a zebra prompt"},
        {"role": "assistant", "content": "zebra"}]})
    (root / "in.jsonl").write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    run_curate([root / "in.jsonl"], root / "release", **{"release.schema": "full"})
    return root / "release"


def _assert_nothing_ran(driver) -> None:
    from selenium.common.exceptions import NoAlertPresentException

    assert driver.execute_script("return window.__pwned === undefined")
    with pytest.raises(NoAlertPresentException):
        driver.switch_to.alert.text  # noqa: B018 - raises when there is no alert
    # Nothing the data carried became an element: no iframes, no images, no SVG from payloads.
    assert driver.execute_script("return document.querySelectorAll('iframe, img, body script').length") == 0


def test_report_renders_and_escapes(browser, hostile_release, tmp_path):
    pytest.importorskip("model2vec")
    from chatsift.analysis.report.render import build_report
    from chatsift.analysis.topics.model import TopicSettings

    out = build_report(hostile_release, tmp_path / "report.html", topic_settings=TopicSettings(k=3, min_users=2))
    html = out.read_text(encoding="utf-8")
    assert "<script" not in html.lower().replace("&lt;script", "")
    escaped = [p for p in PAYLOADS if html_escape(p, quote=False) in html or html_escape(p) in html]
    assert escaped  # the examples show hostile prompts, as text
    browser.get(out.as_uri())
    _assert_nothing_ran(browser)
    sections = [e.get_attribute("id") for e in browser.find_elements("css selector", "section")]
    assert sections == ["overview", "distributions", "duplicates", "moderation", "topics"]
    charts = browser.find_elements("css selector", "svg.chart")
    assert len(charts) >= 5 and all(c.size["width"] > 200 and c.size["height"] > 20 for c in charts)
    shown = browser.find_element("id", "topics").text
    assert any(p in shown for p in escaped)  # what the page shows is the payload itself, inert
    severe = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not severe, severe


def test_report_screenshot(browser, tmp_path, shared_data):
    """The report on real data, as a person would see it: a screenshot that is not blank."""
    pytest.importorskip("model2vec")
    from PIL import Image

    from chatsift.analysis.report.render import build_report
    from chatsift.analysis.topics.model import TopicSettings

    inputs = [shared_data / "arena-hard-auto/v0.1", shared_data / "openassistant-oasst-eval-samples/en_100_tree.jsonl"]
    run_curate(inputs, tmp_path / "r", **{"release.schema": "full"})
    out = build_report(tmp_path / "r", tmp_path / "report.html", topic_settings=TopicSettings(k=6, min_users=2))
    browser.get(out.as_uri())
    shot = tmp_path / "report.png"
    browser.save_screenshot(str(shot))
    image = Image.open(shot).convert("RGB")
    assert image.size[0] >= 1200
    colours = image.resize((160, 200)).getcolors(maxcolors=100_000)
    assert colours is not None and len(colours) > 50  # text, bars and tables, not an empty page
    assert "Table 1" in browser.find_element("id", "overview").text


@pytest.fixture(scope="module")
def explorer(hostile_release):
    from chatsift.explore.app import create_app
    from chatsift.explore.index import build_index

    with serving(create_app(build_index(hostile_release), hostile_release)) as base:
        yield base


def test_explorer_pages_escape_everything(browser, explorer):
    for path in ("/?q=markup", "/?q=script", "/conversation/x0-0", "/conversation/x1-1", "/?q=svg&sort=order",
                 "/topics", "/conversation/a%3Cscript%3Eb"):
        response = httpx.get(explorer + path)
        assert response.status_code == 200, path
        assert "script-src" not in response.headers["content-security-policy"]  # no script source allowed at all
        assert "default-src 'none'" in response.headers["content-security-policy"]
        body = response.text
        for payload in PAYLOADS:
            assert payload not in body, (path, payload)
        browser.get(explorer + path)
        _assert_nothing_ran(browser)
    browser.get(explorer + "/conversation/x0-0")
    assert "<script>window.__pwned = 1</script>" in browser.find_element("css selector", ".messages").text


def test_explorer_search_and_filters(explorer):
    def api(**params):
        return httpx.get(explorer + "/api/search", params=params).json()

    assert api(q="capital France")["total"] == 1
    assert api(q="markup")["total"] == 18
    assert api(model="gpt-4")["total"] == 1
    assert api(model=PAYLOADS[3])["total"] == 9
    assert api(q="markup", min_turns=1, max_turns=1)["total"] == 18
    assert api(q="markup", max_turns=0)["total"] == 0
    assert api(redacted="yes")["total"] == 0
    hit = api(q="capital")["hits"][0]
    assert hit["conversation_id"] == "a<script>b" and "<mark>capital</mark>" in hit["snippet_html"]
    group = httpx.get(explorer + "/api/search", params={"q": "markup 0"}).json()
    assert group["total"] >= 1
    # Operators and quotes in the query are words, never FTS5 syntax errors.
    assert httpx.get(explorer + "/", params={"q": 'NEAR( "unbalanced OR * ^'}).status_code == 200
    assert httpx.get(explorer + "/conversation/does-not-exist").status_code == 404


def test_explorer_survives_odd_parameters_ids_and_text(explorer):
    for params in ({"page": "9" * 40}, {"min_turns": str(2**70)}, {"topic": "-" + "9" * 25}, {"page": "-3"},
                   {"max_turns": "1e9"}):
        response = httpx.get(explorer + "/", params=params)
        assert response.status_code == 200, params
        assert httpx.get(explorer + "/api/search", params=params).status_code == 200, params
    # an id with "/", "?" and "#" is linked quoted and its page opens
    page = httpx.get(explorer + "/", params={"q": "zebra"}).text
    assert 'href="/conversation/dir%2Fsub%3Fq%3D1%23frag"' in page
    conv = httpx.get(explorer + "/conversation/dir%2Fsub%3Fq%3D1%23frag")
    assert conv.status_code == 200 and "dir/sub?q=1#frag" in conv.text
    # control characters in the text cannot open or close <mark>
    hit = httpx.get(explorer + "/api/search", params={"q": "zebra"}).json()["hits"][0]
    snippet = hit["snippet_html"]
    assert snippet.count("<mark>") == snippet.count("</mark>") == 2  # "zebra" in the prompt and the answer
    assert "<mark>zebra</mark> prompt" in snippet and "\x02" not in snippet and "\x03" not in snippet
    # an unknown id is a page, not raw JSON
    missing = httpx.get(explorer + "/conversation/nope")
    assert missing.status_code == 404 and missing.headers["content-type"].startswith("text/html")
    assert "No such conversation" in missing.text
    capped = httpx.get(explorer + "/api/search", params={"q": "markup", "exact": "1"}).json()
    assert capped["total"] == 18 and not capped["capped"]


LABEL_BOXES_JS = """
const out = [];
for (const svg of document.querySelectorAll('svg.chart')) {
  const view = svg.viewBox.baseVal;
  const boxes = [];
  for (const t of svg.querySelectorAll('text')) {
    const b = t.getBBox();
    boxes.push([b.x, b.y, b.x + b.width, b.y + b.height, t.textContent, t.getBoundingClientRect().height]);
  }
  const columns = [...svg.querySelectorAll('rect > title')].map(t => t.textContent.split(':')[0]);
  out.push({label: svg.getAttribute('aria-label'), w: view.width, h: view.height, boxes: boxes, columns: columns,
            grid: svg.querySelectorAll('line.grid').length, ticks: svg.querySelectorAll('text.tick').length});
}
return out;
"""


def test_report_charts_are_readable(browser, tmp_path, shared_data):
    """No chart label overlaps another or leaves its chart, text is drawn at 11 px or more, histograms have axes."""
    pytest.importorskip("model2vec")
    from chatsift.analysis.report.render import build_report
    from chatsift.analysis.topics.model import TopicSettings

    inputs = [shared_data / "arena-hard-auto/v0.1", shared_data / "fastchat-llm-judge/mt_bench",
              shared_data / "openassistant-oasst-eval-samples/en_100_tree.jsonl"]
    run_curate(inputs, tmp_path / "r", **{"release.schema": "full"})
    out = build_report(tmp_path / "r", tmp_path / "report.html", topic_settings=TopicSettings(k=14, min_users=1))
    browser.get(out.as_uri())
    charts = browser.execute_script(LABEL_BOXES_JS)
    assert {c["label"] for c in charts} >= {"turns", "topic map", "conversations per model"}
    for chart in charts:
        boxes = chart["boxes"]
        for x0, y0, x1, y1, text, px in boxes:
            inside = x0 >= -0.5 and y0 >= -0.5 and x1 <= chart["w"] + 0.5 and y1 <= chart["h"] + 0.5
            assert inside, (chart["label"], text)
            assert px >= 11, (chart["label"], text, px)
        for i, a in enumerate(boxes):
            for b in boxes[i + 1:]:
                overlap = a[0] < b[2] - 0.5 and b[0] < a[2] - 0.5 and a[1] < b[3] - 0.5 and b[1] < a[3] - 0.5
                assert not overlap, (chart["label"], a[4], b[4])
    turns = next(c for c in charts if c["label"] == "turns")
    assert turns["grid"] >= 3 and turns["ticks"] >= 5  # a y-axis with gridlines, and x ticks
    numbers = [int(c) for c in turns["columns"] if c.isdigit()]
    assert numbers == list(range(numbers[0], numbers[0] + len(numbers)))  # no turn count skipped
    browser.save_screenshot(str(tmp_path / "report.png"))


@pytest.fixture(scope="module")
def mapped(tmp_path_factory, _model_cache):
    """A release of real prompts plus the hostile ones, with a topic map, served by the explorer."""
    pytest.importorskip("model2vec")
    from conftest import SHARED_DATA as shared_data

    if not shared_data.is_dir():
        pytest.skip("../shared/data is not present")

    from chatsift.analysis.topics.model import TopicSettings, build_topics
    from chatsift.explore.app import create_app
    from chatsift.explore.index import build_index

    root = tmp_path_factory.mktemp("mapped")
    hostile = [{"id": f"h{i}-{j}", "model": "gpt-4" if i % 2 else "vicuna-13b",
                "messages": [{"role": "user", "content": f"Please explain this markup {j}: {payload} and why "
                                                         "browsers treat it specially."},
                             {"role": "assistant", "content": f"It is shown as text: {payload}"}]}
               for i, payload in enumerate(PAYLOADS) for j in range(3)]
    (root / "hostile.jsonl").write_text("".join(json.dumps(r) + "\n" for r in hostile), encoding="utf-8")
    inputs = [shared_data / "arena-hard-auto/v0.1", shared_data / "fastchat-llm-judge/mt_bench",
              root / "hostile.jsonl"]
    run_curate(inputs, root / "release", **{"release.schema": "full"})
    with pytest.MonkeyPatch.context() as env:  # the module's fixtures run before the per-test environment
        env.setenv("CHATSIFT_CACHE", _model_cache)
        env.setenv("HF_HUB_OFFLINE", "1")
        build_topics(root / "release", TopicSettings(k=8, min_users=1, language=None))
    with serving(create_app(build_index(root / "release"), root / "release")) as base:
        yield base, root / "release"


def _map_points(base: str) -> dict:
    raw = httpx.get(base + "/api/map/points").content
    n = len(raw) // 14
    return {"idx": np.frombuffer(raw, "<u4", n, 0), "x": np.frombuffer(raw, "<f4", n, 4 * n),
            "y": np.frombuffer(raw, "<f4", n, 8 * n), "topic": np.frombuffer(raw, "<u2", n, 12 * n)}


def _point_conversations(release) -> tuple[list[str], list[int]]:
    """The map's points in idx order as (conversation_id, topic), read from the topic files themselves."""
    import pyarrow.parquet as pq

    t = pq.read_table(release / "topics" / "assignments.parquet")
    return t.column("conversation_id").to_pylist(), [c + 1 for c in t.column("cluster").to_pylist()]


def _open_map(browser, url: str) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    browser.get(url)
    WebDriverWait(browser, 30).until(lambda d: d.find_element("id", "map").get_attribute("data-state") != "loading")
    assert browser.find_element("id", "map").get_attribute("data-state") == "ready"


def test_explorer_map_serves_every_prompt_of_the_topic_map(mapped):
    base, release = mapped
    page = httpx.get(base + "/map")
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe" not in policy and "connect-src 'self'" in policy
    assert page.text.count("<script") == 1 and '<script src="/static/map.js?v=' in page.text
    assert "script-src" not in httpx.get(base + "/").headers["content-security-policy"]  # other pages stay script-free
    points = _map_points(base)
    ids, topics = _point_conversations(release)
    assert len(points["idx"]) == len(ids) > 300  # every prompt of the map (min_users=1: nothing private)
    assert list(points["idx"]) == list(range(len(ids)))
    assert list(points["topic"]) == topics
    import pyarrow.parquet as pq

    xy = pq.read_table(release / "topics" / "assignments.parquet", columns=["x", "y"])
    assert list(points["x"]) == pytest.approx(xy.column("x").to_pylist())
    point = httpx.get(base + "/api/map/point/0").json()
    assert point["conversation_id"] == ids[0] and point["topic"] == topics[0] and point["prompt"]
    for bad in ("abc", "-1", "9" * 40, str(len(ids))):
        assert httpx.get(base + f"/api/map/point/{bad}").status_code == 404, bad
    # filters: the same query string as search; the words match what the release's text holds
    conversations = {r["conversation_id"]: r for r in read_release(release).to_pylist()}
    markup = [i for i, cid in enumerate(ids)
              if any("markup" in (m["content"] or "").lower() for m in conversations[cid]["conversation"])]
    matched = list(np.frombuffer(httpx.get(base + "/api/map/match", params={"q": "markup"}).content, "<u4"))
    assert matched == markup and len(markup) >= 18  # the 18 planted ones and real prompts about markup
    gpt4 = [i for i, cid in enumerate(ids) if conversations[cid]["model"] == "gpt-4"]
    both = list(np.frombuffer(httpx.get(base + "/api/map/match", params={"q": "markup", "model": "gpt-4"}).content,
                              "<u4"))
    assert both == sorted(set(markup) & set(gpt4)) and 0 < len(both) < len(markup)
    topic_one = {cid for cid, t in zip(ids, topics) if t == 1}
    by_topic = list(np.frombuffer(httpx.get(base + "/api/map/match", params={"topic": "1"}).content, "<u4"))
    assert by_topic == [i for i, cid in enumerate(ids) if cid in topic_one]


def test_explorer_map_in_the_browser(browser, mapped, tmp_path):
    """Points drawn in topic colours; wheel zoom, drag pan, hover shows the prompt as text, click opens it."""
    from PIL import Image
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.actions.wheel_input import ScrollOrigin
    from selenium.webdriver.support.ui import WebDriverWait

    base, release = mapped
    _open_map(browser, base + "/map")
    canvas = browser.find_element("id", "map")
    state = browser.execute_script("const s = window.chatsiftMap; return {n: s.n, k: s.view.k, matches: s.matches}")
    ids, _ = _point_conversations(release)
    assert state["n"] == len(ids) and state["matches"] == -1
    shot = tmp_path / "map.png"
    browser.save_screenshot(str(shot))
    box = canvas.rect
    ratio = browser.execute_script("return window.devicePixelRatio")
    area = Image.open(shot).convert("RGB").crop(tuple(round(v * ratio) for v in (
        box["x"], box["y"], box["x"] + box["width"], box["y"] + box["height"])))
    colours = {c for n, c in area.getcolors(maxcolors=1 << 20) if n >= 20 and c != (255, 255, 255)}
    assert len(colours) >= 8  # at least one colour per topic drawn (k=8), not a blank canvas
    swatches = browser.execute_script(
        "return [...document.querySelectorAll('#legend .swatch')].map(s => getComputedStyle(s).backgroundColor)")
    assert len(swatches) == 8 and len(set(swatches)) == 8

    # hover the prompt that carries a script payload, after zooming in on it with the wheel
    target = next(i for i, cid in enumerate(ids) if cid == "h0-0")

    def screen(i):
        return browser.execute_script(f"return window.chatsiftMap.screenOf({i})")

    for _ in range(3):
        sx, sy = screen(target)
        origin = ScrollOrigin.from_element(canvas, int(sx - box["width"] / 2), int(sy - box["height"] / 2))
        ActionChains(browser).scroll_from_origin(origin, 0, -400).perform()
    WebDriverWait(browser, 5).until(lambda d: float(canvas.get_attribute("data-zoom")) > 3)
    sx, sy = screen(target)
    assert 0 <= sx <= box["width"] and 0 <= sy <= box["height"]  # zoomed about the cursor: the point stays in view
    ActionChains(browser).move_to_element_with_offset(canvas, int(sx - box["width"] / 2),
                                                      int(sy - box["height"] / 2)).perform()
    WebDriverWait(browser, 5).until(lambda d: not d.find_element("id", "map-tip").get_attribute("hidden"))
    hovered = int(canvas.get_attribute("data-hover"))
    tip = browser.find_element("id", "map-tip").text
    expected = httpx.get(base + f"/api/map/point/{hovered}").json()
    assert expected["prompt"] in tip and f"topic {expected['topic']}" in tip
    assert "<script>window.__pwned = 1</script>" in tip  # the payload is shown as text
    assert browser.execute_script("return document.querySelectorAll('#map-tip *').length") == 3  # our three lines only
    assert browser.execute_script("return window.__pwned === undefined")

    # drag pans the view by the distance moved
    before = browser.execute_script("return {...window.chatsiftMap.view}")
    ActionChains(browser).move_to_element_with_offset(canvas, -300, -250).click_and_hold().move_by_offset(120, 60) \
        .release().perform()
    after = browser.execute_script("return {...window.chatsiftMap.view}")
    assert after["tx"] - before["tx"] == pytest.approx(120, abs=2)
    assert after["ty"] - before["ty"] == pytest.approx(60, abs=2) and after["k"] == before["k"]
    assert browser.current_url.endswith("/map")  # a drag is not a click
    ActionChains(browser).move_to_element_with_offset(canvas, -300, -250).click_and_hold().move_by_offset(-120, -60) \
        .release().perform()  # and back, so the hovered point is in view again

    # a click on a point opens its conversation
    sx, sy = screen(target)
    assert 0 <= sx <= box["width"] and 0 <= sy <= box["height"]
    ActionChains(browser).move_to_element_with_offset(canvas, int(sx - box["width"] / 2),
                                                      int(sy - box["height"] / 2)).click().perform()
    WebDriverWait(browser, 10).until(lambda d: "/conversation/" in d.current_url)
    clicked = browser.current_url.split("/conversation/", 1)[1]
    assert clicked == expected["conversation_id"]
    assert "<script>window.__pwned = 1</script>" in browser.find_element("css selector", ".messages").text
    assert browser.execute_script("return window.__pwned === undefined")
    severe = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not severe, severe


def test_explorer_map_filters_and_legend(browser, mapped):
    from selenium.webdriver.support.ui import WebDriverWait

    base, release = mapped
    _open_map(browser, base + "/map?q=markup&model=gpt-4&language=")
    matches = browser.execute_script("return window.chatsiftMap.matches")
    expected = len(np.frombuffer(httpx.get(base + "/api/map/match", params={"q": "markup", "model": "gpt-4"}).content,
                                 "<u4"))
    assert matches == expected > 0
    assert f"{matches} of these prompts match the filters" in browser.find_element("id", "map-status").text
    # the form keeps the filters, and "show the matches in search" carries them to the search page
    assert browser.find_element("css selector", "form.search input[name=q]").get_attribute("value") == "markup"
    browser.find_element("link text", "show the matches in search").click()
    WebDriverWait(browser, 10).until(lambda d: "/?" in d.current_url)
    searched = httpx.get(base + "/api/search", params={"q": "markup", "model": "gpt-4"}).json()["total"]
    assert browser.find_element("css selector", ".count").text.startswith(f"{searched} conversations")
    assert searched <= matches  # a conversation can hold several of the map's prompts
    browser.find_element("link text", "show on the map").click()
    WebDriverWait(browser, 30).until(lambda d: "/map?" in d.current_url
                                     and d.find_element("id", "map").get_attribute("data-state") == "ready")
    assert browser.execute_script("return window.chatsiftMap.matches") == matches
    # a legend entry filters the map to its topic
    _open_map(browser, base + "/map")
    browser.find_element("css selector", "#legend li[data-topic='2'] a").click()
    WebDriverWait(browser, 30).until(lambda d: "topic=2" in d.current_url
                                     and d.find_element("id", "map").get_attribute("data-state") == "ready")
    ids, topics = _point_conversations(release)
    in_topic = {cid for cid, t in zip(ids, topics) if t == 2}
    assert browser.execute_script("return window.chatsiftMap.matches") == sum(cid in in_topic for cid in ids)


# ---------------------------------------------------------------- chatsift serve in the browser


@pytest.fixture
def chat_server(tmp_path, monkeypatch):
    from chat_service import running, settings_dict
    from fake_llm import FakeLLM

    monkeypatch.setenv("CHATSIFT_SERVE_SECRET", "browser-test-secret")

    def echo(messages, model):  # long enough to arrive in many chunks; repeats the prompt, payloads and all
        words = {"alpha": "careful and detailed", "beta": "brief"}.get(model, "plain")
        return f"A {words} answer in several parts, one word at a time. You said: {messages[-1]['content']}"

    with FakeLLM(chat_by_model=echo, stream_delay_s=0.03) as upstream, \
            running(settings_dict(f"sqlite:///{tmp_path / 'chat.db'}", upstream.url, models=("alpha", "beta"))) as (
                base, service):
        yield base, service


def _wait_idle(driver, timeout: float = 30) -> None:
    from selenium.webdriver.support.ui import WebDriverWait

    WebDriverWait(driver, timeout).until(
        lambda d: d.find_element("tag name", "body").get_attribute("data-idle") == "1")


def _send(driver, text: str) -> list[str]:
    """Type and send ``text``; returns the partial answers seen while it streamed."""
    driver.execute_script("document.body.dataset.idle = '0'")
    box = driver.find_element("id", "text")
    box.clear()
    box.send_keys(text)
    driver.find_element("id", "send").click()
    seen = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and driver.find_element("tag name", "body").get_attribute("data-idle") != "1":
        texts = driver.execute_script(
            "return [...document.querySelectorAll('.msg.assistant .text')].map(e => e.textContent)")
        if texts and (not seen or texts[-1] != seen[-1]):
            seen.append(texts[-1])
        time.sleep(0.02)
    _wait_idle(driver)
    return seen


def test_serve_terms_chat_battle_vote_reveal_and_leaderboard(browser, chat_server):
    from selenium.webdriver.support.ui import WebDriverWait

    base, service = chat_server
    browser.delete_all_cookies()
    browser.get(base + "/")
    assert browser.current_url.startswith(base + "/terms")  # the terms come before the first message
    assert service.settings.terms_version in browser.find_element("tag name", "h1").text
    browser.find_element("id", "accept-box").click()
    browser.find_element("id", "accept").click()
    WebDriverWait(browser, 20).until(lambda d: d.current_url == base + "/")  # the click's navigation finishes

    prompt = "Please repeat these exactly: " + " ".join(PAYLOADS)
    partials = _send(browser, prompt)
    answer = browser.find_elements("css selector", ".msg.assistant .text")[-1].text
    assert answer.startswith("A careful and detailed answer") and PAYLOADS[0] in answer and PAYLOADS[4] in answer
    assert len({len(p) for p in partials}) >= 3, partials  # the answer grew on screen as it streamed
    assert browser.find_elements("css selector", ".msg.user .text")[-1].text == prompt
    _assert_nothing_ran(browser)
    browser.find_element("css selector", "#votes button[value=upvote]").click()
    WebDriverWait(browser, 10).until(lambda d: d.find_element("id", "vote-result").text.startswith("Thanks"))

    # Arena: two anonymous answers, a vote, then the names.
    def battle(text: str) -> tuple[list[str], str]:
        browser.get(base + "/arena")
        assert [browser.find_element("id", f"name-{i}").text for i in (0, 1)] == ["Model A", "Model B"]
        _send(browser, text)
        answers = [e.text for e in browser.find_elements("css selector", "#messages-0 .msg.assistant .text, "
                                                                          "#messages-1 .msg.assistant .text")]
        assert len(answers) == 2 and all("You said:" in a for a in answers)
        pick = "leftvote" if "detailed" in answers[0] else "rightvote"
        browser.find_element("css selector", f"#votes button[value={pick}]").click()
        WebDriverWait(browser, 10).until(lambda d: d.find_element("id", "name-0").text != "Model A")
        names = [browser.find_element("id", f"name-{i}").text for i in (0, 1)]
        assert sorted(names) == ["alpha", "beta"]
        assert "counts for the leaderboard" in browser.find_element("id", "vote-result").text
        assert not browser.find_element("id", "send").is_enabled()  # the battle is over
        _assert_nothing_ran(browser)
        return names, pick

    def board() -> dict[str, int]:
        browser.get(base + "/leaderboard")
        rows = browser.find_elements("css selector", "#board tbody tr")
        return {r.find_element("css selector", ".model").text: int(r.find_element("css selector", ".battles").text)
                for r in rows}

    names, pick = battle("Which is heavier, a kilo of feathers or a kilo of iron? " + PAYLOADS[1])
    assert names[0 if pick == "leftvote" else 1] == "alpha"
    first = board()
    assert first == {"alpha": 1, "beta": 1}
    assert browser.find_elements("css selector", "#board tbody tr .model")[0].text == "alpha"
    # one battle gives a rating but no interval: the page says so rather than print (1681.3, 1681.3)
    assert {e.text for e in browser.find_elements("css selector", "#board tbody tr .interval")} == {"too few battles"}
    browser.get(base + "/arena")  # the voted battle stays on screen until "New round"
    assert not browser.find_element("id", "send").is_enabled()
    browser.find_element("id", "clear").click()
    WebDriverWait(browser, 20).until(lambda d: d.execute_script(  # the new round's page has loaded
        "const b = document.getElementById('send'); return b !== null && !b.disabled"))
    battle("Name three rivers in Europe. " + PAYLOADS[3])
    assert board() == {"alpha": 2, "beta": 2}  # the leaderboard moved with the vote
    severe = [e for e in browser.get_log("browser") if e["level"] == "SEVERE"]
    assert not severe, severe


def test_serve_pages_work_without_javascript(chat_server, tmp_path):
    """The plain forms: accept, send (the page shows the finished answer), vote, new round."""
    from chat_service import User

    base, service = chat_server
    user = User(base, "127.0.0.1")
    user.accept()
    response = user.http.post("/send", data={"csrf": user.csrf, "mode": "anony", "text": "<b>bold?</b> hello"},
                              follow_redirects=True)
    assert response.status_code == 200 and "You said: &lt;b&gt;bold?&lt;/b&gt; hello" in response.text
    assert "<b>bold?</b>" not in response.text
    battle_id = service.sessions.get(user.http.cookies["chatsift_sid"])[0].battles["anony"].battle_id
    response = user.http.post("/vote", data={"csrf": user.csrf, "mode": "anony", "kind": "tievote",
                                             "battle_id": battle_id}, follow_redirects=True)
    assert "You voted." in response.text and ">alpha<" in response.text.replace("</h2>", "<")
    assert response.headers["content-security-policy"].startswith("default-src 'none'; script-src 'self'")
