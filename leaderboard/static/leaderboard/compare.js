// The comparison's "add a model" box: suggestions from GET /api/v1/models/?search= as you type;
// picking one opens the comparison with it added (the URL holds the models).

import { api, escapeHtml } from "/static/site/site.js";

const form = document.getElementById("compare-add");
const input = document.getElementById("add-model");
const list = document.getElementById("suggestions");
const chosen = form.elements.models.value.split(",").filter(Boolean);
let pending = null;
let asked = "";

function open(name) {
  const models = [...chosen.filter((n) => n !== name), name].join(",");
  location.assign(`${form.action}?models=${encodeURIComponent(models).replace(/%2C/g, ",").replace(/%2F/g, "/")}`);
}

async function suggest() {
  const text = input.value.trim();
  asked = text;
  if (!text) { list.innerHTML = ""; return; }
  try {
    const body = await api(`/api/v1/models/?${new URLSearchParams({ search: text, page_size: "10" })}`);
    if (asked !== text) return; // a later keystroke asked again
    const names = [...new Set(body.items.map((item) => item.model.name))].filter((n) => !chosen.includes(n));
    list.innerHTML = names.map((n) => `<li><button type="button" data-name="${escapeHtml(n)}">${escapeHtml(n)}</button></li>`).join("");
  } catch (error) {
    list.innerHTML = `<li role="alert">${escapeHtml(error.message)}</li>`;
  }
}

input.addEventListener("input", () => {
  clearTimeout(pending);
  pending = setTimeout(suggest, 150);
});
input.addEventListener("keydown", (event) => {
  if (event.key === "ArrowDown" && list.querySelector("button")) {
    event.preventDefault();
    list.querySelector("button").focus();
  }
});
list.addEventListener("click", (event) => {
  const button = event.target.closest("button[data-name]");
  if (button) open(button.dataset.name);
});
form.addEventListener("submit", (event) => {
  const first = list.querySelector("button[data-name]");
  if (first) { // Enter picks the first suggestion
    event.preventDefault();
    open(first.dataset.name);
  }
});
