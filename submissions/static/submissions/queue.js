// The queue page: votes through the votes API with the session, and the lists kept current over
// /ws: a status change (submission.status) fetches the lists again as the server renders them,
// a vote (votes.updated) moves the model's score and its place in the pending list.
import { api, ApiError, subscribe } from "/static/site/site.js";

const lists = document.getElementById("queue-lists");
const announce = document.getElementById("queue-announce");
const liveState = document.getElementById("live-state");

function say(text) {
  announce.textContent = text;
}

function showError(text) {
  let box = document.getElementById("queue-error");
  if (!box) {
    box = document.createElement("p");
    box.id = "queue-error";
    box.className = "alert error";
    box.setAttribute("role", "alert");
    lists.before(box);
  }
  box.textContent = text;
}

function votesPath(model) {
  return "/api/votes/" + model.split("/").map(encodeURIComponent).join("/");
}

function rowsOf(model) {
  return [...document.querySelectorAll("#pending-table tbody tr")].filter((row) => row.dataset.model === model);
}

/** Pending rows in the queue's order: score, then submission time, then id; positions renumbered. */
function reorder() {
  const body = document.querySelector("#pending-table tbody");
  if (!body) return;
  const rows = [...body.rows].sort((a, b) =>
    Number(b.dataset.score) - Number(a.dataset.score)
    || a.dataset.time.localeCompare(b.dataset.time)
    || Number(a.dataset.id) - Number(b.dataset.id));
  rows.forEach((row, index) => {
    body.appendChild(row);
    row.querySelector(".position").textContent = String(index + 1);
  });
}

function showCounts(model, counts) {
  for (const row of rowsOf(model)) {
    const config = (counts.votes_by_config || {})[`${row.dataset.revision}:${row.dataset.precision}`] || { up: 0, down: 0 };
    const score = config.up - config.down;
    row.dataset.score = String(score);
    row.querySelector(".score").textContent = String(score);
  }
  reorder();
}

async function refreshCounts(model) {
  try {
    showCounts(model, await api(`/api/votes/model/${model.split("/").map(encodeURIComponent).join("/")}`));
  } catch (error) { /* the next event or reload tells */ }
}

let reloading = null;
async function reloadLists() {
  if (reloading) return reloading;
  reloading = (async () => {
    const response = await fetch("/queue?part=lists", { credentials: "same-origin", headers: { Accept: "text/html" } });
    if (response.ok) lists.innerHTML = await response.text();
  })().finally(() => { reloading = null; });
  return reloading;
}

async function vote(button) {
  const row = button.closest("tr");
  const model = row.dataset.model;
  const query = new URLSearchParams({ revision: row.dataset.revision, precision: row.dataset.precision });
  const withdraw = button.getAttribute("aria-pressed") === "true";
  const buttons = row.querySelectorAll("button.vote");
  buttons.forEach((b) => { b.disabled = true; });
  try {
    if (withdraw) {
      await api(`${votesPath(model)}?${query}`, { method: "DELETE" });
      await refreshCounts(model);
    } else {
      query.set("vote_type", button.dataset.vote);
      const answer = await api(`${votesPath(model)}?${query}`, { method: "POST", body: {} });
      showCounts(model, answer.counts);
    }
    buttons.forEach((b) => b.setAttribute("aria-pressed", String(!withdraw && b === button)));
    say(withdraw ? `Your vote on ${model} is withdrawn.` : `You voted ${button.dataset.vote} on ${model}.`);
  } catch (error) {
    showError(error instanceof ApiError ? `Your vote was not recorded: ${error.message}` : "Your vote was not recorded: the server did not answer.");
  } finally {
    buttons.forEach((b) => { b.disabled = false; });
  }
}

lists.addEventListener("click", (event) => {
  const button = event.target.closest("button.vote");
  if (button) vote(button);
});

let opened = false;
subscribe(["submission.status", "votes.updated"], (topic, data) => {
  if (topic === "submission.status") {
    say(`${data.model} is now ${String(data.status).toLowerCase()}.`);
    reloadLists();
  } else if (topic === "votes.updated" && rowsOf(data.model).length) {
    refreshCounts(data.model);
  }
}, {
  onState(state) {
    liveState.textContent = state === "open" ? "live" : "reconnecting…";
    if (state === "open" && opened) reloadLists();  // what changed while the socket was down
    if (state === "open") opened = true;
  },
});
