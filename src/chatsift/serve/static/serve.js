// Progressive enhancement for chatsift serve: stream answers as they arrive, stop, vote in place.
// Every text from users or models is set with textContent, never as markup.
(function () {
  "use strict";
  const form = document.getElementById("turn");
  if (!form || !window.fetch || !window.TextDecoder) return;  // the plain forms still work
  const csrf = document.querySelector('meta[name="csrf-token"]').content;
  const mode = form.dataset.mode;
  const sendButton = document.getElementById("send");
  const stopButton = document.getElementById("stop");
  const regenerateButton = document.getElementById("regenerate");
  const input = document.getElementById("text");
  const votes = document.getElementById("votes");
  const result = document.getElementById("vote-result");
  const sides = document.querySelectorAll("section.side").length;
  let streaming = false;

  function post(url, body, signal) {
    return fetch(url, {method: "POST", credentials: "same-origin", signal: signal,
                       headers: {"Content-Type": "application/json", "X-CSRF-Token": csrf},
                       body: JSON.stringify(body)});
  }

  function bubble(side, role, text) {
    const box = document.getElementById("messages-" + side);
    const message = document.createElement("div");
    message.className = "msg " + role;
    const label = document.createElement("span");
    label.className = "role";
    label.textContent = role;
    const body = document.createElement("div");
    body.className = "text";
    body.textContent = text;
    message.append(label, body);
    box.append(message);
    return body;
  }

  function setVoting(enabled) {
    votes.querySelectorAll("button").forEach(function (b) { b.disabled = !enabled; });
    if (regenerateButton) regenerateButton.disabled = !enabled;
  }

  function request(extra) {
    const body = Object.assign({mode: mode}, extra);
    const model = document.getElementById("model");
    if (model) body.model = model.value;
    const a = document.getElementById("model_a"), b = document.getElementById("model_b");
    if (a && b) body.models = [a.value, b.value];
    return body;
  }

  async function errorOf(response) {
    try { return (await response.json()).error || ("HTTP " + response.status); }
    catch (e) { return "HTTP " + response.status; }
  }

  async function turn(url, body, userText) {
    streaming = true;
    sendButton.disabled = true;
    stopButton.hidden = false;
    setVoting(false);
    result.textContent = "";
    let response;
    try {
      response = await post(url, body);
    } catch (e) {
      result.textContent = "The service cannot be reached: " + e.message;
      return done(false);
    }
    if (!response.ok) {
      result.textContent = await errorOf(response);
      return done(false);
    }
    const targets = [];
    for (let side = 0; side < sides; side++) {
      if (userText === null) {  // regenerate: the last answer is replaced
        const box = document.getElementById("messages-" + side);
        if (box.lastElementChild) box.lastElementChild.remove();
      } else {
        bubble(side, "user", userText);
      }
      targets.push(bubble(side, "assistant", ""));
    }
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "", saved = false;
    function handle(event) {
      if (event.battle_id) form.dataset.battle = event.battle_id;
      if (event.delta !== undefined) targets[event.side].textContent += event.delta;
      if (event.error) targets[event.side].textContent = event.error;
      if (event.done) {
        saved = event.saved;
        if (!saved) result.textContent = "This answer could not be saved: " + (event.problem || "nothing was stored") + ".";
      }
    }
    try {
      for (;;) {
        const chunk = await reader.read();
        if (chunk.done) break;
        buffer += decoder.decode(chunk.value, {stream: true});
        let newline;
        while ((newline = buffer.indexOf("\n")) >= 0) {
          const line = buffer.slice(0, newline);
          buffer = buffer.slice(newline + 1);
          if (line) handle(JSON.parse(line));
        }
      }
    } catch (e) {
      result.textContent = "The answer stopped: " + e.message;
    }
    done(saved);
  }

  function done(saved) {
    streaming = false;
    sendButton.disabled = false;
    stopButton.hidden = true;
    setVoting(saved || form.dataset.answered === "1");
    if (saved) form.dataset.answered = "1";
    document.body.dataset.idle = "1";
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    if (streaming) return;
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    document.body.dataset.idle = "0";
    turn("/api/send", request({text: text}), text);
  });

  if (regenerateButton) {
    regenerateButton.form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (streaming) return;
      document.body.dataset.idle = "0";
      turn("/api/regenerate", request({}), null);
    });
  }

  stopButton.addEventListener("click", function () {
    post("/api/stop", {mode: mode}).catch(function () {});
  });

  votes.addEventListener("submit", async function (event) {
    event.preventDefault();
    const kind = event.submitter ? event.submitter.value : "";
    const response = await post("/api/vote", {mode: mode, kind: kind, battle_id: form.dataset.battle || ""});
    if (!response.ok) {
      result.textContent = await errorOf(response);
      return;
    }
    const answer = await response.json();
    votes.querySelectorAll("button").forEach(function (b) { b.disabled = true; });
    if (answer.models) {
      for (let side = 0; side < 2; side++) {
        document.getElementById("name-" + side).textContent = answer.models[side];
      }
      input.disabled = true;
      sendButton.disabled = true;
      if (regenerateButton) regenerateButton.disabled = true;
      result.textContent = "Thanks for voting. " + (answer.counted ? "Your vote counts for the leaderboard."
        : "This vote does not count for the leaderboard (" + answer.not_counted + ").") + " Press New round to go on.";
    } else {
      result.textContent = "Thanks for your feedback.";
    }
    document.body.dataset.voted = kind;
  });
})();
