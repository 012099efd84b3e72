// The explorer's topic map: every point is a prompt, coloured by topic, on a canvas.
// Data comes from the app (no CDN): /api/map/points (binary arrays), /api/map/match?<the page's filters>
// (the idx of matching points), /api/map/point/<idx> (one prompt, shown with textContent, never as markup).
// Points are written straight into an ImageData buffer, so a redraw of 200,000 points takes milliseconds.
(() => {
  "use strict";
  const canvas = document.getElementById("map");
  if (!canvas) return;
  const tip = document.getElementById("map-tip");
  const status = document.getElementById("map-status");
  const ctx = canvas.getContext("2d");
  const dpr = Math.max(1, Math.min(window.devicePixelRatio || 1, 3));
  const cssW = canvas.clientWidth || canvas.width;
  const cssH = canvas.clientHeight || canvas.height;
  canvas.width = Math.round(cssW * dpr);
  canvas.height = Math.round(cssH * dpr);

  // Tableau 20, then golden-angle hues for topics past 20.
  const PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7",
    "#9c755f", "#bab0ac", "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
    "#7f7f7f", "#bcbd22", "#17becf"];
  const colour = (topic) => topic >= 1 && topic <= PALETTE.length ? PALETTE[topic - 1]
    : `hsl(${Math.round((topic * 137.508) % 360)}, 62%, 48%)`;
  const probe = document.createElement("canvas").getContext("2d");
  const packed = (css) => {  // a CSS colour as the little-endian RGBA word ImageData's Uint32 view expects
    probe.fillStyle = css;
    probe.fillRect(0, 0, 1, 1);
    const [r, g, b] = probe.getImageData(0, 0, 1, 1).data;
    return (255 << 24 | b << 16 | g << 8 | r) >>> 0;
  };
  const FADED = packed("#d5dae1");
  const BACKGROUND = packed("#ffffff");

  const state = { n: 0, idx: null, x: null, y: null, topic: null, matched: null, matches: -1,
    view: { k: 1, tx: 0, ty: 0 }, base: 1, cx: 0, cy: 0, hover: -1, grid: null, info: new Map() };
  window.chatsiftMap = state;  // for people poking at the map from the console, and for the browser tests

  const toScreen = (i) => [(state.x[i] - state.cx) * state.base * state.view.k + cssW / 2 + state.view.tx,
    cssH / 2 - (state.y[i] - state.cy) * state.base * state.view.k + state.view.ty];
  const toData = (sx, sy) => [(sx - cssW / 2 - state.view.tx) / (state.base * state.view.k) + state.cx,
    (cssH / 2 + state.view.ty - sy) / (state.base * state.view.k) + state.cy];
  state.screenOf = toScreen;

  let colours = new Uint32Array(0);
  let pending = false;
  function draw() {
    pending = false;
    const started = performance.now();
    const w = canvas.width, h = canvas.height;
    const image = ctx.createImageData(w, h);
    const pixels = new Uint32Array(image.data.buffer);
    pixels.fill(BACKGROUND);
    // Bigger points when there are few of them or the view is zoomed in; 2 px keeps 200,000 apart.
    const base = state.n <= 2000 ? 4 : state.n <= 20000 ? 3 : 2;
    const size = Math.max(1, Math.round((state.view.k >= 4 ? base + 1 : base) * dpr));
    const scale = state.base * state.view.k * dpr;
    const ox = (cssW / 2 + state.view.tx) * dpr, oy = (cssH / 2 + state.view.ty) * dpr;
    const plot = (i, word) => {
      const px = Math.round((state.x[i] - state.cx) * scale + ox), py = Math.round(oy - (state.y[i] - state.cy) * scale);
      if (px < 0 || py < 0 || px + size > w || py + size > h) return;
      for (let dy = 0; dy < size; dy++) pixels.fill(word, (py + dy) * w + px, (py + dy) * w + px + size);
    };
    const m = state.matched;
    // Faded points first, so that matches (or every point, with no filter) are drawn on top.
    if (m) for (let i = 0; i < state.n; i++) if (!m[i]) plot(i, FADED);
    for (let i = 0; i < state.n; i++) if (!m || m[i]) plot(i, colours[state.topic[i]]);
    if (state.hover >= 0) {
      const [sx, sy] = toScreen(state.hover);
      const ring = Math.round(4 * dpr), cx = Math.round(sx * dpr), cy = Math.round(sy * dpr);
      for (let dy = -ring; dy <= ring; dy++) for (let dx = -ring; dx <= ring; dx++) {
        const d = Math.abs(Math.hypot(dx, dy) - ring);
        if (d < 1.2 * dpr && cx + dx >= 0 && cy + dy >= 0 && cx + dx < w && cy + dy < h) pixels[(cy + dy) * w + cx + dx] = 0xff000000;
      }
    }
    ctx.putImageData(image, 0, 0);
    canvas.dataset.zoom = state.view.k.toFixed(3);
    canvas.dataset.drawMs = (performance.now() - started).toFixed(1);
  }
  const redraw = () => { if (!pending) { pending = true; requestAnimationFrame(draw); } };

  // A uniform grid in data space for hover: the points of each cell, found by counting sort.
  function buildGrid() {
    const G = Math.max(8, Math.min(512, Math.round(Math.sqrt(state.n / 4))));
    let x0 = Infinity, x1 = -Infinity, y0 = Infinity, y1 = -Infinity;
    for (let i = 0; i < state.n; i++) {
      x0 = Math.min(x0, state.x[i]); x1 = Math.max(x1, state.x[i]);
      y0 = Math.min(y0, state.y[i]); y1 = Math.max(y1, state.y[i]);
    }
    const cw = (x1 - x0) / G || 1, ch = (y1 - y0) / G || 1;
    const cellOf = (i) => Math.min(G - 1, Math.floor((state.x[i] - x0) / cw)) * G + Math.min(G - 1, Math.floor((state.y[i] - y0) / ch));
    const start = new Uint32Array(G * G + 1);
    for (let i = 0; i < state.n; i++) start[cellOf(i) + 1]++;
    for (let c = 0; c < G * G; c++) start[c + 1] += start[c];
    const fill = start.slice(0, G * G), items = new Uint32Array(state.n);
    for (let i = 0; i < state.n; i++) items[fill[cellOf(i)]++] = i;
    state.grid = { G, x0, y0, cw, ch, start, items };
    state.cx = (x0 + x1) / 2;
    state.cy = (y0 + y1) / 2;
    state.base = 0.92 * Math.min(cssW / ((x1 - x0) || 1), cssH / ((y1 - y0) || 1));
  }

  function nearest(sx, sy, radius = 8) {
    const g = state.grid;
    if (!g) return -1;
    const [dx0, dy0] = toData(sx - radius, sy + radius), [dx1, dy1] = toData(sx + radius, sy - radius);
    const clamp = (v) => Math.max(0, Math.min(g.G - 1, v));
    const gx0 = clamp(Math.floor((dx0 - g.x0) / g.cw)), gx1 = clamp(Math.floor((dx1 - g.x0) / g.cw));
    const gy0 = clamp(Math.floor((dy0 - g.y0) / g.ch)), gy1 = clamp(Math.floor((dy1 - g.y0) / g.ch));
    let best = -1, bestD = radius * radius;
    for (let gx = gx0; gx <= gx1; gx++) for (let gy = gy0; gy <= gy1; gy++) {
      const c = gx * g.G + gy;
      for (let j = g.start[c]; j < g.start[c + 1]; j++) {
        const i = g.items[j];
        if (state.matched && !state.matched[i]) continue;  // only what is highlighted can be picked
        const [px, py] = toScreen(i);
        const d = (px - sx) ** 2 + (py - sy) ** 2;
        if (d <= bestD) { best = i; bestD = d; }
      }
    }
    return best;
  }

  async function info(i) {
    if (!state.info.has(i)) {
      state.info.set(i, fetch(`/api/map/point/${state.idx[i]}`).then((r) => r.ok ? r.json() : null).catch(() => null));
    }
    return state.info.get(i);
  }

  function line(cls, text) {
    const div = document.createElement("div");
    div.className = cls;
    div.textContent = text;
    return div;
  }

  async function showTip(i, sx, sy) {
    const point = await info(i);
    if (state.hover !== i || !point) return;
    tip.replaceChildren(
      line("tip-topic", `topic ${point.topic}${point.label ? ": " + point.label : ""}`),
      line("tip-prompt", point.prompt.length >= 300 ? point.prompt + " …" : point.prompt),
      line("tip-meta", `${point.model || "unknown model"} · ${point.language || "?"} · ${point.turn} turns · click to open`));
    tip.hidden = false;
    const left = Math.min(canvas.offsetLeft + sx + 14, cssW - 370);
    tip.style.left = `${Math.max(0, left)}px`;
    tip.style.top = `${canvas.offsetTop + sy + 14}px`;
  }

  function setHover(i, sx, sy) {
    if (i === state.hover) return;
    state.hover = i;
    canvas.classList.toggle("over-point", i >= 0);
    canvas.dataset.hover = i >= 0 ? String(state.idx[i]) : "";
    if (i < 0) tip.hidden = true;
    else showTip(i, sx, sy);
    redraw();
  }

  function zoom(factor, sx = cssW / 2, sy = cssH / 2) {
    const k = Math.max(0.5, Math.min(400, state.view.k * factor));
    const f = k / state.view.k;
    state.view.tx = sx - cssW / 2 - (sx - cssW / 2 - state.view.tx) * f;
    state.view.ty = sy - cssH / 2 - (sy - cssH / 2 - state.view.ty) * f;
    state.view.k = k;
    setHover(-1);
    redraw();
  }

  const local = (event) => {
    const r = canvas.getBoundingClientRect();
    return [event.clientX - r.left, event.clientY - r.top];
  };
  let drag = null;
  canvas.addEventListener("wheel", (event) => {
    event.preventDefault();
    zoom(Math.exp(-event.deltaY * 0.0015), ...local(event));
  }, { passive: false });
  canvas.addEventListener("pointerdown", (event) => {
    const [sx, sy] = local(event);
    drag = { sx, sy, tx: state.view.tx, ty: state.view.ty, moved: false };
    canvas.setPointerCapture(event.pointerId);
  });
  canvas.addEventListener("pointermove", (event) => {
    const [sx, sy] = local(event);
    if (drag) {
      if (Math.hypot(sx - drag.sx, sy - drag.sy) > 4) drag.moved = true;
      if (drag.moved) {
        canvas.classList.add("dragging");
        state.view.tx = drag.tx + sx - drag.sx;
        state.view.ty = drag.ty + sy - drag.sy;
        setHover(-1);
        redraw();
        return;
      }
    }
    setHover(nearest(sx, sy), sx, sy);
  });
  canvas.addEventListener("pointerup", async (event) => {
    const wasDrag = drag && drag.moved;
    drag = null;
    canvas.classList.remove("dragging");
    if (wasDrag) return;
    const [sx, sy] = local(event);
    const i = nearest(sx, sy);
    if (i < 0) return;
    const point = await info(i);
    if (point) window.location.href = "/conversation/" + encodeURIComponent(point.conversation_id);
  });
  canvas.addEventListener("pointerleave", () => { if (!drag) setHover(-1); });
  document.getElementById("zoom-in").addEventListener("click", () => zoom(1.6));
  document.getElementById("zoom-out").addEventListener("click", () => zoom(1 / 1.6));
  document.getElementById("zoom-reset").addEventListener("click", () => {
    state.view = { k: 1, tx: 0, ty: 0 };
    setHover(-1);
    redraw();
  });

  function filtered() {
    const params = new URLSearchParams(window.location.search);
    for (const key of [...params.keys()]) if (!params.get(key)) params.delete(key);
    return params.toString();
  }

  async function load() {
    const started = performance.now();
    const response = await fetch(`/api/map/points?v=${encodeURIComponent(canvas.dataset.version || "")}`);
    if (!response.ok) throw new Error(`points: HTTP ${response.status}`);
    const buffer = await response.arrayBuffer();
    const n = buffer.byteLength / 14;
    state.n = n;
    state.idx = new Uint32Array(buffer, 0, n);
    state.x = new Float32Array(buffer, 4 * n, n);
    state.y = new Float32Array(buffer, 8 * n, n);
    state.topic = new Uint16Array(buffer, 12 * n, n);
    let maxTopic = 0;
    for (let i = 0; i < n; i++) maxTopic = Math.max(maxTopic, state.topic[i]);
    colours = new Uint32Array(maxTopic + 1);
    for (let t = 0; t <= maxTopic; t++) colours[t] = packed(colour(t));
    for (const item of document.querySelectorAll("#legend li[data-topic]")) {
      item.querySelector(".swatch").style.backgroundColor = colour(Number(item.dataset.topic));
    }
    const query = filtered();
    if (query) {
      const matched = await fetch(`/api/map/match?${query}`);
      if (!matched.ok) throw new Error(`filters: HTTP ${matched.status}`);
      const ids = new Uint32Array(await matched.arrayBuffer());
      state.matched = new Uint8Array(n);
      // Both lists are sorted by idx: one merge pass marks the matches.
      for (let i = 0, j = 0; i < n && j < ids.length;) {
        if (state.idx[i] === ids[j]) { state.matched[i] = 1; i++; j++; } else if (state.idx[i] < ids[j]) i++; else j++;
      }
      state.matches = ids.length;
      status.append(` · ${ids.length.toLocaleString("en")} of these prompts match the filters.`);
    }
    buildGrid();
    draw();
    canvas.dataset.loadMs = String(Math.round(performance.now() - started));
    canvas.dataset.state = "ready";
  }

  load().catch((error) => {
    canvas.dataset.state = "error";
    status.append(line("error", ` The map could not be loaded (${error.message}).`));
  });
})();
