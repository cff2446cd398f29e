// Slack surfaces beyond messages, on the playground page: "Save to Argot" on each
// person's message, a reply box under each thread, and the Home tab with its
// "Answer it" modal. Uses el(), renderBlocks(), post() and showProblem() from
// playground.js; the page redraws messages on every change, so the extra controls are
// added again whenever #messages changes.
"use strict";

function saveButton(ts) {
  return el("button", {
    type: "button", class: "save-to-argot", title: "Save to Argot: this message and its thread become a document",
    dataset: { testid: "save-to-argot" },
    onclick: (event) => { event.stopPropagation(); post("save", JSON.stringify({ ts })); },
  }, "⋮ Save to Argot");
}

function replyBox(threadTs) {
  const input = el("input", { type: "text", class: "thread-reply-input", dataset: { testid: "thread-reply" },
    placeholder: "Reply in thread (e.g. the right page's link or id)…" });
  const form = el("form", { class: "thread-reply", dataset: { threadTs } }, input);
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    post("ask", JSON.stringify({ text, thread_ts: threadTs }));
  });
  return form;
}

function decorate() {
  const box = $("messages");
  for (const node of box.querySelectorAll(".message")) {
    if (node.classList.contains("from-bot") || node.classList.contains("ephemeral")) continue;
    if (node.querySelector(".save-to-argot") || !node.dataset.ts) continue;
    const meta = node.querySelector(".meta");
    if (meta) meta.append(saveButton(node.dataset.ts));
  }
  for (const thread of box.querySelectorAll(".thread")) {
    if (!thread.querySelector(".thread-reply")) thread.append(replyBox(thread.dataset.threadTs));
  }
}

// -- the Home tab -----------------------------------------------------------------------

function homeBlocks(blocks) {
  return blocks.map((block) => {
    const drawn = renderBlocks([block])[0];
    const button = block.accessory && block.accessory.type === "button" ? block.accessory : null;
    if (!button || !drawn) return drawn;
    return el("div", { class: "home-row" }, drawn,
      el("button", { type: "button", class: "home-button", dataset: { testid: "answer-gap" },
        onclick: () => openAnswerForm(button.value) }, button.text.text));
  });
}

async function showHome() {
  const panel = $("home-panel");
  panel.hidden = false;
  $("home-nav").classList.add("active");
  document.querySelector(".nav-item[aria-current]").classList.remove("active");
  panel.replaceChildren(el("p", { class: "empty" }, "Opening the Home tab…"));
  try {
    const response = await fetch(API + "home", { cache: "no-store" });
    const answer = await response.json();
    if (!response.ok || !answer.ok) throw new Error(answer.error || `HTTP ${response.status}`);
    panel.replaceChildren(
      el("div", { class: "home-top" },
        el("h2", {}, "Argot · Home"),
        el("button", { type: "button", class: "home-close", onclick: hideHome }, "Back to #general")),
      ...homeBlocks(answer.view.blocks));
  } catch (error) {
    panel.replaceChildren(el("p", { class: "empty" }, `The Home tab did not open: ${error.message}`));
  }
}

function hideHome() {
  $("home-panel").hidden = true;
  $("home-nav").classList.remove("active");
  document.querySelector(".nav-item[aria-current]").classList.add("active");
}

async function openAnswerForm(queryId) {
  const answer = await post("home/answer", JSON.stringify({ query_id: queryId }));
  if (!answer) return;
  const view = answer.view;
  const definition = el("textarea", { rows: 4, dataset: { testid: "gap-definition" } });
  const link = el("input", { type: "text", dataset: { testid: "gap-link" }, placeholder: "https://… or a page id" });
  const problem = el("p", { class: "modal-problem", dataset: { testid: "modal-problem" } });
  const dialog = el("dialog", { class: "modal", dataset: { testid: "modal" } },
    el("h3", {}, view.title.text), ...renderBlocks(view.blocks.slice(0, 1)),
    el("label", {}, "The answer", definition),
    el("label", {}, "…or the link (or id) of the right page", link), problem,
    el("div", { class: "modal-buttons" },
      el("button", { type: "button", onclick: () => dialog.close() }, "Cancel"),
      el("button", { type: "button", class: "send", onclick: async () => {
        const response = await fetch(API + "modal", { method: "POST", headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ view_id: view.id, definition: definition.value, link: link.value }) });
        const result = await response.json().catch(() => ({}));
        if (result.ok) { dialog.close(); dialog.remove(); showHome(); }
        else problem.textContent = result.error || "That answer cannot be used.";
      } }, "Save answer")));
  document.body.append(dialog);
  dialog.showModal();
}

function setUpSurfaces() {
  const apps = [...document.querySelectorAll(".section-title")].find((n) => n.textContent === "Apps");
  const nav = el("div", { class: "nav-item", id: "home-nav", role: "button", tabindex: "0",
    dataset: { testid: "home-tab" }, onclick: showHome }, "🏠 Argot Home");
  if (apps) apps.after(nav);
  const panel = el("section", { id: "home-panel", class: "home-panel", hidden: true,
    dataset: { testid: "home" }, "aria-label": "Argot Home" });
  document.querySelector("main.channel").prepend(panel);
  new MutationObserver(decorate).observe($("messages"), { childList: true, subtree: true });
  decorate();
}

setUpSurfaces();
