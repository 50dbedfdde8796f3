// The job monitor. Python polls the job and fills the traits; this module draws them: status,
// progress, reward curves (inline SVG built from numbers), per-grader curves, checkpoints and the
// events log. Pause / resume / cancel / refresh are {op} messages. Text only via textContent.

const SVG = "http://www.w3.org/2000/svg";
const W = 220, H = 120, PAD = { l: 34, r: 8, t: 8, b: 22 };

function h(tag, attrs = {}, text = null) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else node.setAttribute(k, v);
  }
  if (text !== null && text !== undefined) node.textContent = String(text);
  return node;
}

function s(tag, attrs = {}, text = null) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== null) node.textContent = String(text);
  return node;
}

function fmt(x, digits = 3) {
  if (x === null || x === undefined || !Number.isFinite(x)) return "—";
  return Number(x).toFixed(digits).replace(/\.?0+$/, "") || "0";
}

// One chart: lines of [step, value] points on shared axes. Only finite numbers reach the path data.
function chart(title, lines, totalSteps) {
  const box = h("figure", { class: "rftkit-chart", "data-title": title });
  box.append(h("figcaption", { class: "rftkit-hist-title" }, title));
  const points = lines.flatMap((l) => l.points).filter((p) => Number.isFinite(p[0]) && Number.isFinite(p[1]));
  const svg = s("svg", { viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: "img",
                         "aria-label": `${title}: ${lines.map((l) => `${l.label} ${l.points.length} points`).join(", ")}` });
  const xs = points.map((p) => p[0]), ys = points.map((p) => p[1]);
  const x0 = 0, x1 = Math.max(1, totalSteps || 0, ...xs);
  const y0 = Math.min(0, ...ys), y1 = Math.max(1, ...ys);
  const X = (x) => PAD.l + ((x - x0) / (x1 - x0)) * (W - PAD.l - PAD.r);
  const Y = (y) => H - PAD.b - ((y - y0) / (y1 - y0 || 1)) * (H - PAD.t - PAD.b);
  svg.append(s("rect", { class: "rftkit-plot", x: PAD.l, y: PAD.t, width: W - PAD.l - PAD.r, height: H - PAD.t - PAD.b }));
  for (const y of [y0, (y0 + y1) / 2, y1]) {
    svg.append(s("line", { class: "rftkit-gridline", x1: PAD.l, x2: W - PAD.r, y1: Y(y), y2: Y(y) }));
    svg.append(s("text", { class: "rftkit-axis", x: PAD.l - 4, y: Y(y) + 4, "text-anchor": "end" }, fmt(y, 2)));
  }
  svg.append(s("text", { class: "rftkit-axis", x: PAD.l, y: H - 6 }, "step 0"));
  svg.append(s("text", { class: "rftkit-axis", x: W - PAD.r, y: H - 6, "text-anchor": "end" }, `step ${x1}`));
  lines.forEach((line, i) => {
    const pts = line.points.filter((p) => Number.isFinite(p[0]) && Number.isFinite(p[1]));
    if (!pts.length) return;
    const d = pts.map((p, j) => `${j ? "L" : "M"}${X(p[0]).toFixed(1)} ${Y(p[1]).toFixed(1)}`).join(" ");
    const path = s("path", { class: `rftkit-line rftkit-line-${i % 4}`, d, "data-series": line.label,
                             "data-points": pts.length });
    path.append(s("title", {}, `${line.label}: ${pts.map((p) => `${p[0]}→${fmt(p[1])}`).join(", ")}`));
    svg.append(path);
    const last = pts[pts.length - 1];
    svg.append(s("circle", { class: `rftkit-dot rftkit-line-${i % 4}`, cx: X(last[0]), cy: Y(last[1]), r: 2.5 }));
  });
  box.append(svg);
  const legend = h("div", { class: "rftkit-legend" });
  lines.forEach((line, i) => {
    const last = line.points[line.points.length - 1];
    const item = h("span", { class: `rftkit-key rftkit-line-${i % 4}` }, "━ ");
    legend.append(item, h("span", {}, `${line.label} ${last ? fmt(last[1]) : "—"}  `));
  });
  box.append(legend);
  return box;
}

function render({ model, el }) {
  el.classList.add("rftkit-widget", "rftkit-monitor");
  const head = h("div", { class: "rftkit-head" });
  const statusLine = h("div", { class: "rftkit-summary", role: "status" });
  const progress = h("progress", { class: "rftkit-progress", max: "1", value: "0", "aria-label": "training progress" });
  const tools = h("div", { class: "rftkit-toolbar" });
  const charts = h("div", { class: "rftkit-charts" }); // the reward, then one chart per grader
  const lower = h("div", { class: "rftkit-body" });
  const ckpts = h("div", { class: "rftkit-checkpoints" });
  const log = h("div", { class: "rftkit-log", role: "log", "aria-label": "job events", tabindex: "0" });
  lower.append(ckpts, log);
  const notice = h("div", { class: "rftkit-notice", role: "status", "aria-live": "polite" });
  el.replaceChildren(head, statusLine, progress, tools, notice, charts, lower);
  let armed = null; // the action waiting for its second click (cancel)

  function drawHead() {
    const info = model.get("info") || {};
    head.replaceChildren(h("span", { class: "rftkit-title" }, `RFT job ${info.id || ""}`));
    const badge = h("span", { class: `rftkit-status rftkit-status-${model.get("status")}`, "data-status": model.get("status") },
                    model.get("status"));
    head.append(badge, h("span", { class: "rftkit-sub" }, `${info.model || ""} on ${info.target || ""}`));
    if (model.get("polling")) head.append(h("span", { class: "rftkit-sub rftkit-polling" }, "● polling"));
    if (info.fine_tuned_model) head.append(h("code", {}, info.fine_tuned_model));
    for (const note of info.notes || []) head.append(h("span", { class: "rftkit-sub" }, `note: ${note}`));
    if (info.error) head.append(h("span", { class: "rftkit-error" }, info.error));
  }

  function drawStatus() {
    const p = model.get("progress") || {};
    const step = p.step ?? 0, total = p.total_steps ?? 0;
    progress.max = Math.max(1, total);
    progress.value = Math.min(step, Math.max(1, total));
    const series = model.get("series") || {};
    const last = (xs) => (xs && xs.length ? xs[xs.length - 1][1] : null);
    const items = [["step", total ? `${step}/${total} (${Math.round((100 * step) / total)}%)` : "—"],
                   ["train reward", fmt(last(series.train))], ["valid reward", fmt(last(series.valid))]];
    const errors = model.get("grader_errors") || {};
    const errorCount = Object.values(errors).reduce((a, b) => a + b, 0);
    if (errorCount) items.push(["grader errors", `${errorCount} (${Object.keys(errors).join(", ")})`]);
    statusLine.replaceChildren();
    for (const [k, v] of items) {
      const span = h("span", {}, `${k}: `);
      span.append(h("b", {}, v));
      statusLine.append(span);
    }
  }

  function drawTools() {
    tools.replaceChildren();
    const allowed = model.get("actions") || [];
    for (const op of ["pause", "resume", "cancel"]) {
      if (!allowed.includes(op)) continue;
      const label = op === "cancel" && armed === "cancel" ? "really cancel the job?" : op;
      const b = h("button", { class: "rftkit-button", "data-op": op }, label);
      b.addEventListener("click", () => {
        if (op === "cancel" && armed !== "cancel") { armed = "cancel"; drawTools(); return; }
        armed = null;
        for (const x of tools.querySelectorAll("button")) x.disabled = true;
        model.send({ op });
      });
      tools.append(b);
    }
    const r = h("button", { class: "rftkit-button", "data-op": "refresh", title: "read the job now (and poll again)" }, "↻");
    r.addEventListener("click", () => model.send({ op: "refresh" }));
    tools.append(r);
  }

  function drawNotice() {
    const n = model.get("notice") || {};
    notice.className = `rftkit-notice rftkit-${n.level || "info"}`;
    notice.dataset.seq = String(n.seq || 0);
    notice.textContent = n.text || "";
  }

  function drawCharts() {
    const series = model.get("series") || {};
    const total = (model.get("progress") || {}).total_steps || 0;
    charts.replaceChildren(chart("reward", [{ label: "train", points: series.train || [] },
                                            { label: "valid", points: series.valid || [] }], total));
    for (const [name, metrics] of Object.entries(series.graders || {})) {
      const lines = Object.entries(metrics).map(([metric, points]) => ({
        label: metric.replace(/_reward_mean$/, ""), points }));
      const c = chart(name, lines, total);
      c.dataset.grader = name;
      charts.append(c);
    }
  }

  function drawCheckpoints() {
    const list = model.get("checkpoints") || [];
    ckpts.replaceChildren(h("h4", {}, `checkpoints (${list.length})`));
    if (!list.length) { ckpts.append(h("div", { class: "rftkit-sub" }, "none yet")); return; }
    const table = h("table", { class: "rftkit-grid" });
    const tr = h("tr");
    for (const c of ["step", "model to deploy", "valid reward"]) tr.append(h("th", {}, c));
    table.append(tr);
    for (const c of list) {
      const metrics = c.metrics || {};
      const all = Object.entries(metrics).map(([k, v]) => `${k} ${typeof v === "number" ? fmt(v) : v}`).join(", ");
      const row = h("tr", { "data-checkpoint": c.id, title: all });
      row.append(h("td", {}, c.step));
      const model_ = h("td");
      model_.append(h("code", {}, c.model));
      row.append(model_);
      row.append(h("td", {}, fmt(metrics.full_valid_mean_reward ?? metrics.valid_mean_reward ?? null)));
      table.append(row);
    }
    ckpts.append(table);
  }

  function drawLog() {
    const events = model.get("events") || [];
    const atBottom = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
    log.replaceChildren();
    for (const e of events) {
      const when = e.created_at ? new Date(e.created_at * 1000).toISOString().slice(11, 19) : "";
      const line = h("div", { class: `rftkit-event rftkit-level-${e.level}`, "data-type": e.type });
      line.textContent = `${when} [${e.level}] ${e.message}`;
      log.append(line);
    }
    if (atBottom) log.scrollTop = log.scrollHeight;
  }

  model.on("change:info", drawHead);
  model.on("change:status", () => { drawHead(); drawTools(); });
  model.on("change:polling", drawHead);
  model.on("change:actions", () => { armed = null; drawTools(); });
  model.on("change:progress", () => { drawStatus(); drawCharts(); });
  model.on("change:series", () => { drawStatus(); drawCharts(); });
  model.on("change:grader_errors", drawStatus);
  model.on("change:checkpoints", drawCheckpoints);
  model.on("change:events", drawLog);
  model.on("change:notice", () => { drawNotice(); drawTools(); });
  drawHead(); drawStatus(); drawTools(); drawNotice(); drawCharts(); drawCheckpoints(); drawLog();
  return () => el.replaceChildren();
}

export default { render };
