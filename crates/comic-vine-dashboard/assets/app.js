// The dashboard page: picks the view from the path, polls the JSON API every second
// and renders with DOM calls only (no innerHTML: resource names and keys are data).
"use strict";

const POLL_MS = 1000;
const TOKEN = document.querySelector('meta[name="csrf-token"]').content;
const WRITABLE = document.querySelector('meta[name="allow-writes"]').content === "true";
const VIEW = { "/": "overview", "/overview": "overview", "/ratelimits": "ratelimits", "/cache": "cache", "/dedupe": "dedupe" }[location.pathname] || "overview";
let polls = 0;

function el(name, attrs, ...children) {
  const e = document.createElement(name);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (k === "class") e.className = v; else e.setAttribute(k, String(v));
  }
  for (const c of children) e.append(c instanceof Node ? c : String(c));
  return e;
}

function bytes(n) {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`;
}

function duration(ms) {
  if (ms <= 0) return "now";
  if (ms < 10000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 120000) return `${Math.round(ms / 1000)} s`;
  if (ms < 7200000) return `${Math.round(ms / 60000)} min`;
  return `${(ms / 3600000).toFixed(1)} h`;
}

function setStatus(text, isError) {
  const s = document.getElementById("status");
  s.textContent = text;
  s.classList.toggle("error", !!isError);
}

async function getJson(path) {
  const r = await fetch(path, { cache: "no-store" });
  if (!r.ok) throw new Error(`${path}: HTTP ${r.status}`);
  return r.json();
}

async function post(path, body, question) {
  if (!WRITABLE || !window.confirm(question)) return;
  const r = await fetch(path, { method: "POST", headers: { "content-type": "application/json", "x-csrf-token": TOKEN }, body: JSON.stringify(body) });
  const doc = await r.json().catch(() => ({}));
  setStatus(r.ok ? `done: ${path}` : `refused: ${(doc.error && doc.error.message) || r.status}`, !r.ok);
}

function renderOverview(doc) {
  const c = doc.cache;
  const text = (id, v) => { document.getElementById(id).textContent = v; };
  text("ov-entries", !c.available ? "no cache" : c.error ? "error" : c.entries);
  text("ov-bytes", c.available && !c.error ? bytes(c.approximate_bytes) : "–");
  text("ov-expired", c.available && !c.error ? c.expired_entries : "–");
  text("ov-circuit", doc.circuit ? `${doc.circuit.state.replace("_", " ")} (${doc.circuit.failures} failures)` : "not known");
  text("ov-resources", doc.resources);
  text("ov-mode", doc.writes_allowed ? "writes allowed" : "read-only");
  const u = doc.usage;
  const known = (v) => (v === null || v === undefined ? "not known" : v);
  const units = (v) => (v === null || v === undefined ? "?" : Number(v).toFixed(1));
  text("ov-hits", u && u.hits !== null ? `${u.hits} / ${known(u.misses)}` : "not known");
  text("ov-requests", u ? known(u.store_requests) : "not known");
  text("ov-units", u && (u.read_units !== null || u.write_units !== null) ? `${units(u.read_units)} / ${units(u.write_units)}` : "not known");
  text("ov-usage-scope", u ? `Counts: ${u.scope}.` : "No application reports its hits or its stores' units to this dashboard.");
}

function splitText(a) {
  if (!a) return "–";
  return `users ${a.user_reserved} · background ≤ ${a.background_max}${a.background_paused ? " (paused)" : ""}`;
}

function renderRateLimits(doc) {
  const tbody = document.querySelector("#ratelimits tbody");
  const rows = doc.resources.map((r, i) => {
    const tr = el("tr", { class: "resource-row", "data-resource": r.resource, "data-limiter": r.limiter });
    const sw = el("span", { class: "swatch" });
    sw.style.background = seriesColor(i);
    if (r.error) {
      tr.append(el("td", {}, sw, r.resource), el("td", {}, r.limiter), el("td", { colspan: 7, class: "reason" }, r.error));
      return tr;
    }
    tr.dataset.used = r.used;
    tr.dataset.limit = r.limit;
    tr.dataset.remaining = r.remaining;
    const bar = el("span", { class: "bar" }, el("i", { class: r.used >= r.limit ? "full" : "" }));
    bar.firstChild.style.width = `${Math.min(100, (100 * r.used) / r.limit)}%`;
    const cooldown = r.cooldown_until && r.cooldown_until > doc.now ? duration(r.cooldown_until - doc.now) : "–";
    const cells = [
      el("td", {}, sw, r.resource), el("td", {}, r.limiter),
      el("td", { class: "num used" }, `${r.used} / ${r.limit}`, bar),
      el("td", { class: "num" }, r.remaining), el("td", { class: "num" }, duration(r.window_ms)),
      el("td", { class: "num" }, r.used === 0 ? "–" : duration(r.reset_at - doc.now)),
      el("td", {}, cooldown),
      el("td", { class: "reason" }, splitText(r.adaptive), r.adaptive ? el("br") : "", r.adaptive ? r.adaptive.reason : ""),
    ];
    const action = el("td", {});
    if (WRITABLE) {
      const b = el("button", { type: "button" }, "Reset");
      b.addEventListener("click", () => post("/api/ratelimits/reset", { resource: r.resource, limiter: r.limiter },
        `Reset the ${r.limiter} window of "${r.resource}"? Every counted request is forgotten.`));
      action.append(b);
    }
    tr.append(...cells, action);
    return tr;
  });
  tbody.replaceChildren(...rows);
  drawChart(document.getElementById("chart-box"), doc.resources, doc.now, doc.history_ms);
  document.getElementById("chart-span").textContent = duration(doc.history_ms);
  document.getElementById("chart-legend").replaceChildren(...doc.resources.map((r, i) => {
    const sw = el("span", { class: "swatch" });
    sw.style.background = seriesColor(i);
    return el("span", {}, sw, `${r.resource} (${r.limiter})`);
  }), el("span", {}, "dashed red: the limit"));
}

function renderCache(doc) {
  const rows = !doc.available ? [["Cache", "none on this dashboard"]] : doc.error ? [["Error", doc.error]] : [
    ["Entries", doc.entries], ["Expired, not yet removed", doc.expired_entries],
    ["Approximate size", bytes(doc.approximate_bytes)], ["Orphaned chunks", `${doc.orphan_chunks} (${bytes(doc.orphan_bytes)})`],
    ["Without a resource", doc.unresourced_entries],
  ];
  document.querySelector("#cache-stats tbody").replaceChildren(...rows.map(([k, v]) => el("tr", {}, el("th", {}, k), el("td", { class: "num" }, v))));
  const b = doc.by_resource || { available: false, reason: "not reported" };
  const basis = document.getElementById("cache-basis");
  const tbody = document.querySelector("#cache-resources tbody");
  if (!b.available || b.error) {
    basis.textContent = b.error ? `error: ${b.error}` : `Not shown: ${b.reason}.`;
    tbody.replaceChildren();
    return;
  }
  const other = b.other_entries ? `; ${b.other_entries} other entries (unknown keys, without a resource, or expired) are not attributed.` : ".";
  basis.textContent = b.basis === "store"
    ? `Listed by the cache store: ${b.resources.length} resources, the first ${b.limit} entries of each shown, sizes as stored` + other
    : `Counted over the ${b.keys_checked} request keys this dashboard knows (one lookup each; ` +
      "this store cannot list its entries by resource)" + other;
  document.getElementById("cache-size-head").textContent = b.basis === "store" ? "Size (stored)" : "Size (JSON)";
  tbody.replaceChildren(...b.resources.map((r) => {
    const listed = el("ul", { class: "entries" }, ...(r.listed || []).map((e) => {
      const t = e.times;
      const state = t.fresh_until > doc.now ? `fresh ${duration(t.fresh_until - doc.now)}`
        : t.stale_until > doc.now ? `stale, expires in ${duration(t.stale_until - doc.now)}` : "expired";
      return el("li", { class: "cache-entry", "data-key": e.key, "data-resource": r.resource },
        el("span", { class: "key" }, e.key), ` ${bytes(e.bytes)} · ${state}`);
    }));
    const action = el("td", {});
    if (WRITABLE && b.basis === "store") {
      const button = el("button", { type: "button", class: "purge", "data-resource": r.resource }, "Purge");
      button.addEventListener("click", () => post("/api/cache/purge", { resource: r.resource },
        `Purge every cache entry of "${r.resource}" (${r.entries} entries)?`));
      action.append(button);
    }
    return el("tr", { class: "cache-resource", "data-resource": r.resource, "data-entries": r.entries, "data-bytes": r.bytes },
      el("td", {}, r.resource), el("td", { class: "num" }, r.entries), el("td", { class: "num" }, bytes(r.bytes)),
      el("td", {}, listed), action);
  }));
}

function renderDedupe(doc) {
  const basis = document.getElementById("dedupe-basis");
  const tbody = document.querySelector("#dedupe-jobs tbody");
  if (!doc.available || doc.error) {
    basis.textContent = doc.error ? `error: ${doc.error}` : "No dedupe store on this dashboard.";
    tbody.replaceChildren();
    return;
  }
  basis.textContent = `${doc.pending} pending, ${doc.finished} recently finished, among the ${doc.keys_checked} ` +
    "request keys this dashboard knows (the store keeps finished jobs only briefly).";
  tbody.replaceChildren(...doc.jobs.map((j) => {
    const lease = j.state !== "pending" ? "–" : j.lease_expired ? "expired" : `${duration(j.lease_left_ms)} left`;
    return el("tr", { class: `job ${j.state}`, "data-key": j.key, "data-resource": j.resource, "data-state": j.state },
      el("td", { class: "key" }, j.key), el("td", {}, j.resource),
      el("td", {}, j.error ? `${j.state}: ${j.error}` : j.state), el("td", { class: "key" }, j.job_id),
      el("td", { class: "num" }, duration(j.age_ms)), el("td", {}, lease));
  }));
}

async function poll() {
  try {
    if (VIEW === "overview") renderOverview(await getJson("/api/overview"));
    if (VIEW === "ratelimits") renderRateLimits(await getJson("/api/ratelimits"));
    if (VIEW === "cache") renderCache(await getJson("/api/cache"));
    if (VIEW === "dedupe") renderDedupe(await getJson("/api/dedupe"));
    polls++;
    document.body.dataset.polls = polls;
    setStatus(`live · updated ${new Date().toLocaleTimeString()}`);
  } catch (e) {
    setStatus(`cannot reach the dashboard server: ${e.message}`, true);
  }
}

document.body.classList.toggle("writable", WRITABLE);
document.getElementById(`view-${VIEW}`).classList.add("active");
document.querySelector(`nav a[data-view="${VIEW}"]`).classList.add("active");
document.getElementById("cache-delete").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const key = ev.target.elements.key.value;
  post("/api/cache/delete", { key }, `Delete the cache entry under "${key}"?`);
});
// The cache view's search: one entry with its times (also on load, for /cache?key=K).
async function findEntry(key) {
  const body = document.querySelector("#cache-found tbody");
  const r = await fetch(`/api/cache/entry?key=${encodeURIComponent(key)}`, { cache: "no-store" });
  const doc = await r.json().catch(() => ({}));
  const row = (k, v) => el("tr", { "data-field": k, "data-value": v }, el("th", {}, k), el("td", {}, v));
  if (r.status === 404) {
    body.replaceChildren(row("key", key), row("entry", "none (absent or expired)"));
  } else if (!r.ok) {
    body.replaceChildren(row("key", key), row("error", (doc.error && doc.error.message) || r.status));
  } else {
    const now = Date.now();
    body.replaceChildren(
      row("key", doc.key), row("resource", doc.resource || "(none)"),
      row("age", duration(doc.age_ms)), row("state", doc.fresh ? "fresh" : "stale"),
      row("fresh until", doc.fresh ? `in ${duration(doc.fresh_until - now)}` : `${duration(now - doc.fresh_until)} ago`),
      row("expires", `in ${duration(doc.expires_at - now)}`), row("size (JSON)", bytes(doc.json_bytes)));
  }
}
const finder = document.getElementById("cache-find");
finder.addEventListener("submit", (ev) => {
  ev.preventDefault();
  findEntry(ev.target.elements.key.value);
});
const wanted = new URLSearchParams(location.search).get("key");
if (wanted) {
  finder.elements.key.value = wanted;
  findEntry(wanted);
}
document.getElementById("cache-clear").addEventListener("click", () =>
  post("/api/cache/clear", {}, "Remove every cache entry?"));
// The next poll starts a second after the last one ended: a slow store never piles up
// requests.
async function loop() {
  await poll();
  setTimeout(loop, POLL_MS);
}
loop();
