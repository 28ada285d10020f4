// The jobs page: submit by path or upload, list recent jobs, follow active ones live.
"use strict";

(function () {
  const vs = window.vidscene;
  const rows = document.getElementById("job-rows");
  const empty = document.getElementById("jobs-empty");
  const totalNote = document.getElementById("jobs-total");
  const message = document.getElementById("job-message");
  const ACTIVE = new Set(["queued", "running"]);
  // A browser opens at most six HTTP/1.1 connections per host, and each EventSource holds
  // one: follow a few active jobs live (running ones first) and poll for the rest.
  const MAX_STREAMS = 3;
  const POLL_ACTIVE_MS = 3000, POLL_IDLE_MS = 15000;
  const jobs = new Map(); // id -> latest job JSON
  const streams = new Map(); // id -> EventSource
  let timer = 0;

  function say(text, ok = false) {
    message.textContent = text;
    message.classList.toggle("ok", ok);
    message.hidden = !text;
  }

  // ------------------------------------------------------------------- rendering

  function progressText(job) {
    const p = job.progress || {};
    if (job.state === "done") return job.reused ? "already analysed" : "complete";
    if (p.frames_total) return `${vs.number(p.frames_done || 0)} / ${vs.number(p.frames_total)} frames`;
    if (p.seconds_total) return `${vs.clock(p.seconds_done || 0, false)} / ${vs.clock(p.seconds_total, false)}`;
    return job.state === "queued" ? "waiting" : "";
  }

  function fraction(job) {
    if (job.state === "done") return 1;
    const f = job.progress && job.progress.fraction;
    return typeof f === "number" && Number.isFinite(f) ? Math.min(1, Math.max(0, f)) : null;
  }

  function when(iso) {
    if (!iso) return "";
    const date = new Date(iso);
    return Number.isNaN(date.getTime()) ? iso : date.toLocaleString();
  }

  function button(label, action, extra = "") {
    return vs.el("button", { type: "button", class: `small ${extra}`.trim(), "data-action": action, text: label });
  }

  function renderRow(job) {
    const name = job.name || (job.path ? job.path.split("/").pop() : job.id);
    const what = vs.el("td", {},
      vs.el("div", { class: "job-name", text: name }),
      job.path ? vs.el("div", { class: "job-path", text: job.path }) : null,
      job.state === "failed" && job.error ? vs.el("div", { class: "job-error", text: job.error }) : null);
    const f = fraction(job);
    const bar = vs.el("progress", { max: 1 });
    if (f !== null) bar.value = f; // no value: an indeterminate bar while queued
    const progress = vs.el("td", { class: "job-progress" }, bar,
      vs.el("span", { class: "mono", text: `${f !== null && job.state !== "done" ? `${Math.round(f * 100)} % · ` : ""}${progressText(job)}` }));
    const actions = vs.el("div", { class: "job-actions" });
    if (job.state === "done" && job.analysis_id) {
      actions.append(vs.el("a", { class: "button small", href: `/videos/${encodeURIComponent(job.analysis_id)}`, text: "Open" }));
    }
    if (ACTIVE.has(job.state)) actions.append(button("Cancel", "cancel", "danger"));
    if (job.state === "failed" || job.state === "cancelled") actions.append(button("Retry", "retry", "secondary"));
    const tr = vs.el("tr", { "data-job-id": job.id, "data-state": job.state },
      what,
      vs.el("td", {}, vs.el("span", { class: `state ${job.state}`, text: job.state })),
      progress,
      vs.el("td", { class: "mono small", title: job.created || "", text: when(job.created) }),
      vs.el("td", {}, actions));
    return tr;
  }

  // Replaces the job's row (or adds it at the top) with its latest state.
  function upsert(job) {
    if (!job || !job.id) return;
    jobs.set(job.id, job);
    const row = renderRow(job);
    const old = rows.querySelector(`tr[data-job-id="${CSS.escape(job.id)}"]`);
    if (old) old.replaceWith(row);
    else rows.prepend(row);
    empty.hidden = rows.children.length > 0;
  }

  // ------------------------------------------------------------------- live updates

  function follow() {
    for (const [id, source] of streams) {
      const job = jobs.get(id);
      if (!job || !ACTIVE.has(job.state)) { source.close(); streams.delete(id); }
    }
    const waiting = [...jobs.values()]
      .filter((j) => ACTIVE.has(j.state) && !streams.has(j.id))
      .sort((a, b) => (a.state === "running" ? 0 : 1) - (b.state === "running" ? 0 : 1));
    for (const job of waiting.slice(0, Math.max(0, MAX_STREAMS - streams.size))) {
      const source = new EventSource(`/v1/jobs/${encodeURIComponent(job.id)}/events`);
      streams.set(job.id, source);
      const onEvent = (event) => {
        try { upsert(JSON.parse(event.data)); } catch (err) { /* a malformed event: polling corrects */ }
      };
      source.addEventListener("progress", onEvent);
      source.addEventListener("final", (event) => {
        // Closed here, before the server ends the stream, so the browser does not reconnect.
        source.close();
        streams.delete(job.id);
        onEvent(event);
        follow();
      });
      source.addEventListener("error", () => {
        // Lost or refused: stop this stream; the next poll sees the job and may follow it again.
        source.close();
        streams.delete(job.id);
      });
    }
    schedule();
  }

  function schedule() {
    clearTimeout(timer);
    const active = [...jobs.values()].some((j) => ACTIVE.has(j.state));
    timer = setTimeout(refresh, active ? POLL_ACTIVE_MS : POLL_IDLE_MS);
  }

  async function refresh() {
    if (document.hidden) { schedule(); return; } // a background tab need not poll
    try {
      const page = await vs.api("/v1/jobs?limit=50");
      const items = page.items || [];
      const keep = new Set(items.map((j) => j.id));
      for (const tr of [...rows.children]) {
        if (!keep.has(tr.dataset.jobId)) { tr.remove(); jobs.delete(tr.dataset.jobId); }
      }
      // Oldest first, each prepended: the list ends newest on top, as the API orders it.
      for (const job of [...items].reverse()) upsert(job);
      const order = new Map(items.map((j, i) => [j.id, i]));
      [...rows.children]
        .sort((a, b) => (order.get(a.dataset.jobId) ?? -1) - (order.get(b.dataset.jobId) ?? -1))
        .forEach((tr) => rows.append(tr));
      empty.hidden = rows.children.length > 0;
      totalNote.textContent = page.total > items.length ? `(latest ${items.length} of ${vs.number(page.total)})` : "";
    } catch (err) {
      say(`Jobs could not be listed: ${err.message}`);
    }
    follow();
  }

  // ------------------------------------------------------------------- actions

  rows.addEventListener("click", async (event) => {
    const target = event.target.closest("button[data-action]");
    if (!target) return;
    const id = target.closest("tr").dataset.jobId;
    target.disabled = true;
    try {
      const path = `/v1/jobs/${encodeURIComponent(id)}`;
      const answer = target.dataset.action === "cancel"
        ? await vs.api(path, { method: "DELETE" })
        : await vs.api(`${path}/retry`, { method: "POST" });
      const job = answer && (answer.job || answer);
      if (job && job.id) upsert(job);
      say("");
    } catch (err) {
      say(`Could not ${target.dataset.action} the job: ${err.message}`);
      target.disabled = false;
    }
    refresh();
  });

  const pathForm = document.getElementById("path-form");
  const pathInput = document.getElementById("path-input");
  pathForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!pathInput) return;
    const submit = pathForm.querySelector("button[type=submit]");
    submit.disabled = true;
    try {
      const answer = await vs.api("/v1/jobs", { json: { path: pathInput.value.trim() } });
      upsert(answer && (answer.job || answer));
      say(`Submitted ${pathInput.value.trim()}.`, true);
      pathInput.value = "";
    } catch (err) {
      say(`Not submitted: ${err.message}`);
    } finally {
      submit.disabled = false;
    }
    follow();
  });

  const uploadForm = document.getElementById("upload-form");
  const fileInput = document.getElementById("upload-file");
  const uploadButton = document.getElementById("upload-button");
  const progressLine = document.getElementById("upload-progress");
  const bar = document.getElementById("upload-bar");
  const label = document.getElementById("upload-label");
  uploadForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const file = fileInput.files[0];
    if (!file) return;
    const limit = Number(uploadForm.dataset.maxBytes || 0);
    if (limit && file.size > limit) {
      say(`${file.name} is ${vs.bytes(file.size)}; this server takes uploads up to ${vs.bytes(limit)}.`);
      return;
    }
    const body = new FormData();
    body.append("file", file, file.name);
    // XMLHttpRequest, not fetch: only it reports upload progress.
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/v1/jobs");
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.addEventListener("progress", (e) => {
      if (!e.lengthComputable) return;
      bar.value = e.loaded / e.total;
      label.textContent = `${Math.round((e.loaded / e.total) * 100)} % of ${vs.bytes(e.total)}`;
    });
    const done = () => { uploadButton.disabled = false; fileInput.disabled = false; };
    xhr.addEventListener("load", () => {
      done();
      let answer = null;
      try { answer = JSON.parse(xhr.responseText); } catch (err) { answer = null; }
      if (xhr.status >= 200 && xhr.status < 300) {
        bar.value = 1;
        label.textContent = "uploaded";
        upsert(answer && (answer.job || answer));
        say(`Uploaded ${file.name}.`, true);
        uploadForm.reset();
        follow();
      } else {
        const text = answer && answer.error && answer.error.message
          ? answer.error.message : `the server answered ${xhr.status}`;
        say(`Upload refused: ${text}`);
      }
    });
    xhr.addEventListener("error", () => { done(); say("Upload failed: the connection was lost."); });
    xhr.addEventListener("abort", () => { done(); say("Upload cancelled."); });
    uploadButton.disabled = true;
    fileInput.disabled = true;
    bar.value = 0;
    label.textContent = "0 %";
    progressLine.hidden = false;
    say("");
    xhr.send(body);
  });

  document.getElementById("jobs-refresh").addEventListener("click", refresh);
  document.addEventListener("visibilitychange", () => { if (!document.hidden) refresh(); });
  refresh();
})();
