// The library page: the cards are server-rendered; this loads the corpus statistics
// (GET /v1/stats) after the page shows and draws them.
"use strict";

(function () {
  const vs = window.vidscene;
  const message = document.getElementById("stats-message");
  const charts = document.getElementById("stats-charts");
  const MAX_BARS = 60; // cuts per minute: the fastest-cut videos, beyond that bars are slivers

  async function load() {
    let stats;
    try {
      stats = await vs.api("/v1/stats");
    } catch (err) {
      message.textContent = `Statistics are not available: ${err.message}`;
      return;
    }
    showFacts(stats);
    if (!stats.videos) {
      message.textContent = "Statistics appear once a video is analysed.";
      return;
    }
    if (!vs.themeCharts()) {
      message.textContent = "The chart library did not load.";
      return;
    }
    message.hidden = true;
    charts.hidden = false;
    shotLengths(stats.shot_lengths || { edges: [], counts: [] });
    cutsPerMinute(stats.cuts_per_minute || []);
    attributes(stats.attributes || {});
    transitions(stats.transitions || {});
  }

  function showFacts(stats) {
    const facts = document.getElementById("corpus-facts");
    const values = {
      videos: vs.number(stats.videos),
      duration: vs.clock(stats.duration, false),
      shots: vs.number(stats.shots),
      scenes: vs.number(stats.scenes),
    };
    for (const node of facts.querySelectorAll("[data-stat]")) {
      node.textContent = values[node.dataset.stat] ?? "—";
    }
    facts.hidden = false;
  }

  function histogram(canvas, hist, unit, colour) {
    return new Chart(canvas, {
      type: "bar",
      data: {
        labels: vs.binLabels(hist.edges || [], unit),
        datasets: [{ data: hist.counts || [], backgroundColor: colour, barPercentage: 1,
                     categoryPercentage: 0.96 }],
      },
      options: {
        scales: { y: { beginAtZero: true, ticks: { precision: 0 }, title: { display: true, text: "count" } } },
        plugins: { tooltip: { callbacks: { title: (items) => `${items[0].label}` } } },
      },
    });
  }

  function shotLengths(hist) {
    histogram(document.getElementById("chart-shot-lengths"), hist, " s",
              vs.config.sceneColours[0]);
  }

  function cutsPerMinute(rows) {
    const sorted = [...rows].sort((a, b) => b.value - a.value).slice(0, MAX_BARS);
    if (rows.length > sorted.length) {
      document.getElementById("cpm-note").textContent = `(the ${sorted.length} fastest of ${rows.length})`;
    }
    new Chart(document.getElementById("chart-cpm"), {
      type: "bar",
      data: {
        labels: sorted.map((r) => r.name),
        datasets: [{ data: sorted.map((r) => r.value), backgroundColor: vs.config.sceneColours[1] }],
      },
      options: {
        scales: { x: { ticks: { display: sorted.length <= 12 } }, y: { beginAtZero: true } },
        onClick: (_event, elements) => {
          if (elements.length) window.location.href = `/videos/${encodeURIComponent(sorted[elements[0].index].id)}`;
        },
        onHover: (event, elements) => {
          event.native.target.style.cursor = elements.length ? "pointer" : "default";
        },
      },
    });
  }

  function attributes(byName) {
    const select = document.getElementById("stats-attribute");
    const names = Object.keys(byName).sort();
    const box = select.closest(".chart-box");
    if (!names.length) {
      box.hidden = true;
      return;
    }
    for (const name of names) select.append(vs.el("option", { value: name, text: name }));
    // Means first: min and max of a video are its extremes, less telling across a library.
    select.value = names.find((n) => n.endsWith("_mean")) || names[0];
    let chart = null;
    const draw = () => {
      if (chart) chart.destroy();
      chart = histogram(document.getElementById("chart-attribute"), byName[select.value], "",
                        vs.config.sceneColours[2]);
    };
    select.addEventListener("change", draw);
    draw();
  }

  function transitions(counts) {
    const types = Object.keys(counts);
    const colours = vs.config.transitionColours;
    const ink = getComputedStyle(document.documentElement).getPropertyValue("--ink").trim();
    new Chart(document.getElementById("chart-transitions"), {
      type: "bar",
      data: {
        labels: types,
        // The report's colour for cuts is near-black: on a dark page it takes the ink colour.
        datasets: [{ data: types.map((t) => counts[t]),
                     backgroundColor: types.map((t) => (t === "cut" ? ink : colours[t] || colours.other)) }],
      },
      options: { indexAxis: "y", scales: { x: { beginAtZero: true, ticks: { precision: 0 } } } },
    });
  }

  load();
})();
