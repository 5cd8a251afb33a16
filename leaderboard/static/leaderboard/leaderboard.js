// The leaderboard page: takes over the server-rendered first rows. Up to config.total <= 20,000
// entries it loads the snapshot's formatted list once (the browser revalidates it with its
// ETag) and filters, sorts and draws in the browser on each keystroke; above, it pages through
// GET /api/v1/models/ with the same parameters. Every state lives in the URL.

import { api, escapeHtml, fixed } from "/static/site/site.js";
import { matcher } from "./search.js";

const config = JSON.parse(document.getElementById("board-config").textContent);
const form = document.getElementById("controls");
const table = document.getElementById("board");
const tbody = document.getElementById("rows");
const more = document.getElementById("more");
const shownText = document.getElementById("shown");
const pinnedText = document.getElementById("pinned-count");
const searchBox = document.getElementById("search");

const STEP = 50; // rows drawn at once (two screens); "Show more" adds as many
const BENCH = config.benchmarks.map(([key]) => key);
const FLAGS = ["hide_merged", "hide_moe", "hide_flagged", "hide_unavailable", "official_only"];
const COLUMN_KEYS = new Set(config.columns.map((c) => c.key));
const MEDALS = { 1: "🥇", 2: "🥈", 3: "🥉" };
const SORT_KEYS = {
  average: "average", co2_cost: "co2", params: "params", hearts: "hearts",
  submission_date: "submitted", upload_date: "uploaded", name: "name",
  ...Object.fromEntries(BENCH.map((key, i) => [key, (row) => row.norm[i]])),
};

// --- the state and the URL ------------------------------------------------------------------

function readState(query) {
  const p = new URLSearchParams(query);
  const state = {
    search: p.get("search") || "",
    precision: p.getAll("precision"),
    type: p.getAll("type"),
    pin: p.getAll("pin"),
    params_min: p.get("params_min") || "",
    params_max: p.get("params_max") || "",
    size: config.sizes[p.get("size")] ? p.get("size") : "",
    ordering: p.get("ordering") || "-average",
    cols: p.has("cols") ? p.get("cols").split(",").filter((k) => COLUMN_KEYS.has(k)) : [...config.defaultColumns],
    raw: p.get("scores") === "raw",
  };
  for (const flag of FLAGS) state[flag] = p.get(flag) === "true";
  return state;
}

/** The filters as GET /api/v1/models/ parameters (the server's api_query does the same). */
function apiParams(state) {
  const p = new URLSearchParams();
  if (state.search) p.set("search", state.search);
  for (const value of state.precision) p.append("precision", value);
  for (const value of state.type) p.append("type", value);
  const size = config.sizes[state.size];
  let min = state.params_min;
  if (size) min = min === "" ? String(size.min) : String(Math.max(size.min, Number(min)));
  if (min !== "") p.set("params_min", min);
  if (state.params_max !== "") p.set("params_max", state.params_max);
  if (size) p.set("params_below", String(size.max));
  for (const flag of FLAGS) if (state[flag]) p.set(flag, "true");
  if (state.ordering !== "-average") p.set("ordering", state.ordering);
  return p;
}

function pageQuery(state) {
  const p = new URLSearchParams();
  if (state.search) p.set("search", state.search);
  if (state.size) p.set("size", state.size);
  for (const value of state.precision) p.append("precision", value);
  for (const value of state.type) p.append("type", value);
  if (state.params_min !== "") p.set("params_min", state.params_min);
  if (state.params_max !== "") p.set("params_max", state.params_max);
  for (const flag of FLAGS) if (state[flag]) p.set(flag, "true");
  if (state.ordering !== "-average") p.set("ordering", state.ordering);
  if (state.cols.join(",") !== config.defaultColumns.join(",")) p.set("cols", state.cols.join(","));
  if (state.raw) p.set("scores", "raw");
  for (const id of state.pin) p.append("pin", id);
  return p.toString();
}

let state = readState(location.search);

function nextOrdering(order) {
  const first = order === "name" ? order : `-${order}`; // names A to Z, numbers best first
  const flipped = first.startsWith("-") ? order : `-${order}`;
  return state.ordering === first ? flipped : first;
}

let writing = null;

/** Puts the state in the URL. Chromium takes ~5 ms per history.replaceState, as long as the
 * rest of a keystroke's redraw, so the URL follows once typing pauses. */
function remember() {
  for (const link of table.querySelectorAll("a.sort")) {
    const th = link.closest("th");
    const sort = state.ordering.replace(/^-/, "") !== link.dataset.order ? null
      : state.ordering.startsWith("-") ? "descending" : "ascending";
    if (th.getAttribute("aria-sort") !== sort) {
      if (sort) th.setAttribute("aria-sort", sort);
      else th.removeAttribute("aria-sort");
    }
  }
  clearTimeout(writing);
  writing = setTimeout(writeUrl, 200);
}

function writeUrl() {
  const query = pageQuery(state);
  history.replaceState(null, "", query ? `?${query}` : location.pathname);
  for (const link of table.querySelectorAll("a.sort")) {
    link.href = `?${pageQuery({ ...state, ordering: nextOrdering(link.dataset.order) })}`;
  }
}

// --- rows --------------------------------------------------------------------------------------

function lower(value) {
  return value === null || value === undefined ? null : String(value).toLowerCase();
}

function prepare(item) {
  const { model, evaluations: ev, metadata: md, features: f } = item;
  return {
    id: item.id,
    name: model.name,
    lname: model.name.toLowerCase(),
    precision: model.precision,
    architecture: model.architecture,
    license: md.hub_license,
    type: model.type,
    lprecision: lower(model.precision),
    larch: lower(model.architecture),
    llicense: lower(md.hub_license),
    ltype: lower(model.type),
    average: model.average_score,
    norm: BENCH.map((key) => (ev[key] ? ev[key].normalized_score : null)),
    raw: BENCH.map((key) => (ev[key] && ev[key].value !== null ? ev[key].value * 100 : null)),
    co2: md.co2_cost,
    params: md.params_billions,
    hearts: md.hub_hearts,
    submitted: md.submission_date,
    uploaded: md.upload_date,
    merged: f.is_merged,
    moe: f.is_moe,
    flagged: f.is_flagged,
    official: f.is_official_provider,
    // The upstream shape (LEADERBOARD_API=upstream) carries the "available" value in this field.
    unavailable: config.upstream ? !f.is_not_available_on_hub : f.is_not_available_on_hub,
    rank: null,
    size: sizeOf(md.params_billions),
  };
}

const SIZE_KEYS = Object.keys(config.sizes);

function sizeOf(params) {
  if (params === null || params === undefined) return null;
  return SIZE_KEYS.find((key) => params >= config.sizes[key].min && params < config.sizes[key].max) || null;
}

function scoreCell(key, value) {
  if (value === null || value === undefined) return `<td class="num col-${key}">–</td>`;
  return `<td class="num col-${key}">${fixed(value, 2)}%<span class="bar" style="width:${Math.max(0, Math.min(value, 100)).toFixed(1)}%"></span></td>`;
}

function rowHtml(row, pinned) {
  const type = config.types[row.type] || config.types.other;
  const name = escapeHtml(row.name);
  const [org, ...rest] = row.name.split("/");
  const href = rest.length ? `/models/${encodeURIComponent(org)}/${encodeURIComponent(rest.join("/"))}` : "";
  const scores = state.raw ? row.raw : row.norm;
  const average = state.raw ? (scores.includes(null) ? null : scores.reduce((a, b) => a + b, 0) / scores.length) : row.average;
  const medal = MEDALS[row.rank] ? `<span role="img" aria-label="medal">${MEDALS[row.rank]}</span> ` : "";
  return `<tr data-id="${escapeHtml(row.id)}"${pinned ? ' class="pinned"' : ""}>`
    + `<td class="num rank">${row.rank ? medal + row.rank : "–"}</td>`
    + `<th scope="row" class="col-model"><a href="${href}">${name}</a> <a class="hub" href="https://huggingface.co/${name}" title="On the Hugging Face Hub" aria-label="${name} on the Hugging Face Hub">🤗</a> `
    + `<button type="button" class="pin" aria-pressed="${pinned}" aria-label="${pinned ? "Unpin" : "Pin"} ${name}" title="${pinned ? "Unpin" : "Pin"}">📌</button></th>`
    + `<td class="col-type"><span role="img" title="${escapeHtml(type.label)}" aria-label="${escapeHtml(type.label)}">${type.icon}</span></td>`
    + scoreCell("average", average)
    + BENCH.map((key, i) => scoreCell(key, scores[i])).join("")
    + `<td class="num col-co2">${fixed(row.co2, 2)}</td>`
    + `<td class="num col-params">${fixed(row.params, 2)}</td>`
    + `<td class="col-precision">${escapeHtml(row.precision)}</td>`
    + `<td class="num col-hearts">${row.hearts ?? "–"}</td>`
    + `<td class="col-license">${escapeHtml(row.license || "–")}</td>`
    + `<td class="col-architecture">${escapeHtml(row.architecture || "–")}</td>`
    + `<td class="num col-submitted">${escapeHtml(row.submitted || "–")}</td></tr>`;
}

// Rows once parsed are kept (by id, score mode and pin) and put back as they are: a keystroke
// then costs the filter and the layout, not the parsing of fifty rows of HTML.
const rowCache = new Map();
const parser = document.createElement("template");
const EMPTY = '<tr class="empty"><td colspan="17">No entry matches.</td></tr>';

function rowElements(wanted) {
  const key = ([row, pinned]) => `${row.id}|${state.raw}|${pinned}`;
  const missing = wanted.filter((pair) => !rowCache.has(key(pair)));
  if (missing.length) {
    parser.innerHTML = missing.map(([row, pinned]) => rowHtml(row, pinned)).join("");
    [...parser.content.children].forEach((tr, i) => rowCache.set(key(missing[i]), tr));
  }
  return wanted.map((pair) => rowCache.get(key(pair)));
}

const FIRST_BATCH = 25; // a screen of rows, drawn with the keystroke; the rest when idle
let tail = null;

/** Makes the rows from `start` to `end` those elements; `trim`: and none after them. Rows
 * already in place stay (an unchanged screen is not redrawn). */
function place(elements, start, end, trim) {
  const current = tbody.children;
  let i = start;
  while (i < end && current[i] === elements[i]) i++;
  if (i === end && (!trim || current.length === end)) return;
  if (current.length > i) {
    const range = document.createRange();
    range.setStartBefore(current[i]);
    range.setEndAfter(tbody.lastElementChild);
    range.deleteContents();
  }
  tbody.append(...elements.slice(i, end));
}

function draw(rows, matchedCount) {
  const pinnedRows = state.pin.map((id) => byId.get(id)).filter(Boolean);
  const pinnedIds = new Set(pinnedRows.map((row) => row.id));
  const wanted = pinnedRows.map((row) => [row, true]);
  for (const row of rows) {
    if (wanted.length >= pinnedRows.length + limit) break;
    if (!pinnedIds.has(row.id)) wanted.push([row, false]);
  }
  if (tail !== null) cancelIdleCallback(tail);
  tail = null;
  if (!wanted.length) {
    tbody.innerHTML = EMPTY;
  } else {
    if (tbody.querySelector("tr.empty")) tbody.replaceChildren();
    const first = Math.min(wanted.length, Math.max(FIRST_BATCH, pinnedRows.length + 1));
    place(rowElements(wanted.slice(0, first)), 0, first, wanted.length === first);
    if (wanted.length > first) {
      tail = requestIdleCallback(() => {
        tail = null;
        place(rowElements(wanted), first, wanted.length, true);
      }, { timeout: 300 });
    }
  }
  const count = matchedCount.toLocaleString("en-US");
  if (shownText.textContent !== count) {
    shownText.textContent = count;
    shownText.dataset.value = String(matchedCount);
  }
  const pins = pinnedRows.length ? ` · ${pinnedRows.length} pinned` : "";
  if (pinnedText.textContent !== pins) pinnedText.textContent = pins;
  more.hidden = matchedCount <= limit;
}

// --- the filters -------------------------------------------------------------------------------

/** Every filter but the quick ones (whose counts are counted over what this keeps). */
function baseFilter() {
  const search = matcher(state.search);
  const precisions = state.precision.length ? new Set(state.precision) : null;
  const types = state.type.length ? new Set(state.type) : null;
  const min = state.params_min === "" ? null : Number(state.params_min);
  const max = state.params_max === "" ? null : Number(state.params_max);
  return (row) => (search === null || search(row))
    && (precisions === null || precisions.has(row.precision))
    && (types === null || types.has(row.type))
    && (min === null || (row.params !== null && row.params >= min))
    && (max === null || (row.params !== null && row.params <= max))
    && !(state.hide_merged && row.merged)
    && !(state.hide_moe && row.moe)
    && !(state.hide_flagged && row.flagged)
    && !(state.hide_unavailable && row.unavailable);
}

function showCounts(counts) {
  for (const [key, count] of Object.entries(counts)) {
    const element = form.querySelector(`[data-count-for="${key}"]`);
    const text = count.toLocaleString("en-US");
    if (element && element.textContent !== text) element.textContent = text;
  }
}

function showControls() {
  for (const chip of form.querySelectorAll("[data-size]")) {
    chip.setAttribute("aria-pressed", String(chip.dataset.size === state.size));
  }
  form.querySelector("[data-official]").setAttribute("aria-pressed", String(state.official_only));
  const classes = ["board", ...config.columns.filter((c) => !state.cols.includes(c.key)).map((c) => `hide-${c.key}`), state.raw ? "raw" : ""].join(" ").trim();
  if (table.className !== classes) table.className = classes; // an unchanged class restyles the table all the same
}

// --- in the browser: the whole list ------------------------------------------------------------

let all = [];
const byId = new Map();
const sorted = new Map(); // ordering -> rows in that order
let limit = STEP;
let matched = [];

function compare(key, descending) {
  const read = typeof key === "function" ? key : (row) => row[key];
  return (a, b) => {
    const x = read(a), y = read(b);
    if (x !== y) {
      if (x === null || x === undefined) return 1; // missing values last, either way
      if (y === null || y === undefined) return -1;
      if (x < y) return descending ? 1 : -1;
      if (x > y) return descending ? -1 : 1;
    }
    return a.name < b.name ? -1 : a.name > b.name ? 1 : a.precision < b.precision ? -1 : a.precision > b.precision ? 1 : 0;
  };
}

function inOrder(ordering) {
  if (!sorted.has(ordering)) {
    const key = SORT_KEYS[ordering.replace(/^-/, "")] || "average";
    sorted.set(ordering, [...all].sort(compare(key, ordering.startsWith("-"))));
  }
  return sorted.get(ordering);
}

function refreshClient() {
  const base = baseFilter();
  const size = state.size || null;
  const counts = { official: 0 };
  for (const key of SIZE_KEYS) counts[key] = 0;
  matched = [];
  for (const row of inOrder(state.ordering)) {
    if (!base(row)) continue;
    if (row.size !== null && (!state.official_only || row.official)) counts[row.size]++;
    const sized = size === null || row.size === size;
    if (sized && row.official) counts.official++;
    if (sized && (!state.official_only || row.official)) matched.push(row);
  }
  showCounts(counts);
  draw(matched, matched.length);
}

async function loadAll() {
  table.setAttribute("aria-busy", "true");
  const response = await fetch("/api/leaderboard/formatted", { headers: { Accept: "application/json" } });
  if (!response.ok) throw new Error(`HTTP ${response.status}`);
  const body = await response.json();
  // Preparing the list is the page's one long task: after the first frame, never before it
  // (the server's rows are on screen meanwhile).
  await new Promise((done) => requestAnimationFrame(() => setTimeout(done)));
  all = (Array.isArray(body) ? body : body.models).map(prepare);
  for (const row of all) byId.set(row.id, row);
  inOrder("-average").forEach((row, i) => { row.rank = i + 1; });
  table.removeAttribute("aria-busy");
}

// --- above CLIENT_LIMIT: pages of the API ------------------------------------------------------

let page = 1;
let pending = null;

async function fetchPage(number) {
  const params = apiParams(state);
  params.set("page", String(number));
  params.set("page_size", String(STEP));
  const body = await api(`/api/v1/models/?${params}`);
  const rows = body.items.map(prepare);
  const unfiltered = [...params.keys()].every((key) => ["page", "page_size"].includes(key));
  rows.forEach((row, i) => {
    if (unfiltered) row.rank = (number - 1) * STEP + i + 1; // the whole list by average
    byId.set(row.id, row);
  });
  return { rows, total: body.total };
}

async function countsPaged() {
  const counts = {};
  const ask = async (key, change) => {
    const params = apiParams({ ...state, ...change });
    params.set("page_size", "1");
    counts[key] = (await api(`/api/v1/models/?${params}`)).total;
  };
  await Promise.all([
    ...Object.keys(config.sizes).map((key) => ask(key, { size: key })),
    ask("official", { official_only: true }),
  ]);
  showCounts(counts);
}

async function pinsPaged() {
  for (const id of state.pin) {
    if (byId.has(id)) continue;
    const name = id.split("_").slice(0, -3).join("_"); // id: name_precision_sha_chat
    const params = new URLSearchParams({ search: `^${name.replace(/[\\^$.*+?()[\]{}|]/g, "\\$&")}$`, page_size: "100" });
    const body = await api(`/api/v1/models/?${params}`);
    for (const item of body.items) byId.set(item.id, prepare(item));
  }
}

async function refreshPaged() {
  table.setAttribute("aria-busy", "true");
  try {
    page = 1;
    rowCache.clear(); // a page's ranks depend on its filters
    await pinsPaged();
    const { rows, total } = await fetchPage(page);
    matched = rows;
    draw(matched, total);
    countsPaged();
  } catch (error) {
    tbody.innerHTML = `<tr class="empty"><td colspan="17" role="alert">${escapeHtml(error.message)}</td></tr>`;
  } finally {
    table.removeAttribute("aria-busy");
  }
}

// --- wiring ------------------------------------------------------------------------------------

const paged = config.mode === "paged";

function refresh() {
  limit = STEP;
  remember();
  showControls();
  if (!paged) {
    refreshClient();
    return;
  }
  clearTimeout(pending); // one request per pause in typing, not per keystroke
  pending = setTimeout(refreshPaged, 250);
}

function readForm() {
  const data = new FormData(form);
  state.search = searchBox.value;
  state.precision = data.getAll("precision");
  state.type = data.getAll("type");
  state.params_min = String(data.get("params_min") || "");
  state.params_max = String(data.get("params_max") || "");
  for (const flag of FLAGS) if (flag !== "official_only") state[flag] = data.get(flag) === "true";
  state.raw = document.getElementById("raw").checked;
}

form.addEventListener("submit", (event) => event.preventDefault());
form.addEventListener("input", (event) => {
  if (event.target.dataset.column !== undefined) return;
  readForm();
  refresh();
});
form.addEventListener("change", (event) => {
  const column = event.target.dataset.column;
  if (column === undefined) return;
  state.cols = config.columns.map((c) => c.key).filter((key) => form.querySelector(`[data-column="${key}"]`).checked);
  remember();
  showControls();
});
form.addEventListener("click", (event) => {
  const chip = event.target.closest(".chip");
  if (!chip) return;
  event.preventDefault();
  if (chip.dataset.size !== undefined) state.size = state.size === chip.dataset.size ? "" : chip.dataset.size;
  else state.official_only = !state.official_only;
  refresh();
});
table.querySelector("thead").addEventListener("click", (event) => {
  const link = event.target.closest("a.sort");
  if (!link) return;
  event.preventDefault();
  state.ordering = nextOrdering(link.dataset.order);
  refresh();
});
tbody.addEventListener("click", (event) => {
  const button = event.target.closest("button.pin");
  if (!button) return;
  const id = button.closest("tr").dataset.id;
  state.pin = state.pin.includes(id) ? state.pin.filter((pin) => pin !== id) : [...state.pin, id];
  remember();
  if (paged) draw(matched, Number(shownText.dataset.value));
  else draw(matched, matched.length);
  const again = tbody.querySelector(`tr[data-id="${CSS.escape(id)}"] button.pin`);
  if (again) again.focus();
});
more.addEventListener("click", async () => {
  limit += STEP;
  if (paged && matched.length < limit) {
    page += 1;
    const { rows } = await fetchPage(page);
    matched = matched.concat(rows);
  }
  draw(matched, paged ? Number(shownText.dataset.value) : matched.length);
});

async function start() {
  showControls();
  if (paged) {
    await pinsPaged();
    countsPaged();
    if (state.pin.length) {
      matched = (await fetchPage(1)).rows;
      draw(matched, Number(shownText.dataset.value));
    }
    return;
  }
  try {
    await loadAll();
  } catch (error) {
    table.removeAttribute("aria-busy");
    const alert = document.createElement("p");
    alert.className = "alert error";
    alert.setAttribute("role", "alert");
    alert.textContent = `The full list did not load (${error.message}): the first rows only.`;
    table.closest(".table-wrap").before(alert);
    return;
  }
  readForm(); // what the browser restored into the form (back/forward) wins over the URL
  refresh();
}

start();
