// The account page's lists, read from the APIs with the session: votes (GraphQL myVotes),
// submissions (the queue's status lists), completions and evaluations (/v1).
import { api, escapeHtml, fixed } from "./site.js";

const username = document.getElementById("account-script").dataset.username;

function table(rows, columns, empty) {
  if (!rows.length) return `<p class="muted">${empty}</p>`;
  const head = columns.map(([title]) => `<th scope="col">${title}</th>`).join("");
  const body = rows.map((row) => `<tr>${columns.map(([, cell]) => `<td>${cell(row)}</td>`).join("")}</tr>`).join("");
  return `<div class="table-wrap"><table><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table></div>`;
}

function modelLink(name) {
  return `<a href="/models/${name.split("/").map(encodeURIComponent).join("/")}">${escapeHtml(name)}</a>`;
}

async function fill(id, load) {
  const box = document.getElementById(id);
  try {
    box.innerHTML = await load();
  } catch (error) {
    box.innerHTML = `<p class="alert error">Could not load this list: ${escapeHtml(error.message)}</p>`;
  }
}

fill("my-votes", async () => {
  const query = "{ myVotes { modelId voteType precision timestamp } }";
  const answer = await api("/graphql", { method: "POST", body: { query } });
  return table(answer.data.myVotes || [], [
    ["Model", (v) => modelLink(v.modelId)],
    ["Vote", (v) => (v.voteType === "up" ? "▲ up" : "▼ down")],
    ["Precision", (v) => escapeHtml(v.precision)],
    ["When", (v) => escapeHtml(v.timestamp.slice(0, 16).replace("T", " "))],
  ], "No votes yet. Vote on the <a href=\"/queue\">queue</a>.");
});

fill("my-submissions", async () => {
  const lists = await api("/api/models/status");
  const mine = Object.values(lists).flat().filter((r) => r.submitter === username);
  return table(mine, [
    ["Model", (r) => modelLink(r.name)],
    ["Precision", (r) => escapeHtml(r.precision)],
    ["Status", (r) => `<span class="badge status-${escapeHtml(r.status)}">${escapeHtml(r.status)}</span>`],
    ["Submitted", (r) => escapeHtml((r.submission_time || "").slice(0, 16).replace("T", " "))],
    ["Reason", (r) => escapeHtml(r.reason || "")],
  ], "No submissions yet. <a href=\"/submit\">Submit a model</a>.");
});

fill("my-completions", async () => {
  const page = await api("/v1/completions?page_size=20");
  return table(page.items || [], [
    ["Provider", (c) => escapeHtml(c.provider)],
    ["Model", (c) => escapeHtml(c.model)],
    ["Text", (c) => escapeHtml((c.text || "").slice(0, 80))],
    ["Cost (USD)", (c) => fixed(c.cost, 6)],
    ["When", (c) => escapeHtml((c.created_at || "").slice(0, 16).replace("T", " "))],
  ], "No completions yet.");
});

fill("my-evaluations", async () => {
  const page = await api("/v1/evaluations?page_size=20");
  return table(page.items || [], [
    ["Id", (e) => `<code>${escapeHtml(String(e.id || e.evaluation_id).slice(0, 8))}</code>`],
    ["Metrics", (e) => escapeHtml(Object.keys(e.results || e.metrics || {}).join(", "))],
    ["When", (e) => escapeHtml((e.created_at || "").slice(0, 16).replace("T", " "))],
  ], "No evaluations yet.");
});

for (const button of document.querySelectorAll("[data-copy]")) {
  button.addEventListener("click", async () => {
    const text = document.getElementById(button.dataset.copy).textContent;
    try {
      await navigator.clipboard.writeText(text);
      button.textContent = "Copied";
    } catch (e) {
      const range = document.createRange();
      range.selectNodeContents(document.getElementById(button.dataset.copy));
      getSelection().removeAllRanges();
      getSelection().addRange(range);
      button.textContent = "Selected: press Ctrl+C";
    }
  });
}
