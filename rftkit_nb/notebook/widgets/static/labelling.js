// The labelling widget: one row at a time, score by click or number key, skip/back, progress.
// Every piece of data goes into the page with textContent, never parsed as markup. A score writes the
// `labels` trait (Python saves it, or puts it back and says why in `notice`) and moves to the next row.
// Keys: 1-9 and 0 pick the first ten scores, ArrowRight/s skip, ArrowLeft/b back, Delete/x clear.

function h(tag, attrs = {}, text = null) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else node.setAttribute(k, v);
  }
  if (text !== null) node.textContent = String(text);
  return node;
}

function fmt(x) {
  return Number.isInteger(x) ? String(x) : String(Math.round(x * 1000) / 1000);
}

function render({ model, el }) {
  el.classList.add("rftkit-widget", "rftkit-labelling");
  el.tabIndex = 0;

  const go = (delta) => {
    const n = model.get("rows").length;
    const next = Math.max(0, Math.min(n - 1, model.get("index") + delta));
    model.set("index", next);
    model.save_changes();
  };
  const label = (value) => {
    const row = model.get("rows")[model.get("index")];
    if (!row) return;
    const labels = { ...model.get("labels") };
    if (value === null) delete labels[row.key];
    else labels[row.key] = value;
    model.set("labels", labels);
    if (value !== null) model.set("index", Math.min(model.get("rows").length - 1, model.get("index") + 1));
    model.save_changes();
  };

  const draw = () => {
    el.replaceChildren();
    const rows = model.get("rows");
    const index = model.get("index");
    const labels = model.get("labels");
    const row = rows[index];
    const done = Object.keys(labels).length;

    const head = h("div", { class: "rftkit-label-head" });
    head.append(h("b", {}, model.get("rubric")), h("span", { class: "rftkit-label-progress" },
      `row ${rows.length ? index + 1 : 0} of ${rows.length} · ${done} labelled`));
    const bar = h("progress", { max: String(rows.length || 1), value: String(done) });
    el.append(head, bar);
    if (model.get("rubric_text")) el.append(h("div", { class: "rftkit-label-rubric" }, model.get("rubric_text")));
    if (!row) {
      el.append(h("div", {}, "no rows to label"));
      return;
    }
    const fields = h("dl", { class: "rftkit-label-fields" });
    for (const [name, text] of row.fields) fields.append(h("dt", {}, name), h("dd", {}, text));
    el.append(fields, h("div", { class: "rftkit-label-caption" }, "output"));
    el.append(h("pre", { class: "rftkit-label-output" }, row.output));

    const buttons = h("div", { class: "rftkit-label-choices", role: "group", "aria-label": "score" });
    model.get("choices").forEach((value, i) => {
      const chosen = labels[row.key] === value;
      const b = h("button", { class: chosen ? "rftkit-chosen" : "", "aria-pressed": String(chosen),
        title: i < 10 ? `key ${(i + 1) % 10}` : "" }, fmt(value));
      b.addEventListener("click", () => label(value));
      buttons.append(b);
    });
    const nav = h("div", { class: "rftkit-label-nav" });
    const back = h("button", {}, "← back");
    const skip = h("button", {}, "skip →");
    const clear = h("button", {}, "clear");
    back.addEventListener("click", () => go(-1));
    skip.addEventListener("click", () => go(1));
    clear.addEventListener("click", () => label(null));
    nav.append(back, skip, clear);
    el.append(buttons, nav);
    if (model.get("notice")) el.append(h("div", { class: "rftkit-label-notice" }, model.get("notice")));
  };

  const onKey = (e) => {
    if (e.target instanceof HTMLInputElement || e.target instanceof HTMLTextAreaElement) return;
    const choices = model.get("choices");
    if (/^[0-9]$/.test(e.key)) {
      const i = e.key === "0" ? 9 : Number(e.key) - 1;
      if (i < choices.length) label(choices[i]);
    } else if (e.key === "ArrowRight" || e.key === "s") go(1);
    else if (e.key === "ArrowLeft" || e.key === "b") go(-1);
    else if (e.key === "Delete" || e.key === "x") label(null);
    else return;
    e.preventDefault();
    e.stopPropagation(); // keep Jupyter's own shortcuts out of it while the widget has focus
  };
  el.addEventListener("keydown", onKey);
  for (const name of ["rows", "index", "labels", "choices", "notice", "rubric", "rubric_text"]) {
    model.on(`change:${name}`, draw);
  }
  draw();
  return () => el.removeEventListener("keydown", onKey);
}

export default { render };
