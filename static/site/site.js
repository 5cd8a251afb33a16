// What every page shares: the theme switch, calls to the API with the session, and /ws.

const root = document.documentElement;

function darkNow() {
  const chosen = root.dataset.theme;
  if (chosen) return chosen === "dark";
  return window.matchMedia("(prefers-color-scheme: dark)").matches;
}

function showTheme(button) {
  button.setAttribute("aria-pressed", String(darkNow()));
}

const themeSwitch = document.getElementById("theme-switch");
if (themeSwitch) {
  showTheme(themeSwitch);
  themeSwitch.addEventListener("click", () => {
    const next = darkNow() ? "light" : "dark";
    root.dataset.theme = next;
    try { localStorage.setItem("theme", next); } catch (e) { /* private mode: this page only */ }
    showTheme(themeSwitch);
  });
}

function cookie(name) {
  const found = document.cookie.split("; ").find((part) => part.startsWith(name + "="));
  return found ? decodeURIComponent(found.slice(name.length + 1)) : "";
}

/** An error the API answered, with its envelope's code, message and details. */
export class ApiError extends Error {
  constructor(status, body) {
    const error = (body && body.error) || {};
    super(error.message || `HTTP ${status}`);
    this.status = status;
    this.code = error.code || "ERROR";
    this.details = error.details || {};
  }
}

/** Calls the API as the signed-in user (the session cookie; the CSRF token on writes). */
export async function api(path, { method = "GET", body, headers = {} } = {}) {
  const init = { method, credentials: "same-origin", headers: { Accept: "application/json", ...headers } };
  if (method !== "GET" && method !== "HEAD") {
    init.headers["X-CSRFToken"] = cookie("csrftoken");
    if (body !== undefined) {
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(body);
    }
  }
  const response = await fetch(path, init);
  const text = await response.text();
  const data = text ? JSON.parse(text) : null;
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

/** Subscribes to /ws topics; `onEvent(topic, data)` gets each event. Reconnects with a backoff. */
export function subscribe(topics, onEvent, { onState } = {}) {
  let delay = 500;
  let socket;
  let closed = false;
  const open = () => {
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    socket = new WebSocket(`${scheme}//${location.host}/ws`);
    socket.addEventListener("open", () => {
      delay = 500;
      socket.send(JSON.stringify({ type: "subscribe", topics }));
      if (onState) onState("open");
    });
    socket.addEventListener("message", (message) => {
      let event;
      try { event = JSON.parse(message.data); } catch (e) { return; }
      if (event.type === "event") onEvent(event.topic, event.data);
    });
    socket.addEventListener("close", () => {
      if (onState) onState("closed");
      if (!closed) setTimeout(open, (delay = Math.min(delay * 2, 15000)));
    });
  };
  open();
  return { close() { closed = true; socket.close(); } };
}

/** Text for a number: `digits` decimals, or an en dash when missing. */
export function fixed(value, digits = 2) {
  return value === null || value === undefined || Number.isNaN(value) ? "–" : Number(value).toFixed(digits);
}

export function escapeHtml(text) {
  return String(text ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}
