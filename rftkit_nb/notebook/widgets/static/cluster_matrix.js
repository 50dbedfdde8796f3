// The cluster x rubric matrix. Every piece of data goes into the page with textContent, never parsed as markup.
// Toggles write the `membership` trait (Python validates and may put it back); structural edits send
// {op, args} messages. Keyboard: arrows move, Space toggles, Home/End jump, Tab leaves the grid.

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

  function toggle(cluster, rubric) {
    const membership = structuredClone(model.get("membership"));
    const members = membership[cluster] || [];
    membership[cluster] = members.includes(rubric)
      ? members.filter((r) => r !== rubric)
      : [...members, rubric];
    model.set("membership", membership);
    model.save_changes();
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
      const th = h("th", { role: "columnheader", class: colTotals[j] ? "" : "rftkit-warn",
                           "data-rubric": r });
      const label = h("span", { class: "rftkit-name" }, r);
      th.append(label);
      if (r in weights) th.append(h("span", { class: "rftkit-weight" }, `×${weights[r]}`));
      const tools = headerButtons("rubric", r);
      tools.rename.addEventListener("click", () => editName(label, r, (v) => send("rename_rubric", r, v)));
      tools.remove.addEventListener("click", () => send("remove_rubric", r));
      th.append(tools.box);
      if (!colTotals[j]) th.title = "in no cluster: this rubric counts for no row";
      hrow.append(th);
    });
    hrow.append(h("th", { role: "columnheader", class: "rftkit-num" }, "total"));
    thead.append(hrow);
    table.append(thead);

    const tbody = h("tbody");
    clusters.forEach((c, i) => {
      const tr = h("tr", { role: "row", "data-cluster": c });
      const total = sets[c].size;
      const th = h("th", { role: "rowheader", class: total ? "" : "rftkit-warn" });
      const label = h("span", { class: "rftkit-name" }, c);
      th.append(label);
      if (!total) th.title = "no rubric: rows of this cluster are graded without any rubric";
      const tools = headerButtons("cluster", c);
      tools.rename.addEventListener("click", () => editName(label, c, (v) => send("rename_cluster", c, v)));
      tools.remove.addEventListener("click", () => send("remove_cluster", c));
      th.append(tools.box);
      tr.append(th);
      if (attached) tr.append(h("td", { role: "gridcell", class: "rftkit-num", "aria-readonly": "true" },
                                counts[c] ?? 0));
      rubrics.forEach((r, j) => {
        const on = sets[c].has(r);
        const td = h("td", {
          role: "gridcell", class: `rftkit-cell${on ? " rftkit-on" : ""}`,
          tabindex: i === focus.row && j === focus.col ? "0" : "-1",
          "aria-checked": String(on), "aria-label": `${c} × ${r}: ${on ? "counts" : "does not count"}`,
          "data-row": String(i), "data-col": String(j),
        }, on ? "✓" : "");
        tr.append(td);
      });
      tr.append(h("td", { class: "rftkit-num", role: "gridcell", "aria-readonly": "true" }, total));
      tbody.append(tr);
    });
    const frow = h("tr", { role: "row", class: "rftkit-totals" });
    frow.append(h("th", { role: "rowheader" }, "clusters"));
    if (attached) frow.append(h("td", { role: "gridcell", class: "rftkit-num" },
                                Object.values(counts).reduce((a, b) => a + b, 0)));
    colTotals.forEach((n) => frow.append(h("td", { role: "gridcell", class: "rftkit-num" }, n)));
    frow.append(h("td", { role: "gridcell" }, ""));
    tbody.append(frow);
    table.append(tbody);
    const wrap = h("div", { class: "rftkit-scroll" });
    wrap.append(table);
    el.append(wrap);

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

  function cellAt(row, col) {
    return el.querySelector(`td[data-row="${row}"][data-col="${col}"]`);
  }

  function focusCell() {
    const cell = cellAt(focus.row, focus.col);
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

  let pending = false;
  const redraw = () => {
    // One redraw per message from Python, however many traits it changed.
    if (pending) return;
    pending = true;
    queueMicrotask(() => { pending = false; draw(); });
  };
  for (const name of ["clusters", "rubrics", "membership", "weights", "row_counts", "missing",
                      "attached", "field", "unclustered_rows", "can_add_rubrics"]) {
    model.on(`change:${name}`, redraw);
  }
  model.on("change:notice", () => {
    const seq = (model.get("notice") || {}).seq || 0;
    if (seq !== lastSeq) {
      lastSeq = seq;
      el.querySelector(".rftkit-notice")?.replaceWith(noticeLine());
    }
  });
  draw();
  return () => el.replaceChildren();
}

export default { render };
