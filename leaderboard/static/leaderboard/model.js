// A model page's vote buttons: cast, change or withdraw through the API, with the session.

import { api } from "/static/site/site.js";

const box = document.getElementById("votes");
const path = `/api/votes/${box.dataset.model.split("/").map(encodeURIComponent).join("/")}`;
const message = document.getElementById("vote-message");
const withdraw = box.querySelector("[data-withdraw]");

function show(counts, mine) {
  document.getElementById("up-votes").textContent = counts.up_votes;
  document.getElementById("down-votes").textContent = counts.down_votes;
  document.getElementById("vote-score").textContent = counts.score;
  for (const button of box.querySelectorAll("[data-vote]")) {
    button.setAttribute("aria-pressed", String(button.dataset.vote === mine));
  }
  withdraw.hidden = !mine;
  message.textContent = mine ? `You voted ${mine}.` : "Your vote is withdrawn.";
}

async function act(call) {
  for (const button of box.querySelectorAll("button")) button.disabled = true;
  try {
    await call();
  } catch (error) {
    message.textContent = error.message;
  } finally {
    for (const button of box.querySelectorAll("button")) button.disabled = false;
  }
}

box.addEventListener("click", (event) => {
  const button = event.target.closest("button");
  if (!button) return;
  if (button.dataset.vote) {
    act(async () => {
      const answer = await api(path, { method: "POST", body: { vote_type: button.dataset.vote } });
      show(answer.counts, answer.vote.vote_type);
    });
  } else if (button.dataset.withdraw !== undefined) {
    act(async () => {
      await api(path, { method: "DELETE", body: {} });
      show(await api(path), null);
    });
  }
});
