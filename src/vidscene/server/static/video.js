// The video page: seeking from the timeline, the shot under the playhead, attribute charts.
// Everything comes from the Analysis JSON embedded in the page (#analysis-data).
"use strict";

(function () {
  const vs = window.vidscene;
  const data = JSON.parse(document.getElementById("analysis-data").textContent);
  const player = document.getElementById("player");
  const shots = data.shots;
  const scenes = data.scenes;
  const fps = data.video.fps > 0 ? data.video.fps : 25;
  const end = Math.max(data.video.duration, ...shots.map((s) => s.end_time), 1e-9);

  // A shot's start_time is its first frame's presentation time. A browser shows the frame
  // whose interval [pts, next pts) holds currentTime, and turns seconds into its own integer
  // clock (microseconds in Chromium) on the way: seeking to start_time exactly can round to
  // just before it and show the previous shot's last frame. A quarter of a frame later (at
  // most 10 ms) is far beyond that rounding, still on the shot's first frame, and keeps
  // currentTime well within one frame of start_time.
  const EPSILON = Math.min(0.25 / fps, 0.01);

  const shotEls = [];
  for (const node of document.querySelectorAll("[data-shot-index]")) {
    shotEls[Number(node.dataset.shotIndex)] = node;
  }
  const overviewEls = [];
  for (const node of document.querySelectorAll("[data-ov-shot]")) {
    overviewEls[Number(node.dataset.ovShot)] = node;
  }
  const sceneEls = new Map();
  for (const node of document.querySelectorAll("[data-scene-index]")) {
    sceneEls.set(Number(node.dataset.sceneIndex), node);
  }
  const sceneRows = new Map();
  for (const node of document.querySelectorAll("[data-scene-row]")) {
    sceneRows.set(Number(node.dataset.sceneRow), node);
  }
  const sceneOfShot = new Array(shots.length).fill(null);
  for (const sc of scenes) {
    for (let i = Math.max(0, sc.first_shot); i <= Math.min(shots.length - 1, sc.last_shot); i += 1) {
      sceneOfShot[i] = sc.index;
    }
  }
  const strip = document.getElementById("strip");
  const playhead = document.getElementById("playhead");
  const nowShot = document.getElementById("now-shot");
  const nowScene = document.getElementById("now-scene");
  const nowTime = document.getElementById("now-time");
  let current = -1;

  // The last shot starting at or before t (binary search: shots are in time order).
  function shotAt(t) {
    let lo = 0, hi = shots.length - 1, found = 0;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (shots[mid].start_time <= t + 1e-6) { found = mid; lo = mid + 1; } else { hi = mid - 1; }
    }
    return found;
  }

  function seek(seconds) {
    player.currentTime = Math.max(0, seconds + EPSILON);
  }

  // Keeps the shot in view inside the strip only (scrollIntoView would also scroll the page).
  function reveal(node) {
    if (!strip || !node) return;
    const left = node.offsetLeft, right = left + node.offsetWidth;
    if (left < strip.scrollLeft || right > strip.scrollLeft + strip.clientWidth) {
      strip.scrollTo({ left: Math.max(0, left - strip.clientWidth / 3), behavior: "smooth" });
    }
  }

  function mark(index) {
    if (index === current || !shots.length) return;
    const before = shotEls[current];
    if (before) {
      before.classList.remove("current");
      before.removeAttribute("aria-current");
    }
    overviewEls[current]?.classList.remove("current");
    const oldScene = sceneOfShot[current];
    const newScene = sceneOfShot[index];
    if (oldScene !== newScene) {
      sceneEls.get(oldScene)?.classList.remove("current");
      sceneRows.get(oldScene)?.classList.remove("current");
      sceneEls.get(newScene)?.classList.add("current");
      sceneRows.get(newScene)?.classList.add("current");
    }
    current = index;
    const node = shotEls[index];
    if (node) {
      node.classList.add("current");
      node.setAttribute("aria-current", "true");
      reveal(node);
    }
    overviewEls[index]?.classList.add("current");
    nowShot.textContent = `${index + 1} of ${shots.length}`;
    nowScene.textContent = newScene === null ? "—" : `${newScene + 1} of ${scenes.length}`;
    highlightBar(index);
  }

  function update() {
    const t = player.currentTime;
    if (playhead) playhead.style.left = `${Math.min(100, (t / end) * 100)}%`;
    nowTime.textContent = vs.clock(t);
    if (shots.length) mark(shotAt(t));
  }

  // timeupdate fires only about four times a second; while playing, follow every frame.
  let raf = 0;
  function tick() {
    update();
    raf = player.paused || player.ended ? 0 : requestAnimationFrame(tick);
  }
  player.addEventListener("play", () => { if (!raf) raf = requestAnimationFrame(tick); });
  for (const name of ["timeupdate", "seeked", "seeking", "loadedmetadata"]) {
    player.addEventListener(name, update);
  }

  // One listener for every seek target: shots (data-start-time), scenes and overview bars
  // (data-seek).
  document.addEventListener("click", (event) => {
    const shot = event.target.closest("[data-shot-index]");
    if (shot) {
      mark(Number(shot.dataset.shotIndex)); // at once, before the seek completes
      seek(Number(shot.dataset.startTime));
      return;
    }
    const target = event.target.closest("[data-seek]");
    if (target) seek(Number(target.dataset.seek));
  });

  // ----------------------------------------------------------------------- charts

  const select = document.getElementById("attribute-select");
  let shotChart = null, sceneChart = null, shotColours = [];

  function sceneColour(index) {
    const c = vs.config.sceneColours;
    return index === null ? vs.config.unscenedColours[0] : c[index % c.length];
  }

  function barChart(canvas, labels, values, colours, onPick, title) {
    return new Chart(canvas, {
      type: "bar",
      data: { labels, datasets: [{ data: values, backgroundColor: colours, barPercentage: 1,
                                   categoryPercentage: 0.92 }] },
      options: {
        scales: { x: { ticks: { maxTicksLimit: 20, autoSkip: true } } },
        plugins: { tooltip: { callbacks: { title } } },
        onClick: (_event, elements) => { if (elements.length) onPick(elements[0].index); },
        onHover: (event, elements) => {
          event.native.target.style.cursor = elements.length ? "pointer" : "default";
        },
      },
    });
  }

  function value(item, name) {
    const v = item.attributes ? item.attributes[name] : undefined;
    return typeof v === "number" && Number.isFinite(v) ? v : null;
  }

  function drawCharts() {
    const name = select.value;
    if (shotChart) shotChart.destroy();
    if (sceneChart) sceneChart.destroy();
    shotColours = shots.map((s) => sceneColour(sceneOfShot[s.index]));
    shotChart = barChart(
      document.getElementById("shot-chart"), shots.map((s) => s.index + 1),
      shots.map((s) => value(s, name)), [...shotColours], (i) => seek(shots[i].start_time),
      (items) => `Shot ${items[0].label} · ${vs.clock(shots[items[0].dataIndex].start_time)}`);
    sceneChart = barChart(
      document.getElementById("scene-chart"), scenes.map((s) => s.index + 1),
      scenes.map((s) => value(s, name)), scenes.map((s) => sceneColour(s.index)),
      (i) => seek(scenes[i].start_time),
      (items) => `Scene ${items[0].label} · ${vs.clock(scenes[items[0].dataIndex].start_time)}`);
    highlightBar(current, true);
  }

  // The shot under the playhead stands out in the per-shot chart too.
  function highlightBar(index, force = false) {
    if (!shotChart) return;
    const ink = getComputedStyle(document.documentElement).getPropertyValue("--ink").trim();
    const colours = shotColours.map((c, i) => (i === index ? ink : c));
    shotChart.data.datasets[0].backgroundColor = colours;
    shotChart.update(force ? undefined : "none");
  }

  if (select && vs.themeCharts()) {
    select.addEventListener("change", drawCharts);
    drawCharts();
  }
  update();
})();
