// Shared helpers of the vidscene pages: API calls, formatting, chart theming.
// Loaded before each page's own script (both deferred, so they run in order).
"use strict";

(function () {
  const config = JSON.parse(document.getElementById("ui-config").textContent);

  // An API call with the session cookie (same origin). Answers JSON; an error answer's
  // {"error": {"message"}} becomes the Error's message, so pages can show it as it is.
  async function api(url, options = {}) {
    const init = { credentials: "same-origin", ...options };
    init.headers = { Accept: "application/json", ...(options.headers || {}) };
    if (options.json !== undefined) {
      init.method = init.method || "POST";
      init.body = JSON.stringify(options.json);
      init.headers["Content-Type"] = "application/json";
      delete init.json;
    }
    let response;
    try {
      response = await fetch(url, init);
    } catch (err) {
      throw new Error("the server cannot be reached");
    }
    const text = await response.text();
    let body = null;
    try {
      body = text ? JSON.parse(text) : null;
    } catch (err) {
      body = null;
    }
    if (!response.ok) {
      throw new Error(errorMessage(body, response.status));
    }
    return body;
  }

  function errorMessage(body, status) {
    // A 401 here means the session cookie expired or was revoked while the page was open.
    if (status === 401) return "your session has ended: reload the page to log in again";
    if (body && body.error && body.error.message) return body.error.message;
    return `the server answered ${status}`;
  }

  // m:ss.s (h:mm:ss.s from an hour on), as the pages print times.
  function clock(seconds, fraction = true) {
    if (!Number.isFinite(seconds)) return "—";
    const tenths = Math.round(Math.max(seconds, 0) * 10);
    const whole = Math.floor(tenths / 10);
    const s = whole % 60, m = Math.floor(whole / 60) % 60, h = Math.floor(whole / 3600);
    const pad = (n) => String(n).padStart(2, "0");
    const text = h ? `${h}:${pad(m)}:${pad(s)}` : `${m}:${pad(s)}`;
    return fraction ? `${text}.${tenths % 10}` : text;
  }

  function number(value, digits = 3) {
    if (typeof value !== "number" || !Number.isFinite(value)) return "—";
    if (Number.isInteger(value)) return value.toLocaleString("en");
    return Number(value.toPrecision(digits)).toLocaleString("en", { maximumFractionDigits: 6 });
  }

  function bytes(n) {
    if (n < 1024) return `${n} B`;
    const units = ["KB", "MB", "GB", "TB"];
    let i = -1;
    do { n /= 1024; i += 1; } while (n >= 1024 && i < units.length - 1);
    return `${n.toFixed(n < 10 ? 1 : 0)} ${units[i]}`;
  }

  // Chart.js defaults that follow the page's theme (CSS variables), set once per page.
  function themeCharts() {
    if (!window.Chart) return false;
    const css = getComputedStyle(document.documentElement);
    const pick = (name) => css.getPropertyValue(name).trim();
    Chart.defaults.color = pick("--muted");
    Chart.defaults.borderColor = pick("--line");
    Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
    Chart.defaults.animation = false; // instant redraws when the attribute changes
    Chart.defaults.maintainAspectRatio = false;
    Chart.defaults.plugins.legend.display = false;
    return true;
  }

  // Histogram labels: "a–b" from bin edges, short numbers.
  function binLabels(edges, unit = "") {
    const labels = [];
    for (let i = 0; i + 1 < edges.length; i += 1) {
      labels.push(`${number(edges[i])}–${number(edges[i + 1])}${unit}`);
    }
    return labels;
  }

  function el(tag, attrs = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attrs)) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children) {
      if (child !== null && child !== undefined) node.append(child);
    }
    return node;
  }

  window.vidscene = { config, api, clock, number, bytes, themeCharts, binLabels, el };
})();
