// The submit panel. Python checks everything (lint, ranges, cost drivers) and talks to the platform;
// this module draws the traits, writes `model` / `hyperparameters` / `suffix`, and sends
// {op: "validate" | "submit" | "confirm" | "back"}. Submit only asks; "confirm" creates the job.
// Text only via textContent.

function h(tag, attrs = {}, text = null) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else node.setAttribute(k, v);
  }
  if (text !== null && text !== undefined) node.textContent = String(text);
  return node;
}

function section(title, ...children) {
  const box = h("section", { class: "rftkit-section", "data-section": title });
  box.append(h("h4", {}, title), ...children);
  return box;
}

function render({ model, el }) {
  el.classList.add("rftkit-widget", "rftkit-submit");
  const head = h("div", { class: "rftkit-head" });
  const findings = h("div", { class: "rftkit-findings", "aria-live": "polite" });
  const grader = h("details", { class: "rftkit-grader-json" });
  const files = h("div");
  const settings = h("div", { class: "rftkit-settings" });
  const cost = h("ul", { class: "rftkit-cost" });
  const actions = h("div", { class: "rftkit-toolbar" });
  const notice = h("div", { class: "rftkit-notice", role: "status", "aria-live": "polite" });
  el.replaceChildren(head, section("grader", grader, findings), section("dataset", files),
                     section("settings", settings), section("cost drivers", cost), actions, notice);

  function send(op, extra = {}) {
    for (const b of actions.querySelectorAll("button")) b.disabled = true; // until Python answers
    model.send({ op, ...extra });
  }

  function drawHead() {
    const t = model.get("target") || {};
    head.replaceChildren(h("span", { class: "rftkit-title" }, `submit: ${model.get("grader_name")}`));
    if (t.error) head.append(h("span", { class: "rftkit-error" }, t.error));
    else head.append(h("span", { class: "rftkit-sub" }, `to ${t.name} (${t.layout}) at ${t.endpoint}`));
    const v = model.get("validation") || {};
    head.append(h("span", { class: `rftkit-status rftkit-validation-${(v.state || "").replace(" ", "-")}`,
                            "data-validation": v.state || "" }, `validation: ${v.state || "not run"}`));
  }

  function drawGrader() {
    grader.replaceChildren(h("summary", {}, "grader JSON (as sent; header values masked)"),
                           h("pre", {}, model.get("grader_json")));
  }

  function drawFindings() {
    const list = model.get("findings") || [];
    findings.replaceChildren();
    if (!list.length) findings.append(h("div", { class: "rftkit-ok" }, "no lint findings"));
    for (const f of list) {
      const row = h("div", { class: `rftkit-finding rftkit-level-${f.level}`, "data-level": f.level, "data-source": f.source });
      row.append(h("b", {}, f.level), " ", h("code", {}, f.where), " ", h("span", {}, f.message));
      findings.append(row);
    }
  }

  function drawFiles() {
    const table = h("table", { class: "rftkit-grid" });
    const tr = h("tr");
    for (const c of ["split", "file", "rows", "sha256"]) tr.append(h("th", {}, c));
    table.append(tr);
    for (const f of model.get("files") || []) {
      const row = h("tr", { "data-split": f.split });
      row.append(h("td", {}, f.split), h("td", { title: f.path }, f.error || f.name), h("td", {}, f.rows),
                 h("td", {}, (f.sha256 || "").slice(0, 12)));
      table.append(row);
    }
    files.replaceChildren(table);
  }

  function setHyper(name, raw) {
    const hyper = { ...(model.get("hyperparameters") || {}) };
    const text = String(raw).trim();
    if (text === "" || text === "default" && name === "reasoning_effort") delete hyper[name];
    else if (text === "auto" || name === "reasoning_effort" || Number.isNaN(Number(text))) hyper[name] = text;
    else hyper[name] = Number(text);
    model.set("hyperparameters", hyper);
    model.save_changes();
  }

  function drawSettings() {
    settings.replaceChildren();
    const grid = h("div", { class: "rftkit-form" });
    const listId = `rftkit-models-${Math.random().toString(36).slice(2)}`;
    const models = h("datalist", { id: listId });
    for (const m of model.get("models") || []) models.append(h("option", { value: m }));
    const modelInput = h("input", { class: "rftkit-input", "data-field": "model", list: listId, "aria-label": "base model" });
    modelInput.value = model.get("model");
    modelInput.addEventListener("change", () => { model.set("model", modelInput.value.trim()); model.save_changes(); });
    grid.append(h("label", {}, "model"), modelInput, h("span", { class: "rftkit-sub" }, "a base model the target trains"), models);
    const hyper = model.get("hyperparameters") || {};
    const bad = model.get("hyper_error") || {};
    for (const r of model.get("ranges") || []) {
      let input;
      if (r.kind === "choice") {
        input = h("select", { "aria-label": r.name });
        for (const c of r.choices) input.append(h("option", { value: c }, c));
        input.value = hyper[r.name] ?? "default";
      } else {
        input = h("input", { class: "rftkit-input", placeholder: "auto", "aria-label": r.name, size: "8" });
        input.value = hyper[r.name] ?? "";
      }
      input.dataset.hyper = r.name;
      if (bad.field === r.name) input.setAttribute("aria-invalid", "true");
      input.addEventListener("change", () => setHyper(r.name, input.value));
      grid.append(h("label", {}, r.name), input, h("span", { class: "rftkit-sub" }, r.text));
    }
    const suffix = h("input", { class: "rftkit-input", "data-field": "suffix", "aria-label": "suffix", maxlength: "64" });
    suffix.value = model.get("suffix");
    suffix.addEventListener("change", () => { model.set("suffix", suffix.value.trim()); model.save_changes(); });
    grid.append(h("label", {}, "suffix"), suffix, h("span", { class: "rftkit-sub" }, "optional, up to 64 characters"));
    settings.append(grid);
    if (bad.text) settings.append(h("div", { class: "rftkit-error", "data-hyper-error": bad.field }, bad.text));
  }

  function drawCost() {
    cost.replaceChildren(...(model.get("cost") || []).map((line) => h("li", {}, line)));
  }

  function drawActions() {
    actions.replaceChildren();
    const busy = model.get("busy");
    const stage = model.get("stage");
    const noTarget = Boolean((model.get("target") || {}).error);
    if (busy) actions.append(h("span", { class: "rftkit-sub rftkit-busy" }, busy));
    if (stage === "confirm") {
      const c = model.get("confirm") || {};
      const box = h("div", { class: "rftkit-confirm", role: "alertdialog", "aria-label": "confirm the submission" });
      box.append(h("b", {}, `Create an RFT job of ${c.model} on ${c.target} (${c.endpoint}) from ${c.train_rows} training and ${c.valid_rows} validation rows? Training is billed.`));
      const yes = h("button", { class: "rftkit-button rftkit-danger", "data-op": "confirm" }, "create the job");
      yes.addEventListener("click", () => send("confirm", { token: c.token }));
      const no = h("button", { class: "rftkit-button", "data-op": "back" }, "back");
      no.addEventListener("click", () => send("back"));
      box.append(" ", yes, " ", no);
      actions.append(box);
    } else {
      const validate = h("button", { class: "rftkit-button", "data-op": "validate" }, "validate");
      validate.addEventListener("click", () => send("validate"));
      const submit = h("button", { class: "rftkit-button", "data-op": "submit" }, stage === "submitted" ? "submit again…" : "submit…");
      submit.addEventListener("click", () => send("submit"));
      validate.disabled = submit.disabled = Boolean(busy) || noTarget;
      actions.append(validate, submit);
    }
    const job = model.get("job_info") || {};
    if (job.id) actions.append(h("span", { class: "rftkit-job", "data-job": job.id }, `job ${job.id}: ${job.status}`));
  }

  function drawNotice() {
    const n = model.get("notice") || {};
    notice.className = `rftkit-notice rftkit-${n.level || "info"}`;
    notice.dataset.seq = String(n.seq || 0);
    notice.textContent = n.text || "";
  }

  model.on("change:target", drawHead);
  model.on("change:validation", drawHead);
  model.on("change:grader_name", () => { drawHead(); });
  model.on("change:grader_json", drawGrader);
  model.on("change:findings", drawFindings);
  model.on("change:files", drawFiles);
  model.on("change:hyper_error", drawSettings);
  model.on("change:models", drawSettings);
  model.on("change:cost", drawCost);
  for (const name of ["stage", "busy", "confirm", "job_info"]) model.on(`change:${name}`, drawActions);
  model.on("change:notice", () => { drawNotice(); drawActions(); });
  drawHead(); drawGrader(); drawFindings(); drawFiles(); drawSettings(); drawCost(); drawActions(); drawNotice();
  return () => el.replaceChildren();
}

export default { render };
