// A run's page: its progress bar follows benchmark.progress over /ws (an owned topic: the
// session's own runs); when the run ends, its state (status, results, charts) is fetched again
// as the server renders it.
import { subscribe } from "/static/site/site.js";

const state = document.getElementById("run-state");
const id = state.dataset.id;

function show(data) {
  const percent = Math.round(Number(data.progress) * 100);
  const bar = document.getElementById("run-progress");
  bar.value = percent;
  bar.textContent = `${percent} %`;
  document.getElementById("run-percent").textContent = `${percent} %`;
  document.getElementById("run-done").textContent = String(data.items_done);
  const status = document.getElementById("run-status");
  status.textContent = data.status;
  status.className = `badge status-${data.status}`;
}

let socket = null;

async function reload() {
  const response = await fetch(`${location.pathname}?part=state`, { credentials: "same-origin" });
  if (!response.ok) return;
  state.innerHTML = await response.text();
  const ended = !state.querySelector("form[action$='/cancel']");
  state.dataset.ended = String(ended);
  if (ended && socket) socket.close();
}

const FINAL = new Set(["completed", "failed", "cancelled", "stopped"]);
const QUIET_MS = 10000;  // without an event for this long, the page asks (a missed event)
if (state.dataset.ended !== "true") {
  let heard = Date.now();
  socket = subscribe(["benchmark.progress"], (topic, data) => {
    if (data.benchmark_id !== id) return;
    heard = Date.now();
    show(data);
    if (FINAL.has(data.status)) reload();
  }, {
    onState(s) {
      const live = document.getElementById("live-state");
      const ended = state.dataset.ended === "true";
      if (live) live.textContent = ended ? "" : s === "open" ? "live" : "reconnecting…";
      // What happened before the subscription, or while the socket was down.
      if (s === "open") reload();
    },
  });
  const timer = setInterval(() => {
    if (state.dataset.ended === "true") clearInterval(timer);
    else if (Date.now() - heard > QUIET_MS) {
      heard = Date.now();
      reload();
    }
  }, 1000);
}
