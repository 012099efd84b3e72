"""The report and the explorer in a real browser (Debian's Chromium, driven by Selenium).

Script-injection payloads are planted in conversations and model names; the tests prove in Chromium
that none of them runs, and in the served HTML that they arrive escaped.
"""

from __future__ import annotations

import json
import shutil
import socket
import threading
import time

import httpx
import pytest
from conftest import run_curate

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
    assert "&lt;script&gt;window.__pwned" in html
    browser.get(out.as_uri())
    _assert_nothing_ran(browser)
    sections = [e.get_attribute("id") for e in browser.find_elements("css selector", "section")]
    assert sections == ["overview", "distributions", "duplicates", "moderation", "topics"]
    charts = browser.find_elements("css selector", "svg.chart")
    assert len(charts) >= 5 and all(c.size["width"] > 200 and c.size["height"] > 20 for c in charts)
    assert "<script>window.__pwned = 1</script>" in browser.find_element("id", "topics").text
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


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def explorer(hostile_release):
    import uvicorn

    from chatsift.explore.app import create_app
    from chatsift.explore.index import build_index

    index = build_index(hostile_release)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(index, hostile_release), host="127.0.0.1", port=port,
                                           log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    for _ in range(100):
        if server.started:
            break
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


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
