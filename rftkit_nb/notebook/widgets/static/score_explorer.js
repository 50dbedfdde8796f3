// The score explorer. The score matrix arrives once as one binary buffer (see explorer_data.pack);
// only the rows in view are drawn. Sorting, filtering and histograms are computed in Python: this module
// writes `sort` / `filters` and draws `order`, `histograms` and `stats`. Text only via textContent.

const ROW_HEIGHT = 24;
const STATE_LABELS = { not_applicable: "n/a", error: "⚠", skipped: "⏭ skipped", unfinished: "…" };
const SIZES = { f4: 4, u1: 1, u2: 2, u4: 4 };
const ARRAYS = { f4: Float32Array, u1: Uint8Array, u2: Uint16Array, u4: Uint32Array };

function h(tag, attrs = {}, text = null) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else node.setAttribute(k, v);
  }
  if (text !== null && text !== undefined) node.textContent = String(text);
  return node;
}

function bytesOf(value) {
  // A binary trait arrives as a DataView (ipywidgets); copy it so every typed array starts aligned.
  if (!value) return new ArrayBuffer(0);
  if (value instanceof ArrayBuffer) return value;
  return value.buffer.slice(value.byteOffset, value.byteOffset + value.byteLength);
}

function readMatrix(schema, value) {
  const buffer = bytesOf(value);
  const cols = {};
  for (const c of schema.layout) {
    const end = c.offset + SIZES[c.dtype] * schema.n;
    cols[c.name] = new ARRAYS[c.dtype](buffer.slice(c.offset, end));
  }
  return cols;
}

function fmt(x, digits = 3) {
  if (x === null || x === undefined || Number.isNaN(x)) return "—";
  return Number(x).toFixed(digits).replace(/\.?0+$/, "") || "0";
}

function render({ model, el }) {
  el.classList.add("rftkit-widget", "rftkit-explorer");
  const schema = model.get("schema");
  const cols = readMatrix(schema, model.get("matrix"));
  let order = new Uint32Array(bytesOf(model.get("order")));
  const ranges = {};
  for (const key of schema.graders) {
    let lo = Infinity, hi = -Infinity;
    for (const v of cols[`score:${key}`]) if (!Number.isNaN(v)) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
    ranges[key] = [lo, hi];
  }

  // --- layout ---------------------------------------------------------------------------------------
  const head = h("div", { class: "rftkit-head" });
  head.append(h("span", { class: "rftkit-title" }, `score explorer: ${schema.name}`));
  const summary = h("div", { class: "rftkit-summary", role: "status" });
  const filters = h("div", { class: "rftkit-filters" });
  const viewport = h("div", { class: "rftkit-viewport", tabindex: "0", role: "grid",
                              "aria-label": "scored rows", "data-lm-suppress-shortcuts": "true" });
  const header = h("div", { class: "rftkit-header-row", role: "row" });
  const rowsBox = h("div", { class: "rftkit-rows", role: "rowgroup" });
  viewport.append(header, rowsBox);
  const main = h("div", { class: "rftkit-main" });
  main.append(viewport);
  const side = h("div", { class: "rftkit-side" });
  const hists = h("div", { class: "rftkit-hists" });
  const detail = h("div", { class: "rftkit-detail", "aria-live": "polite" });
  detail.append(h("div", { class: "rftkit-sub" }, "select a row to see why it got its reward"));
  side.append(hists, detail);
  const body = h("div", { class: "rftkit-body" });
  body.append(main, side);
  el.replaceChildren(head, summary, filters, body);
  for (const note of schema.notes || []) head.append(h("span", { class: "rftkit-sub" }, `note: ${note}`));

  // --- columns --------------------------------------------------------------------------------------
  function columnsShown() {
    const shown = model.get("show_indicators")
      ? schema.graders : schema.graders.filter((k) => !schema.indicators.includes(k));
    const out = [{ name: "row", label: "#" }];
    if (schema.clusters.length) out.push({ name: "cluster", label: "cluster", wide: true });
    out.push({ name: "reward", label: "reward" });
    if (schema.compare) out.push({ name: "baseline", label: "before" }, { name: "delta", label: "Δ reward" });
    out.push({ name: "flagged", label: "flag" });
    for (const key of shown) out.push({ name: key, label: key, grader: true, wide: true });
    return out;
  }

  function drawHeader() {
    const sort = model.get("sort") || {};
    header.replaceChildren();
    for (const c of columnsShown()) {
      const cell = h("div", { class: `rftkit-c${c.wide ? " rftkit-wide" : ""}`, role: "columnheader",
                              "data-column": c.name, title: `sort by ${c.label}` }, c.label);
      if (sort.column === c.name) cell.setAttribute("aria-sort", sort.descending ? "descending" : "ascending");
      cell.addEventListener("click", () => {
        const now = model.get("sort") || {};
        const descending = now.column === c.name ? !now.descending : c.name !== "row";
        model.set("sort", { column: c.name, descending });
        model.save_changes();
      });
      header.append(cell);
    }
  }

  function gradeCell(key, i) {
    const state = schema.states[cols[`state:${key}`][i]];
    const cell = h("div", { class: "rftkit-c rftkit-wide", role: "gridcell" });
    if (state === "scored") {
      const v = cols[`score:${key}`][i];
      const [lo, hi] = ranges[key];
      const p = hi > lo ? Math.round(((v - lo) / (hi - lo)) * 100) : 100;
      cell.textContent = fmt(v);
      cell.style.background = `color-mix(in srgb, color-mix(in srgb, var(--jp-success-color2, #81c784) ${p}%, var(--jp-error-color2, #e57373)) 40%, transparent)`;
    } else if (state === "error") {
      const e = cols[`error:${key}`][i];
      cell.textContent = `⚠ ${e ? schema.errors[e - 1] : "error"}`;
      cell.className += " rftkit-err";
    } else {
      cell.textContent = STATE_LABELS[state] || state;
      cell.className += state === "skipped" ? " rftkit-skip" : " rftkit-na";
      if (state === "not_applicable") cell.title = "not applicable: masked by the cluster map";
    }
    return cell;
  }

  function drawRows() {
    const shown = columnsShown();
    const top = viewport.scrollTop;
    const first = Math.max(0, Math.floor(top / ROW_HEIGHT) - 5);
    const last = Math.min(order.length, first + Math.ceil(viewport.clientHeight / ROW_HEIGHT) + 15);
    const selected = model.get("selected");
    rowsBox.style.height = `${order.length * ROW_HEIGHT}px`;
    viewport.setAttribute("aria-rowcount", String(order.length + 1));
    const rows = [];
    for (let r = first; r < last; r++) {
      const i = order[r];
      const row = h("div", { class: "rftkit-row", role: "row", "data-position": String(i),
                             "aria-rowindex": String(r + 2), "aria-selected": String(selected === i) });
      row.style.top = `${r * ROW_HEIGHT}px`;
      for (const c of shown) {
        if (c.grader) { row.append(gradeCell(c.name, i)); continue; }
        let text = "";
        if (c.name === "row") text = i;
        else if (c.name === "cluster") text = cols.cluster[i] ? schema.clusters[cols.cluster[i] - 1] : "—";
        else if (c.name === "flagged") text = cols.flagged[i] ? "⚑" : "";
        else if (c.name === "delta") {
          const d = cols.delta[i];
          text = Number.isNaN(d) ? "—" : `${d > 0 ? "+" : ""}${fmt(d)}`;
        } else text = fmt(cols[c.name][i]);
        const cell = h("div", { class: `rftkit-c${c.wide ? " rftkit-wide" : ""}${c.name === "flagged" ? " rftkit-flag" : ""}`,
                                role: "gridcell" }, text);
        if (c.name === "reward") cell.style.fontWeight = "600";
        row.append(cell);
      }
      rows.push(row);
    }
    rowsBox.replaceChildren(...rows);
  }

  // --- filters, summary, histograms ------------------------------------------------------------------
  function setFilter(name, value) {
    const f = { ...(model.get("filters") || {}) };
    if (value === "" || value === null || value === false) delete f[name];
    else f[name] = value;
    model.set("filters", f);
    model.save_changes();
  }

  function select(name, label, options) {
    const s = h("select", { "aria-label": label, "data-filter": name });
    s.append(h("option", { value: "" }, `${label}: all`));
    for (const o of options) s.append(h("option", { value: o }, o));
    s.addEventListener("change", () => setFilter(name, s.value));
    return s;
  }

  function drawFilters() {
    filters.replaceChildren();
    const chosen = (model.get("filters") || {}).rows;
    if (Array.isArray(chosen)) { // opened on given rows (e.g. an agreement report's worst disagreements)
      const chip = h("button", { class: "rftkit-button", "aria-pressed": "true", "data-filter": "rows",
                                 title: "show every row" }, `${chosen.length} chosen rows ✕`);
      chip.addEventListener("click", () => { chip.remove(); setFilter("rows", null); });
      filters.append(chip);
    }
    if (schema.clusters.length) filters.append(select("cluster", "cluster", schema.clusters));
    filters.append(select("state", "state", schema.states));
    filters.append(select("grader", "sub-grader", schema.graders));
    if (schema.errors.length) filters.append(select("error", "error", schema.errors));
    for (const [name, label] of [["reward_min", "reward ≥"], ["reward_max", "reward ≤"]]) {
      const input = h("input", { class: "rftkit-input", type: "number", step: "0.05", "aria-label": label,
                                 placeholder: label, "data-filter": name, size: "6" });
      input.style.width = "6em";
      input.addEventListener("change", () => setFilter(name, input.value === "" ? "" : Number(input.value)));
      filters.append(input);
    }
    const search = h("input", { class: "rftkit-input", type: "search", placeholder: "search items and outputs",
                                "aria-label": "search items and outputs", "data-filter": "search" });
    let timer = null;
    search.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(() => setFilter("search", search.value.trim()), 250);
    });
    filters.append(search);
    const flagged = h("button", { class: "rftkit-button", "aria-pressed": "false" }, "flagged only");
    flagged.addEventListener("click", () => {
      const on = flagged.getAttribute("aria-pressed") !== "true";
      flagged.setAttribute("aria-pressed", String(on));
      setFilter("flagged", on);
    });
    filters.append(flagged);
    if (schema.indicators.length) {
      const ind = h("button", { class: "rftkit-button", "aria-pressed": String(model.get("show_indicators")),
                                title: "show the cluster indicator graders (applies_*) as columns" },
                    "indicators");
      ind.addEventListener("click", () => {
        model.set("show_indicators", !model.get("show_indicators"));
        model.save_changes();
        ind.setAttribute("aria-pressed", String(model.get("show_indicators")));
      });
      filters.append(ind);
    }
  }

  function drawSummary() {
    const s = model.get("stats") || {};
    const items = [
      ["rows", `${s.rows ?? 0} of ${s.of ?? 0}`], ["mean reward", fmt(s.mean)],
      ["flagged", s.flagged_share == null ? "—" : `${Math.round(s.flagged_share * 100)}%`],
      ["judge calls", `${s.judge_needed ?? 0} (${s.judge_sent ?? 0} sent, ${s.judge_cached ?? 0} cached)`],
      ["saved by masking", s.judge_saved_by_masking ?? 0],
    ];
    if (schema.compare) items.push(["mean Δ", fmt(s.mean_delta)], ["rows changed", s.changed ?? 0]);
    summary.replaceChildren();
    for (const [k, v] of items) {
      const span = h("span", {}, `${k}: `);
      span.append(h("b", {}, v));
      summary.append(span);
    }
  }

  function drawHistograms() {
    hists.replaceChildren();
    for (const hist of model.get("histograms") || []) {
      const box = h("div", { class: "rftkit-hist", "data-title": hist.title });
      box.append(h("div", { class: "rftkit-hist-title" }, `${hist.title} (${hist.n})`));
      const bars = h("div", { class: "rftkit-bars", role: "img",
                              "aria-label": `histogram of ${hist.title}: ${hist.counts.join(", ")}` });
      const top = Math.max(1, ...hist.counts);
      hist.counts.forEach((n, b) => {
        const lo = hist.edges[b], hi = hist.edges[b + 1];
        const sign = hist.kind === "delta" ? (hi <= 0 ? " rftkit-neg" : lo >= 0 ? " rftkit-pos" : "") : "";
        const bar = h("div", { class: `rftkit-bar${sign}`, title: `${fmt(lo)} to ${fmt(hi)}: ${n} rows` });
        bar.style.height = `${(n / top) * 100}%`;
        bars.append(bar);
      });
      box.append(bars);
      const axis = h("div", { class: "rftkit-sub" }, `${fmt(hist.edges[0])} … ${fmt(hist.edges[hist.edges.length - 1])}`);
      box.append(axis);
      hists.append(box);
    }
  }

  // --- the detail pane ------------------------------------------------------------------------------
  function section(title, text) {
    const box = h("div");
    box.append(h("h4", {}, title), h("pre", {}, text));
    return box;
  }

  function drawDetail(d) {
    detail.replaceChildren();
    if (!d) return;
    const title = `row ${typeof d.index === "object" ? JSON.stringify(d.index) : d.index} (position ${d.position})`;
    detail.append(h("div", { class: "rftkit-title" }, title));
    let line = `reward ${fmt(d.reward, 4)}`;
    if ("delta" in d) line += `, before ${fmt(d.baseline_reward, 4)} (Δ ${fmt(d.delta, 4)})`;
    if (d.note) line += `; ${d.note}`;
    detail.append(h("div", {}, line));
    if (d.formula) detail.append(section("formula", `${d.formula}\n= ${d.formula_values}`));
    detail.append(section("item", JSON.stringify(d.item, null, 2)));
    detail.append(section("output", d.output));
    for (const g of d.graders) {
      const box = h("details", { class: "rftkit-grader", "data-grader": g.key });
      if (g.state !== "not_applicable") box.open = !g.indicator;
      const head = `${g.key} (${g.type}): ${g.state}${g.score === null ? "" : ` ${fmt(g.score, 4)}`}`;
      box.append(h("summary", {}, head));
      if (g.error || g.detail) box.append(h("pre", {}, `${g.error ? `${g.error}: ` : ""}${g.detail}`));
      for (const [where, text] of g.rendered) box.append(section(where, text));
      if (g.steps.length) {
        const list = h("ol");
        for (const s of g.steps) list.append(h("li", {}, `${s.description} → ${s.conclusion}`));
        box.append(h("h4", {}, "judge steps"), list);
      }
      if (g.stdout) box.append(section("stdout", g.stdout));
      detail.append(box);
    }
  }

  function selectRow(position) {
    if (position === model.get("selected")) return; // its detail is already shown
    model.set("selected", position);
    model.save_changes();
    detail.replaceChildren(h("div", { class: "rftkit-sub" }, "loading…"));
    drawRows();
  }

  rowsBox.addEventListener("click", (e) => {
    const row = e.target.closest(".rftkit-row");
    if (row) selectRow(Number(row.dataset.position));
  });
  viewport.addEventListener("keydown", (e) => {
    if (e.key !== "ArrowDown" && e.key !== "ArrowUp") return;
    e.preventDefault();
    e.stopPropagation(); // the notebook must not move to another cell
    const at = order.indexOf(model.get("selected") ?? -1);
    const next = Math.max(0, Math.min(order.length - 1, at + (e.key === "ArrowDown" ? 1 : -1)));
    if (order.length) {
      selectRow(order[next]);
      const y = (next + 1) * ROW_HEIGHT;
      if (y < viewport.scrollTop + ROW_HEIGHT || y > viewport.scrollTop + viewport.clientHeight - ROW_HEIGHT) {
        viewport.scrollTop = y - viewport.clientHeight / 2;
      }
    }
  });
  let frame = null;
  viewport.addEventListener("scroll", () => {
    if (frame) return;
    frame = requestAnimationFrame(() => { frame = null; drawRows(); });
  });

  model.on("msg:custom", (msg) => {
    if (!msg || msg.kind !== "detail") return;
    if (msg.row !== model.get("selected")) return; // an answer to an earlier click
    if (msg.error) detail.replaceChildren(h("div", { class: "rftkit-error" }, msg.error));
    else drawDetail(msg.detail);
  });
  model.on("change:order", () => {
    order = new Uint32Array(bytesOf(model.get("order")));
    drawRows();
  });
  model.on("change:sort", drawHeader);
  model.on("change:show_indicators", () => { drawHeader(); drawRows(); });
  model.on("change:selected", drawRows);
  model.on("change:stats", drawSummary);
  model.on("change:histograms", drawHistograms);

  drawFilters();
  drawHeader();
  drawSummary();
  drawHistograms();
  requestAnimationFrame(drawRows);
  drawRows();
  if (model.get("selected") !== null) model.send({ op: "detail", row: model.get("selected") });
  return () => el.replaceChildren();
}

export default { render };
