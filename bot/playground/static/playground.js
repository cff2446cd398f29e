// The playground page: draws #general from the emulator and turns clicks into Slack
// actions (messages, reactions, uploads). No framework, no build step.
"use strict";

const API = "/playground/api/";
const EMOJI = {
  "+1": "👍", thumbsup: "👍", "-1": "👎", thumbsdown: "👎", white_check_mark: "✅",
  eyes: "👀", tada: "🎉", heart: "❤️", warning: "⚠️", x: "❌", mag: "🔍", bulb: "💡",
};
const COLOURS = ["#e01e5a", "#2eb67d", "#ecb22e", "#36c5f0", "#1264a3", "#e8912d", "#4a154b"];

const $ = (id) => document.getElementById(id);
let channel = null;   // the last /channel answer
let revision = null;

// -- drawing the channel ------------------------------------------------------------------

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function unescapeSlack(text) {
  return text.replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&amp;/g, "&");
}

function emojify(text) {
  return text.replace(/:([a-z0-9_+-]+):/g, (whole, name) => EMOJI[name] || whole);
}

function safeUrl(url) {
  return /^(https?:|mailto:)/i.test(url) ? url : null;
}

// Slack's <…> forms: <@U123>, <#C123|name>, <!here>, <url|label>, <url>.
function angle(inner) {
  const [target, label] = inner.split("|", 2);
  if (target.startsWith("@")) {
    const person = channel && channel.people[target.slice(1)];
    return el("span", { class: "mention" }, "@" + (person ? person.handle : target.slice(1)));
  }
  if (target.startsWith("#")) return el("span", { class: "mention" }, "#" + (label || target.slice(1)));
  if (target.startsWith("!")) return el("span", { class: "mention" }, "@" + (label || target.slice(1).split("^")[0]));
  const url = safeUrl(target);
  const text = unescapeSlack(label || target);
  return url ? el("a", { href: url, target: "_blank", rel: "noopener noreferrer" }, text) : text;
}

const INLINE = /(```[\s\S]*?```)|(`[^`\n]+`)|(<[^<>\n]+>)|(?<![\w*])\*([^*\n]+)\*(?![\w*])|(?<![\w_])_([^_\n]+)_(?![\w_])|(?<![\w~])~([^~\n]+)~(?![\w~])/g;

// A mrkdwn string as DOM nodes: never innerHTML, so message text can never inject markup.
function mrkdwn(text) {
  const out = [];
  let last = 0;
  for (const match of text.matchAll(INLINE)) {
    if (match.index > last) out.push(...plain(text.slice(last, match.index)));
    const [whole, pre, code, link, bold, italic, strike] = match;
    if (pre) out.push(el("pre", {}, unescapeSlack(pre.slice(3, -3))));
    else if (code) out.push(el("code", {}, unescapeSlack(code.slice(1, -1))));
    else if (link) out.push(angle(link.slice(1, -1)));
    else if (bold) out.push(el("strong", {}, mrkdwn(bold)));
    else if (italic) out.push(el("em", {}, mrkdwn(italic)));
    else if (strike) out.push(el("s", {}, mrkdwn(strike)));
    else out.push(whole);
    last = match.index + whole.length;
  }
  if (last < text.length) out.push(...plain(text.slice(last)));
  return out;
}

function plain(text) {
  const out = [];
  emojify(unescapeSlack(text)).split("\n").forEach((line, i) => {
    if (i) out.push(el("br"));
    if (line) out.push(line);
  });
  return out;
}

function textOf(obj) {
  if (!obj) return [];
  return obj.type === "mrkdwn" ? mrkdwn(obj.text || "") : plain(obj.text || "");
}

function renderBlocks(blocks) {
  return blocks.map((block) => {
    switch (block.type) {
      case "section":
        return el("div", { class: "block-section" }, textOf(block.text),
          (block.fields || []).map((field) => el("div", {}, textOf(field))));
      case "context":
        return el("div", { class: "block-context" },
          (block.elements || []).map((item) => item.type === "image"
            ? null : el("span", {}, textOf(item))));
      case "header":
        return el("div", { class: "block-header" }, textOf(block.text));
      case "divider":
        return el("hr", { class: "block-divider" });
      case "image":
        return safeUrl(block.image_url || "") ? el("img", { src: block.image_url, alt: block.alt_text || "" }) : null;
      default:
        return null;
    }
  });
}

function colourFor(id) {
  let hash = 0;
  for (const c of id || "") hash = (hash * 31 + c.charCodeAt(0)) >>> 0;
  return COLOURS[hash % COLOURS.length];
}

function clock(ts) {
  const date = new Date(parseFloat(ts) * 1000);
  return date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

function reactionButton(msg, reaction) {
  return el("button", {
    class: "reaction" + (reaction.mine ? " mine" : ""), type: "button",
    title: `${reaction.mine ? "Remove" : "Add"} :${reaction.name}:`,
    dataset: { testid: "reaction", reaction: reaction.name },
    onclick: () => react(msg.ts, reaction.name),
  }, EMOJI[reaction.name] || `:${reaction.name}:`, el("span", { class: "count" }, reaction.count));
}

function rateButtons(msg) {
  const mine = (name) => msg.reactions.some((r) => r.name === name && r.mine);
  const button = (name, face, label) => el("button", {
    class: "rate" + (mine(name) ? " mine" : ""), type: "button",
    title: `${mine(name) ? "Remove your" : "React with"} ${face}: ${label}`,
    dataset: { testid: name === "+1" ? "thumbs-up" : "thumbs-down" },
    onclick: () => react(msg.ts, name),
  }, face);
  return [button("+1", "👍", "a good answer"), button("-1", "👎", "not what I asked")];
}

function renderMessage(msg) {
  const person = channel.people[msg.user] || { name: msg.user || "someone", handle: msg.user };
  const isBot = msg.is_bot || person.is_bot;
  const content = msg.blocks.length ? renderBlocks(msg.blocks) : mrkdwn(msg.text);
  const counted = msg.reactions.filter((r) => !(msg.rateable && (r.name === "+1" || r.name === "-1")));
  const thumbs = msg.rateable
    ? rateButtons(msg).map((button) => {
      const reaction = msg.reactions.find((r) => r.name === button.dataset.testid.replace("thumbs-up", "+1").replace("thumbs-down", "-1"));
      if (reaction) button.append(" ", el("span", { class: "count" }, reaction.count));
      return button;
    })
    : [];
  return el("div", {
    class: "message" + (msg.ephemeral ? " ephemeral" : "") + (isBot ? " from-bot" : ""),
    dataset: { ts: msg.ts, testid: msg.rateable ? "answer" : "message" },
  },
  el("div", { class: "avatar", style: `background:${isBot ? "#4a154b" : colourFor(msg.user)}` },
    (person.name || "?").slice(0, 1).toUpperCase()),
  el("div", { class: "content" },
    msg.ephemeral ? el("div", { class: "only-you" }, "👁 Only visible to you") : null,
    el("div", { class: "meta" },
      el("span", { class: "author" }, isBot ? "Argot" : person.name),
      isBot ? el("span", { class: "badge" }, "APP") : null,
      el("span", { class: "time" }, clock(msg.ts))),
    el("div", { class: "body" }, content),
    msg.files.length ? el("div", { class: "files" }, msg.files.map((file) => file.url
      ? el("img", { src: file.url, alt: file.title, title: file.name, dataset: { testid: "file-image" } })
      : el("span", { class: "file-chip" }, "📄 " + file.name))) : null,
    thumbs.length || counted.length ? el("div", { class: "reactions" },
      thumbs, counted.map((r) => reactionButton(msg, r)),
      msg.rateable ? el("span", { class: "rate-label" }, "rate this answer") : null) : null));
}

function render(data) {
  const box = $("messages");
  const nearBottom = box.scrollHeight - box.scrollTop - box.clientHeight < 120;
  const nodes = data.messages.flatMap((msg) => {
    const parts = [renderMessage(msg)];
    if (msg.replies.length) {
      parts.push(el("div", { class: "thread", dataset: { testid: "thread", threadTs: msg.ts } },
        el("p", { class: "thread-count" },
          `${msg.replies.length} ${msg.replies.length === 1 ? "reply" : "replies"}`),
        msg.replies.map(renderMessage)));
    }
    return parts;
  });
  if (!nodes.length) {
    nodes.push(el("p", { class: "empty" },
      "This is the very beginning of #general. Ask @argot something — try one of the questions below."));
  }
  box.replaceChildren(...nodes);
  if (nearBottom || !box.dataset.drawn) box.scrollTop = box.scrollHeight;
  box.dataset.drawn = "1";
  $("team-name").textContent = data.team;
}

async function follow() {
  // Long-poll: the server answers at once the first time, then when #general changes.
  for (;;) {
    try {
      const query = revision === null ? "" : `?since=${revision}`;
      const response = await fetch(API + "channel" + query, { cache: "no-store" });
      if (!response.ok) throw new Error(`HTTP ${response.status}`);
      channel = await response.json();
      revision = channel.revision;
      render(channel);
      showProblem(null);
    } catch (error) {
      showProblem(`Lost touch with the playground (${error.message}); retrying…`);
      await new Promise((resolve) => setTimeout(resolve, 1500));
    }
  }
}

// -- acting ----------------------------------------------------------------------------

function showProblem(text) {
  const banner = $("banner");
  if (!text && banner.classList.contains("note")) return;  // a note stays until the next one
  banner.classList.remove("note");
  banner.hidden = !text;
  banner.textContent = text || "";
}

function showNote(text) {
  const banner = $("banner");
  banner.classList.add("note");
  banner.hidden = false;
  banner.textContent = text;
}

async function post(path, body, headers = { "Content-Type": "application/json" }) {
  try {
    const response = await fetch(API + path, { method: "POST", headers, body });
    const answer = await response.json().catch(() => ({}));
    if (!response.ok || answer.ok === false) throw new Error(answer.error || `HTTP ${response.status}`);
    showProblem(null);
    return answer;
  } catch (error) {
    showProblem(error.message);
    return null;
  }
}

function ask(text) {
  return post("ask", JSON.stringify({ text }));
}

function react(ts, name) {
  return post("react", JSON.stringify({ ts, name }));
}

async function upload(file) {
  const input = $("message-input");
  const query = new URLSearchParams({ name: file.name, text: input.value.trim() });
  const answer = await post("upload?" + query, file, { "Content-Type": file.type || "image/png" });
  if (answer) input.value = "";
  if (answer && answer.note) showNote(answer.note);
}

function setUpComposer() {
  const form = $("composer");
  const input = $("message-input");
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const text = input.value.trim();
    if (!text) return;
    input.value = "";
    const answer = await ask(text);
    if (!answer) input.value = text;
    input.focus();
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  for (const button of document.querySelectorAll(".suggestion")) {
    button.addEventListener("click", () => ask(button.textContent));
  }
  $("image-input").addEventListener("change", async (event) => {
    const [file] = event.target.files;
    if (file) await upload(file);
    event.target.value = "";
  });
  input.focus();
}

// -- learning ----------------------------------------------------------------------------

function pct(value) {
  return typeof value === "number" ? value.toFixed(3) : "–";
}

// Before/after scores on the questions the gate judged with: held-out ratings, or the
// gold questions (ARGOT_GOLD_QUERIES; the demo's own questions in `argot demo`).
function metricsTable(report) {
  const held = report.metrics || {};
  const judged = Object.keys(held.active || {}).length ? ["held-out", held] : ["gold", report.gold || {}];
  const [label, metrics] = judged;
  const active = metrics.active || {};
  const candidate = metrics.candidate || {};
  const rows = Object.keys(active).filter((name) => name !== "queries" && typeof active[name] === "number");
  if (!rows.length) return null;
  return el("table", { dataset: { testid: "metrics" } },
    el("thead", {}, el("tr", {},
      el("th", {}, `${label} (${active.queries ?? "?"} questions)`), el("th", { class: "num" }, "before"),
      el("th", { class: "num" }, "after"))),
    el("tbody", {}, rows.map((name) => el("tr", {},
      el("th", {}, name),
      el("td", { class: "num" }, pct(active[name])),
      el("td", { class: "num" + (candidate[name] > active[name] ? " better" : "") }, pct(candidate[name]))))));
}

function renderLearning(state) {
  const status = $("learning-status");
  status.className = "learning-status " + state.state;
  status.textContent = state.message || "";
  const button = $("learn-now");
  button.disabled = state.state === "running";
  button.textContent = state.state === "running" ? "Learning…" : "Learn now";
  const report = state.report;
  const box = $("learning-report");
  box.replaceChildren();
  if (report) {
    box.append(
      el("p", {}, el("span", { class: `decision ${report.decision}`, dataset: { testid: "decision" } }, report.decision),
        report.reason || ""),
      el("table", {}, el("tbody", {},
        el("tr", {}, el("th", {}, "active model"), el("td", {}, report.active_version || "–")),
        el("tr", {}, el("th", {}, "candidate"), el("td", {}, report.candidate_version || "–")),
        el("tr", {}, el("th", {}, "training pairs"), el("td", { class: "num" }, report.pairs ?? 0)),
        el("tr", {}, el("th", {}, "hard negatives"), el("td", { class: "num" }, report.hard_negatives ?? 0)),
        report.seconds !== undefined ? el("tr", {}, el("th", {}, "took"), el("td", { class: "num" }, `${report.seconds} s`)) : null)),
      metricsTable(report) || "");
  }
  const figure = $("star-map");
  figure.hidden = !state.star_map;
  if (state.star_map && $("star-map-img").getAttribute("src") !== state.star_map) {
    $("star-map-img").setAttribute("src", state.star_map);
  }
}

// A background job's state (learn, team): fetched, drawn, and followed while it runs.
async function followJob(name, render, start = false) {
  const response = await fetch(API + name, start
    ? { method: "POST", headers: { "Content-Type": "application/json" }, body: "{}" }
    : { cache: "no-store" });
  const state = await response.json();
  render(state);
  if (state.state === "running") setTimeout(() => followJob(name, render).catch(() => {}), 1000);
}

function refreshLearning() {
  return followJob("learn", renderLearning);
}

function setUpLearning() {
  $("learn-now").addEventListener("click", () => followJob("learn", renderLearning, true));
  $("star-map").addEventListener("click", () => $("star-map").classList.toggle("zoomed"));
  refreshLearning().catch(() => {});
}

// -- let the team rate --------------------------------------------------------------------

function teamScores(state) {
  const before = state.before || {};
  const after = state.after || {};
  if (before["mrr@10"] === undefined) return null;
  const row = (name, key) => el("tr", {}, el("th", {}, name),
    el("td", { class: "num" }, pct(before[key])),
    el("td", { class: "num" + (after[key] > before[key] ? " better" : "") }, pct(after[key])));
  return el("table", { dataset: { testid: "team-scores" } },
    el("thead", {}, el("tr", {}, el("th", {}, `held-out slang (${before.questions} questions)`),
      el("th", { class: "num" }, `before (${before.version})`),
      el("th", { class: "num" }, after.version ? `after (${after.version})` : "after"))),
    el("tbody", {}, row("MRR@10", "mrr@10"), row("best match right", "recall@1")));
}

function teamExamples(state) {
  if (!state.examples || !state.examples.length) return null;
  const side = (found) => el("td", { class: found.right ? "better" : "wrong" },
    `${found.right ? "✓" : "✗"} ${found.title}`);
  return el("table", { dataset: { testid: "team-examples" } },
    el("thead", {}, el("tr", {}, el("th", {}, "question"), el("th", {}, "best match before"),
      el("th", {}, "after"))),
    el("tbody", {}, state.examples.map((e) => el("tr", {},
      el("td", { class: "example-question", title: e.plain ? `in plain words: ${e.plain}` : "" }, e.question),
      side(e.before), side(e.after)))));
}

function renderTeam(state) {
  const status = $("team-status");
  status.className = "learning-status " + state.state;
  status.textContent = state.message || "";
  const button = $("team-rates");
  const finished = state.next_round === null && state.state !== "running";
  button.disabled = state.state === "running" || finished;
  button.textContent = state.state === "running" ? `Round ${state.round} of ${state.rounds}: the team is at it…`
    : finished ? `The team has asked all ${state.rounds} rounds`
    : state.next_round > 1 ? `Let the team rate: round ${state.next_round} of ${state.rounds}`
    : "Let the team rate";
  const box = $("team-report");
  box.replaceChildren();
  const outcomes = state.outcomes;
  if (outcomes) {
    box.append(el("p", {}, `Rated so far: ${outcomes.best} 👍 on the best match, ${outcomes.alternative} `
      + `👍 on an alternative, ${outcomes.replied} right pages replied, ${outcomes.none} with nothing right shown.`));
  }
  if (state.decision) {
    box.append(el("p", {}, el("span", { class: `decision ${state.decision}` }, state.decision),
      state.learnt && state.learnt.length ? `learnt: ${state.learnt.slice(0, 5).join("; ")}` : ""));
  }
  if (state.not_kept && state.not_kept.length) {
    box.append(el("p", { class: "not-kept" }, `Glossary learnt but not kept (answers were no better with it): `
      + state.not_kept.slice(0, 5).join("; ") + (state.not_kept.length > 5 ? "; …" : "")));
  }
  box.append(teamScores(state) || "", teamExamples(state) || "");
  // The learning panel below follows the cycle the step starts (once per step).
  if (state.phase === "learning" && teamLearningRun !== state.run) {
    teamLearningRun = state.run;
    refreshLearning().catch(() => {});
  }
}

let teamLearningRun = null;

function setUpTeam() {
  $("team-rates").addEventListener("click", () => followJob("team", renderTeam, true));
  followJob("team", renderTeam).catch(() => {});
}

$("banner").addEventListener("click", () => { $("banner").hidden = true; $("banner").classList.remove("note"); });
setUpComposer();
setUpLearning();
setUpTeam();
follow();
