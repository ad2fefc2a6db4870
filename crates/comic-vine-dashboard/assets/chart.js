// The grant chart: an inline SVG, one polyline per resource (requests counted in its
// window over time) against the limit line. Drawn from /api/ratelimits documents.
"use strict";

const SVG_NS = "http://www.w3.org/2000/svg";
const COLORS = ["#3a7bd5", "#27ae60", "#8e44ad", "#e67e22", "#16a085", "#d35400", "#2c3e50", "#f1c40f"];

function svgEl(name, attrs) {
  const el = document.createElementNS(SVG_NS, name);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  return el;
}

function seriesColor(i) {
  return COLORS[i % COLORS.length];
}

// Draws the chart into `box`. rows: the `resources` of /api/ratelimits; now, spanMs: the
// time axis ends at `now` and reaches `spanMs` back. With one limit for every resource
// the y axis counts requests; otherwise it is the share of each resource's own limit.
function drawChart(box, rows, now, spanMs) {
  const W = 900, H = 300, L = 48, R = 16, T = 14, B = 28;
  const ok = rows.filter((r) => typeof r.limit === "number");
  const limits = new Set(ok.map((r) => r.limit));
  const absolute = limits.size <= 1;
  const limit = absolute ? (ok.length ? ok[0].limit : 1) : 1;
  const yMax = absolute ? limit * 1.15 : 1.15;
  const x = (t) => L + ((t - (now - spanMs)) / spanMs) * (W - L - R);
  const y = (v) => T + (1 - v / yMax) * (H - T - B);

  const svg = svgEl("svg", { id: "grant-chart", width: W, height: H, viewBox: `0 0 ${W} ${H}`,
    role: "img", "aria-label": "grants in the window per resource against the limit",
    "data-scale": absolute ? "requests" : "share-of-limit" });
  svg.appendChild(svgEl("rect", { x: L, y: T, width: W - L - R, height: H - T - B, fill: "#fbfcfd", stroke: "#d9dde3" }));

  // Grid and labels.
  for (let i = 0; i <= 4; i++) {
    const v = (yMax / 1.15) * (i / 4);
    const gy = y(v);
    svg.appendChild(svgEl("line", { x1: L, x2: W - R, y1: gy, y2: gy, stroke: "#eceff3" }));
    const label = svgEl("text", { x: L - 6, y: gy + 4, "text-anchor": "end", "font-size": 11, fill: "#667085" });
    label.textContent = absolute ? String(Math.round(v)) : `${Math.round(v * 100)}%`;
    svg.appendChild(label);
  }
  for (let i = 0; i <= 6; i++) {
    const t = now - spanMs + (spanMs * i) / 6;
    const tx = svgEl("text", { x: x(t), y: H - 8, "text-anchor": "middle", "font-size": 11, fill: "#667085" });
    tx.textContent = i === 6 ? "now" : `-${Math.round((now - t) / 1000)} s`;
    svg.appendChild(tx);
  }

  // The limit line.
  const ly = y(absolute ? limit : 1);
  svg.appendChild(svgEl("line", { class: "limit-line", x1: L, x2: W - R, y1: ly, y2: ly,
    stroke: "#c0392b", "stroke-width": 2, "stroke-dasharray": "6 4", "data-limit": absolute ? limit : "100%" }));
  const lt = svgEl("text", { x: W - R - 4, y: ly - 5, "text-anchor": "end", "font-size": 11, fill: "#c0392b" });
  lt.textContent = absolute ? `limit ${limit}` : "limit";
  svg.appendChild(lt);

  // One series per resource.
  rows.forEach((r, i) => {
    const pts = (r.history || [])
      .filter(([t]) => t >= now - spanMs && t <= now)
      .map(([t, used]) => {
        const v = absolute ? used : used / (r.limit || 1);
        return `${x(t).toFixed(1)},${y(v).toFixed(1)}`;
      });
    svg.appendChild(svgEl("polyline", { class: "series", "data-resource": r.resource,
      "data-limiter": r.limiter, "data-points": pts.length, points: pts.join(" "), fill: "none",
      stroke: seriesColor(i), "stroke-width": 2, "stroke-linejoin": "round" }));
  });
  box.replaceChildren(svg);
}
