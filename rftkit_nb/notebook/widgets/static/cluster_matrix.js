// The cluster x rubric matrix. Every piece of data goes into the page with textContent, never parsed as markup.
// Edits are sent as {op, args} messages (Python validates them and answers with the new state and a
// notice); Python also accepts the `membership` trait written whole. Keyboard: arrows move, Space toggles, Home/End jump, Tab leaves the grid.

function h(tag, attrs = {}, text = null) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else node.setAttribute(k, v);
  }
  if (text !== null) node.textContent = String(text);
  return node;
}

function editName(label, current, commit) {
  // Inline rename: Enter commits, Escape cancels; the label comes back either way.
  const input = h("input", { class: "rftkit-rename", "aria-label": `new name for ${current}` });
  input.value = current;
  label.replaceWith(input);
  input.focus();
  input.select();
  let done = false;
  const finish = (ok) => {
    if (done) return;
    done = true;
    input.replaceWith(label);
    const value = input.value.trim();
    if (ok && value && value !== current) commit(value);
  };
  input.addEventListener("keydown", (e) => {
    e.stopPropagation();
    if (e.key === "Enter") finish(true);
    else if (e.key === "Escape") finish(false);
  });
  input.addEventListener("blur", () => finish(false));
}

function render({ model, el }) {
  el.classList.add("rftkit-widget", "rftkit-matrix");
  let focus = { row: 0, col: 0 };
  let lastSeq = 0;

  const send = (op, ...args) => model.send({ op, args });

  let guessed = []; // cells painted before Python answered: [row, col]

  function toggle(cluster, rubric) {
    // Painted at once, then sent as one small edit; Python's answer (the new membership, or a refusal
    // in the notice) repaints the cell from the model, so a refused edit springs back.
    const i = view.clusters.indexOf(cluster), j = view.col[rubric];
    const on = !view.sets[cluster].has(rubric);
    if (i >= 0 && j !== undefined && view.cells[i]) {
      paintCell(view.cells[i][j], cluster, rubric, on);
      guessed.push([i, j]);
    }
    send("set", cluster, rubric, on);
  }

  function settle() {
    for (const [i, j] of guessed) {
      const c = view.clusters[i], r = view.rubrics[j];
      if (view.cells[i] && view.cells[i][j]) paintCell(view.cells[i][j], c, r, view.sets[c].has(r));
    }
    guessed = [];
  }

  function headerButtons(kind, name) {
    const box = h("span", { class: "rftkit-tools" });
    const rename = h("button", { class: "rftkit-icon", title: `rename ${kind} ${name}`,
                                 "aria-label": `rename ${kind} ${name}` }, "✎");
    const remove = h("button", { class: "rftkit-icon", title: `remove ${kind} ${name}`,
                                 "aria-label": `remove ${kind} ${name}` }, "✕");
    box.append(rename, remove);
    return { box, rename, remove };
  }

  let view = null; // the drawn grid's nodes, so a membership change repaints only the cells it touched

  function paintCell(td, cluster, rubric, on) {
    td.className = `rftkit-cell${on ? " rftkit-on" : ""}`;
    td.setAttribute("aria-checked", String(on));
    td.setAttribute("aria-label", `${cluster} × ${rubric}: ${on ? "counts" : "does not count"}`);
    td.textContent = on ? "✓" : "";
  }

  function paintTotal(head, cell, n, kind) {
    // Rubrics in no cluster and clusters with no rubric stand out.
    cell.textContent = String(n);
    head.classList.toggle("rftkit-warn", n === 0);
    if (n) head.removeAttribute("title");
    else head.title = kind === "rubric" ? "in no cluster: this rubric counts for no row"
      : "no rubric: rows of this cluster are graded without any rubric";
  }

  function patch() {
    const membership = model.get("membership");
    const { clusters, rubrics } = view;
    const sets = Object.fromEntries(clusters.map((c) => [c, new Set(membership[c] || [])]));
    const touched = new Set();
    clusters.forEach((c, i) => {
      const before = view.sets[c], now = sets[c];
      let changed = false;
      for (const r of new Set([...before, ...now])) {
        const j = view.col[r];
        if (j === undefined || before.has(r) === now.has(r)) continue;
        if (view.cells[i]) paintCell(view.cells[i][j], c, r, now.has(r)); // drawn rows only
        touched.add(j);
        changed = true;
      }
      if (changed && view.cells[i]) paintTotal(view.rowHeads[i], view.rowTotals[i], now.size, "cluster");
    });
    for (const j of touched) {
      const n = clusters.filter((c) => sets[c].has(rubrics[j])).length;
      paintTotal(view.colHeads[j], view.colTotals[j], n, "rubric");
    }
    view.sets = sets;
    settle();
  }

  let rowHeight = 25; // measured once a row is drawn

  function rowNode(i) {
    const c = view.clusters[i];
    const tr = h("tr", { role: "row", "data-cluster": c, "aria-rowindex": String(i + 2) });
    const th = h("th", { role: "rowheader" });
    const label = h("span", { class: "rftkit-name" }, c);
    th.append(label);
    const tools = headerButtons("cluster", c);
    tools.rename.addEventListener("click", () => editName(label, c, (v) => send("rename_cluster", c, v)));
    tools.remove.addEventListener("click", () => send("remove_cluster", c));
    th.append(tools.box);
    tr.append(th);
    if (view.attached) {
      tr.append(h("td", { role: "gridcell", class: "rftkit-num", "aria-readonly": "true" }, view.counts[c] ?? 0));
    }
    const cells = view.rubrics.map((r, j) => {
      const td = h("td", { role: "gridcell", tabindex: i === focus.row && j === focus.col ? "0" : "-1",
                           "data-row": String(i), "data-col": String(j) });
      paintCell(td, c, r, view.sets[c].has(r));
      return td;
    });
    tr.append(...cells);
    const total = h("td", { class: "rftkit-num", role: "gridcell", "aria-readonly": "true" });
    paintTotal(th, total, view.sets[c].size, "cluster");
    tr.append(total);
    view.cells[i] = cells;
    view.rowHeads[i] = th;
    view.rowTotals[i] = total;
    return tr;
  }

  function renderRows(around = null) {
    // Only the clusters in view (and a margin) are in the page: a 200 x 200 matrix stays light.
    const n = view.clusters.length;
    const wrap = view.wrap;
    const headHeight = view.tbody.previousElementSibling?.getBoundingClientRect().height || rowHeight;
    if (around !== null) {
      const y = headHeight + around * rowHeight;
      if (y < wrap.scrollTop + headHeight || y + rowHeight > wrap.scrollTop + wrap.clientHeight) {
        wrap.scrollTop = Math.max(0, y - wrap.clientHeight / 2);
      }
    }
    const shown = Math.ceil((wrap.clientHeight || 480) / rowHeight);
    const first = Math.max(0, Math.floor(Math.max(0, wrap.scrollTop - headHeight) / rowHeight) - 10);
    const last = Math.min(n, first + shown + 20);
    if (first === view.first && last === view.last) return;
    for (let i = view.first; i < view.last; i++) {
      view.rows[i]?.remove();
      delete view.rows[i];
      delete view.cells[i];
      delete view.rowHeads[i];
      delete view.rowTotals[i];
    }
    const fragment = document.createDocumentFragment();
    for (let i = first; i < last; i++) fragment.append((view.rows[i] = rowNode(i)));
    view.bottom.before(fragment);
    view.first = first;
    view.last = last;
    if (last > first) rowHeight = view.rows[first].getBoundingClientRect().height || rowHeight;
    view.top.firstChild.style.height = `${first * rowHeight}px`;
    view.bottom.firstChild.style.height = `${(n - last) * rowHeight}px`;
    view.top.hidden = first === 0;
    view.bottom.hidden = last === n;
    if (last > first && !view.tbody.querySelector('td.rftkit-cell[tabindex="0"]')) {
      // The focused cell scrolled away: Tab still enters the grid, at a drawn cell of the same column.
      view.cells[first][Math.min(focus.col, view.rubrics.length - 1)]?.setAttribute("tabindex", "0");
    }
  }

  function draw() {
    const clusters = model.get("clusters");
    const rubrics = model.get("rubrics");
    const membership = model.get("membership");
    const weights = model.get("weights");
    const counts = model.get("row_counts");
    const attached = model.get("attached");
    const sets = Object.fromEntries(clusters.map((c) => [c, new Set(membership[c] || [])]));
    const colTotals = rubrics.map((r) => clusters.filter((c) => sets[c].has(r)).length);
    focus.row = Math.min(focus.row, Math.max(clusters.length - 1, 0));
    focus.col = Math.min(focus.col, Math.max(rubrics.length - 1, 0));
    const hadFocus = el.contains(document.activeElement) &&
      document.activeElement.getAttribute("role") === "gridcell";

    guessed = [];
    view = { clusters, rubrics, sets, col: Object.fromEntries(rubrics.map((r, j) => [r, j])),
             cells: [], rowHeads: [], rowTotals: [], colHeads: [], colTotals: [] };
    el.replaceChildren();
    const head = h("div", { class: "rftkit-head" });
    head.append(h("span", { class: "rftkit-title" }, "cluster × rubric"),
                h("span", { class: "rftkit-sub" },
                  `${clusters.length} clusters, ${rubrics.length} rubrics; cluster field: item.${model.get("field")}`));
    el.append(head);

    const table = h("table", { role: "grid", class: "rftkit-grid", "aria-label": "cluster by rubric matrix",
                               "data-lm-suppress-shortcuts": "true",
                               "aria-rowcount": String(clusters.length + 2),
                               "aria-colcount": String(rubrics.length + 2 + (attached ? 1 : 0)) });
    const thead = h("thead");
    const hrow = h("tr", { role: "row" });
    hrow.append(h("th", { role: "columnheader", class: "rftkit-corner" }, "cluster"));
    if (attached) hrow.append(h("th", { role: "columnheader", class: "rftkit-num" }, "rows"));
    rubrics.forEach((r, j) => {
      const th = h("th", { role: "columnheader", "data-rubric": r });
      view.colHeads.push(th);
      const label = h("span", { class: "rftkit-name" }, r);
      th.append(label);
      if (r in weights) th.append(h("span", { class: "rftkit-weight" }, `×${weights[r]}`));
      const tools = headerButtons("rubric", r);
      tools.rename.addEventListener("click", () => editName(label, r, (v) => send("rename_rubric", r, v)));
      tools.remove.addEventListener("click", () => send("remove_rubric", r));
      th.append(tools.box);
      hrow.append(th);
    });
    hrow.append(h("th", { role: "columnheader", class: "rftkit-num" }, "total"));
    thead.append(hrow);
    table.append(thead);

    const tbody = h("tbody");
    const width = rubrics.length + 2 + (attached ? 1 : 0);
    const spacer = () => {
      const tr = h("tr", { class: "rftkit-spacer", "aria-hidden": "true" });
      tr.append(h("td", { colspan: String(width) }));
      return tr;
    };
    Object.assign(view, { tbody, top: spacer(), bottom: spacer(), first: 0, last: 0, rows: [],
                          counts, attached });
    tbody.append(view.top, view.bottom);
    const frow = h("tr", { role: "row", class: "rftkit-totals" });
    frow.append(h("th", { role: "rowheader" }, "clusters"));
    if (attached) frow.append(h("td", { role: "gridcell", class: "rftkit-num" },
                                Object.values(counts).reduce((a, b) => a + b, 0)));
    colTotals.forEach((n, j) => {
      const td = h("td", { role: "gridcell", class: "rftkit-num" });
      view.colTotals.push(td);
      paintTotal(view.colHeads[j], td, n, "rubric");
      frow.append(td);
    });
    frow.append(h("td", { role: "gridcell" }, ""));
    tbody.append(frow);
    table.append(tbody);
    const wrap = h("div", { class: "rftkit-scroll" });
    wrap.append(table);
    el.append(wrap);
    view.wrap = wrap;
    wrap.addEventListener("scroll", () => {
      if (view.frame) return;
      view.frame = requestAnimationFrame(() => { view.frame = null; renderRows(); });
    });
    renderRows();

    el.append(toolbar());
    const missing = model.get("missing");
    if (attached && (missing.length || model.get("unclustered_rows"))) el.append(missingBar(missing, counts));
    el.append(noticeLine());
    if (hadFocus) focusCell();
  }

  function toolbar() {
    const bar = h("div", { class: "rftkit-toolbar" });
    const add = (what, op) => {
      const input = h("input", { class: "rftkit-input", placeholder: `new ${what}`,
                                 "aria-label": `new ${what} name` });
      const button = h("button", { class: "rftkit-button" }, `add ${what}`);
      const go = () => {
        const name = input.value.trim();
        if (name) send(op, name);
      };
      button.addEventListener("click", go);
      input.addEventListener("keydown", (e) => {
        e.stopPropagation();
        if (e.key === "Enter") go();
      });
      bar.append(input, button);
    };
    add("cluster", "add_cluster");
    if (model.get("can_add_rubrics")) add("rubric", "add_rubric");
    else bar.append(h("span", { class: "rftkit-sub" }, "add rubrics with %%rubric NAME --clusters ..."));
    return bar;
  }

  function missingBar(missing, counts) {
    const bar = h("div", { class: "rftkit-missing" });
    if (missing.length) {
      bar.append(h("span", {}, "in the data, not on the map: "));
      for (const c of missing) {
        const b = h("button", { class: "rftkit-chip", "aria-label": `add cluster ${c}` },
                    `+ ${c} (${counts[c]} rows)`);
        b.addEventListener("click", () => send("add_cluster", c));
        bar.append(b);
      }
    }
    const none = model.get("unclustered_rows");
    if (none) bar.append(h("span", { class: "rftkit-sub" }, ` ${none} rows have no item.${model.get("field")}`));
    return bar;
  }

  function noticeLine() {
    const notice = model.get("notice");
    const line = h("div", { class: "rftkit-notice", role: "status", "aria-live": "polite",
                            "data-seq": String((notice && notice.seq) || 0) });
    if (notice && notice.text) {
      line.classList.add({ error: "rftkit-error", ok: "rftkit-ok" }[notice.level] || "rftkit-info");
      line.textContent = notice.text;
    }
    return line;
  }

  function focusCell() {
    renderRows(focus.row);
    const cell = view.cells[focus.row] && view.cells[focus.row][focus.col];
    if (!cell) return;
    el.querySelectorAll('td.rftkit-cell[tabindex="0"]').forEach((c) => c.setAttribute("tabindex", "-1"));
    cell.setAttribute("tabindex", "0");
    cell.focus();
  }

  function cellName(cell) {
    const i = Number(cell.dataset.row), j = Number(cell.dataset.col);
    return [model.get("clusters")[i], model.get("rubrics")[j], i, j];
  }

  el.addEventListener("click", (e) => {
    const cell = e.target.closest("td.rftkit-cell");
    if (!cell || !el.contains(cell)) return;
    const [c, r, i, j] = cellName(cell);
    focus = { row: i, col: j };
    toggle(c, r);
  });

  el.addEventListener("keydown", (e) => {
    const cell = e.target.closest && e.target.closest("td.rftkit-cell");
    if (!cell) return;
    const rows = model.get("clusters").length, cols = model.get("rubrics").length;
    const moves = {
      ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1],
    };
    if (e.key in moves) {
      const [dr, dc] = moves[e.key];
      focus = { row: Math.max(0, Math.min(rows - 1, focus.row + dr)),
                col: Math.max(0, Math.min(cols - 1, focus.col + dc)) };
      focusCell();
    } else if (e.key === "Home" || e.key === "End") {
      focus = { row: focus.row, col: e.key === "Home" ? 0 : cols - 1 };
      focusCell();
    } else if (e.key === " " || e.key === "Enter") {
      const [c, r] = cellName(cell);
      toggle(c, r);
    } else {
      return; // Tab and the rest keep their usual meaning
    }
    // JupyterLab's own shortcuts (arrows move between cells, Space scrolls) must not see these keys.
    e.preventDefault();
    e.stopPropagation();
  });

  el.addEventListener("focusin", (e) => {
    const cell = e.target.closest && e.target.closest("td.rftkit-cell");
    if (cell) focus = { row: Number(cell.dataset.row), col: Number(cell.dataset.col) };
  });

  let pending = null;
  const schedule = (what) => {
    // One repaint per message from Python, however many traits it changed; a cell toggle repaints
    // only that cell and its totals, anything else redraws the grid.
    if (pending) { pending.add(what); return; }
    pending = new Set([what]);
    queueMicrotask(() => {
      const only = pending.size === 1 && pending.has("membership") && view;
      pending = null;
      if (only) patch();
      else draw();
    });
  };
  model.on("change:membership", () => schedule("membership"));
  for (const name of ["clusters", "rubrics", "weights", "row_counts", "missing",
                      "attached", "field", "unclustered_rows", "can_add_rubrics"]) {
    model.on(`change:${name}`, () => schedule("all"));
  }
  model.on("change:notice", () => {
    const seq = (model.get("notice") || {}).seq || 0;
    if (seq !== lastSeq) {
      lastSeq = seq;
      if (view) settle();
      el.querySelector(".rftkit-notice")?.replaceWith(noticeLine());
    }
  });
  draw();
  return () => el.replaceChildren();
}

export default { render };
