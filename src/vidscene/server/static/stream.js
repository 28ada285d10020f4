// One live stream: follows its server-sent events and shows them as they arrive.
"use strict";

(function () {
  const vs = window.vidscene;
  const root = document.getElementById("stream");
  const rows = document.getElementById("event-rows");
  const alerts = document.getElementById("alert-list");
  const state = document.getElementById("stream-state");
  const stop = document.getElementById("stream-stop");
  const counts = {};
  const MAX_ROWS = 500; // the page stays light on an all-day stream; the store has the rest
  const KINDS = ["start", "transition", "shot", "scene", "alert", "gap", "segment", "run", "stop"];

  function count(kind, value) {
    counts[kind] = value === undefined ? (counts[kind] || 0) + 1 : value;
    const cell = root.querySelector(`[data-count="${kind}"]`);
    if (cell) cell.textContent = vs.number(counts[kind], 12);
  }

  function frames(e) {
    if (e.first_frame === undefined) return "";
    return e.first_frame === e.last_frame ? `${e.first_frame}` : `${e.first_frame}–${e.last_frame}`;
  }

  function show(e) {
    count(e.event);
    if (e.dropped_frames !== undefined) count("dropped", e.dropped_frames);
    if (e.last_frame !== undefined) count("frames", Math.max(counts.frames || 0, e.last_frame + 1));
    if (e.event === "transition" && typeof e.latency_s === "number") {
      root.querySelector("[data-latency]").textContent = `${e.latency_s.toFixed(2)} s`;
    }
    if (e.event === "alert") {
      alerts.prepend(vs.el("li", { "data-alert": e.type, "data-alert-state": e.state,
        text: `${e.type} ${e.state} at ${vs.clock(e.start_time)} (frame ${e.first_frame})` }));
    }
    if (e.event === "start") state.textContent = "running";
    if (e.event === "stop") state.textContent = "ended";
    const row = vs.el("tr", { "data-event": e.event, "data-first-frame": String(e.first_frame ?? "") },
      vs.el("td", { text: e.event }),
      vs.el("td", { text: e.type || "" }),
      vs.el("td", { class: "mono", text: frames(e) }),
      vs.el("td", { class: "mono", text: e.start_time === undefined ? "" : vs.clock(e.start_time) }),
      vs.el("td", { class: "mono", text: typeof e.confidence === "number" ? e.confidence.toFixed(3) : "" }),
      vs.el("td", { class: "mono", text: typeof e.latency_s === "number" ? `${e.latency_s.toFixed(2)} s` : "" }),
      vs.el("td", { class: "mono", text: e.wall_time || "" }));
    rows.prepend(row);
    while (rows.children.length > MAX_ROWS) rows.lastElementChild.remove();
  }

  const source = new EventSource(root.dataset.eventsUrl);
  for (const kind of KINDS) {
    source.addEventListener(kind, (message) => show(JSON.parse(message.data)));
  }
  source.addEventListener("end", (message) => {
    const summary = JSON.parse(message.data);
    state.textContent = summary.state;
    stop.disabled = true;
    source.close();
  });

  stop.addEventListener("click", async () => {
    stop.disabled = true;
    try {
      const summary = await vs.api(`/v1/streams/${root.dataset.streamId}`, { method: "DELETE" });
      state.textContent = summary.state;
    } catch (err) {
      stop.disabled = false;
      state.textContent = err.message;
    }
  });
})();
