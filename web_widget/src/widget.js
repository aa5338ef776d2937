/* Acute Acupuncture chat widget: one <script> tag, talks to Rasa's socketio channel (session persistence).
 *
 * Bundled by bot/web/assets.py, which wraps this file in a function that defines:
 *   io              the Socket.IO client (socket.io-client 4.x, Socket.IO protocol v5 / Engine.IO v4)
 *   WIDGET_VERSION  web_widget/package.json "version"
 *   WIDGET_CSS      web_widget/src/widget.css
 * Bot and user text is never injected as HTML: messages are built from DOM nodes and text nodes only.
 */
"use strict";

const ns = (window.AcuteChatWidget = window.AcuteChatWidget || {});

/* ---------- settings: data- attributes of the <script> tag, then the loader's defaults ---------- */

const script = ns.loader || document.currentScript;
const attrs = (script && script.dataset) || {};
const defaults = ns.defaults || {};

function setting(name, fallback) {
  if (attrs[name] != null && attrs[name] !== "") return attrs[name];
  if (defaults[name] != null && defaults[name] !== "") return defaults[name];
  return fallback;
}

const config = {
  serverUrl: setting("serverUrl", window.location.origin),
  socketPath: setting("socketPath", "/socket.io"),
  title: setting("title", "Acute Acupuncture"),
  subtitle: setting("subtitle", "Automated assistant"),
  launcherLabel: setting("launcherLabel", "Chat with us"),
  color: setting("color", "#0b5c56"),
  welcomePayload: setting("welcomePayload", "/greet"),
  storageKey: setting("storageKey", "acute-chat"),
  openOnLoad: setting("open", "false") === "true",
  footnote: setting("footnote", "Automated assistant, not medical advice. In an emergency call 111."),
};

const USER_EVENT = "user_uttered";
const BOT_EVENT = "bot_uttered";
const KEY = config.storageKey + ":v1";
const HISTORY_LIMIT = 200;
const TYPING_TIMEOUT_MS = 20000;
const OWNER_WINDOW_MS = 120000;
const OFFLINE = "Offline: can\u2019t reach the assistant. Retrying\u2026";

/* ---------- storage: the session id, the rendered history and the outbox, shared by tabs ---------- */

const memory = {};
const storage = {
  get(area, key) {
    try {
      return window[area].getItem(key);
    } catch (e) {
      return memory[area + key] == null ? null : memory[area + key];
    }
  },
  set(area, key, value) {
    try {
      window[area].setItem(key, value);
    } catch (e) {
      memory[area + key] = value;
    }
  },
};

/* The server accepts only this session id format (bot/channels/socketio.py) and answers anything else with a
   fresh id: a stored id of another format (an old or tampered copy) starts a new conversation. */
const SESSION_ID = /^[0-9a-f]{32}$/;

function randomId() {
  const bytes = new Uint8Array(16);
  window.crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function freshState() {
  return { sessionId: randomId(), history: [], outbox: [], welcomed: false, lastSender: null, lastSentAt: 0 };
}

function loadState() {
  try {
    const saved = JSON.parse(storage.get("localStorage", KEY));
    if (
      saved &&
      typeof saved.sessionId === "string" &&
      SESSION_ID.test(saved.sessionId) &&
      Array.isArray(saved.history) &&
      Array.isArray(saved.outbox)
    ) {
      return saved;
    }
  } catch (e) {
    /* unreadable: start afresh */
  }
  return freshState();
}

let state = loadState();

/** Re-read the shared state, change it, save it and re-render: other tabs may have written meanwhile. */
function update(change) {
  state = loadState();
  change(state);
  state.history = state.history.slice(-HISTORY_LIMIT);
  storage.set("localStorage", KEY, JSON.stringify(state));
  render();
}

let tabId = storage.get("sessionStorage", KEY + ":tab");
if (!tabId) {
  tabId = randomId();
  storage.set("sessionStorage", KEY + ":tab", tabId);
}

/* ---------- colours: the configured colour, with black or white text, whichever reads better ---------- */

function luminance(hex) {
  const channels = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16) / 255);
  const linear = channels.map((c) => (c <= 0.03928 ? c / 12.92 : Math.pow((c + 0.055) / 1.055, 2.4)));
  return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2];
}

function normaliseColour(value) {
  const short = /^#([0-9a-f])([0-9a-f])([0-9a-f])$/i.exec(value);
  if (short) return "#" + short[1] + short[1] + short[2] + short[2] + short[3] + short[3];
  return /^#[0-9a-f]{6}$/i.test(value) ? value : "#0b5c56";
}

const primary = normaliseColour(config.color);
const readableOnWhite = 1.05 / (luminance(primary) + 0.05) >= 4.5; // WCAG contrast ratio against white
const onPrimary = readableOnWhite ? "#ffffff" : "#111111";
const accent = readableOnWhite ? primary : "#111111";

/* ---------- DOM helpers and the text formatter (links, **bold**, *italic*, `code`; never HTML) ---------- */

function el(tag, props, children) {
  const node = document.createElement(tag);
  Object.entries(props || {}).forEach(([name, value]) => {
    if (name === "text") node.textContent = value;
    else if (name === "class") node.className = value;
    else if (value === true) node.setAttribute(name, "");
    else if (value !== false && value != null) node.setAttribute(name, value);
  });
  (children || []).forEach((child) => node.appendChild(child));
  return node;
}

const INLINE =
  /\[([^\]\n]+)\]\(((?:https?:\/\/|mailto:|tel:)[^\s)]+)\)|((?:https?:\/\/|www\.)[^\s<>"]*[^\s<>".,;:!?)\]'])|\*\*([^*\n]+)\*\*|\*([^*\s][^*\n]*)\*|`([^`\n]+)`/g;

function link(href, label) {
  return el("a", { href, target: "_blank", rel: "noopener noreferrer nofollow" }, [
    document.createTextNode(label),
    el("span", { class: "sr", text: " (opens in a new tab)" }),
  ]);
}

function appendInline(parent, text) {
  let last = 0;
  text.replace(INLINE, (match, label, href, url, bold, italic, code, offset) => {
    if (offset > last) parent.appendChild(document.createTextNode(text.slice(last, offset)));
    if (label) parent.appendChild(link(href, label));
    else if (url) parent.appendChild(link(url.startsWith("www.") ? "https://" + url : url, url));
    else if (bold) appendInline(parent.appendChild(el("strong")), bold);
    else if (italic) appendInline(parent.appendChild(el("em")), italic);
    else if (code) parent.appendChild(el("code", { text: code }));
    last = offset + match.length;
    return match;
  });
  if (last < text.length) parent.appendChild(document.createTextNode(text.slice(last)));
}

function formatText(text) {
  const fragment = document.createDocumentFragment();
  String(text)
    .split("\n")
    .forEach((line, i) => {
      if (i) fragment.appendChild(el("br"));
      appendInline(fragment, line);
    });
  return fragment;
}

function safeImageUrl(src) {
  if (!src) return null;
  try {
    const url = new URL(String(src), window.location.href);
    return url.protocol === "https:" || url.protocol === "http:" ? url.href : null;
  } catch (e) {
    return null;
  }
}

function chatIcon() {
  const svgNs = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(svgNs, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("width", "22");
  svg.setAttribute("height", "22");
  svg.setAttribute("aria-hidden", "true");
  svg.setAttribute("focusable", "false");
  const path = document.createElementNS(svgNs, "path");
  path.setAttribute("fill", "currentColor");
  path.setAttribute("d", "M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2zm3 6.5a1.5 1.5 0 1 0 0 .01zm5 0a1.5 1.5 0 1 0 0 .01zm5 0a1.5 1.5 0 1 0 0 .01z");
  svg.appendChild(path);
  return svg;
}

/* ---------- the widget's DOM (in a shadow root, so host-page CSS cannot break it) ---------- */

const host = el("div", { id: "acute-chat-widget", "data-version": WIDGET_VERSION });
const shadow = host.attachShadow({ mode: "open" });
shadow.appendChild(el("style", { text: WIDGET_CSS }));

const badge = el("span", { class: "badge", hidden: true });
const launcher = el("button", { type: "button", class: "launcher", "aria-expanded": "false", "aria-controls": "acw-panel" }, [
  chatIcon(),
  el("span", { text: config.launcherLabel }),
  badge,
]);
const newButton = el("button", { type: "button", class: "new", text: "New chat", title: "Start a new conversation" });
const closeButton = el("button", { type: "button", class: "close", "aria-label": "Close chat", text: "\u00D7" });
const statusLine = el("div", { class: "status", role: "status", "data-state": "idle", text: "Not connected yet" });
const log = el("div", { class: "log", role: "log", "aria-live": "polite", "aria-label": "Conversation", tabindex: "0" });
const typing = el("div", { class: "typing", hidden: true }, [
  el("span", { class: "dot", "aria-hidden": "true" }),
  el("span", { class: "dot", "aria-hidden": "true" }),
  el("span", { class: "dot", "aria-hidden": "true" }),
  el("span", { class: "sr", text: "The assistant is typing" }),
]);
const input = el("input", {
  id: "acw-input", type: "text", autocomplete: "off", maxlength: "1000", placeholder: "Type your question\u2026",
  enterkeyhint: "send",
});
const composer = el("form", { class: "composer" }, [
  el("label", { class: "sr", for: "acw-input", text: "Your message" }),
  input,
  el("button", { type: "submit", text: "Send" }),
]);
const panel = el("section", { class: "panel", id: "acw-panel", role: "dialog", "aria-labelledby": "acw-title", hidden: true }, [
  el("div", { class: "head" }, [
    el("div", { class: "titles" }, [
      el("h2", { id: "acw-title", text: config.title }),
      el("p", { text: config.subtitle }),
    ]),
    newButton,
    closeButton,
  ]),
  statusLine,
  log,
  typing,
  composer,
  el("p", { class: "foot", text: config.footnote }),
]);
const root = el("div", { class: "root" }, [panel, launcher]);
root.style.setProperty("--acw-primary", primary);
root.style.setProperty("--acw-on-primary", onPrimary);
root.style.setProperty("--acw-accent", accent);
shadow.appendChild(root);

/* ---------- rendering the history (kept in step with storage; only new messages are added to the log) ---------- */

const rendered = new Map();
const HINTS = {
  connecting: "Connecting to the assistant\u2026",
  offline: "The assistant can\u2019t be reached right now. You can still type your question: it will be sent " +
    "as soon as the connection is back.",
};
// not announced: the status line already says it
const emptyHint = log.appendChild(el("p", { class: "empty", "aria-hidden": "true", hidden: true }));

function renderEntry(entry, answered) {
  const who = el("span", { class: "sr", text: (entry.from === "user" ? "You" : "Assistant") + ": " });
  const node = el("div", { class: "msg " + entry.from, "data-id": entry.id });
  if (entry.text) node.appendChild(el("div", { class: "bubble" }, [who, formatText(entry.text)]));
  else node.appendChild(who);
  const src = entry.image && safeImageUrl(entry.image);
  if (src) node.appendChild(el("img", { src, alt: entry.alt || "Image from the assistant", loading: "lazy" }));
  if (entry.buttons && entry.buttons.length) {
    node.appendChild(
      el(
        "div",
        { class: "replies", role: "group", "aria-label": "Suggested replies" },
        entry.buttons.map((b) => {
          const button = el("button", { type: "button", text: b.title, disabled: answered });
          button.addEventListener("click", () => {
            send(b.payload, b.title);
            input.focus();
          });
          return button;
        }),
      ),
    );
  }
  node.appendChild(el("span", { class: "note", hidden: entry.status !== "queued", text: "Not sent yet: it will be sent when the chat is back online." }));
  if (entry.status === "queued") node.classList.add("queued");
  return node;
}

function render() {
  const ids = new Set(state.history.map((e) => e.id));
  rendered.forEach((node, id) => {
    if (!ids.has(id)) {
      node.remove();
      rendered.delete(id);
    }
  });
  let answeredFrom = -1; // quick replies before the last user message are spent
  for (let i = state.history.length - 1; i >= 0; i--) {
    if (state.history[i].from === "user") {
      answeredFrom = i;
      break;
    }
  }
  let added = false;
  state.history.forEach((entry, index) => {
    let node = rendered.get(entry.id);
    if (!node) {
      node = renderEntry(entry, index < answeredFrom);
      rendered.set(entry.id, node);
      log.appendChild(node);
      added = true;
    }
    node.classList.toggle("queued", entry.status === "queued");
    node.querySelector(".note").hidden = entry.status !== "queued";
    node.querySelectorAll(".replies button").forEach((b) => (b.disabled = index < answeredFrom));
  });
  const hint = state.history.length ? "" : HINTS[connection] || "";
  emptyHint.hidden = !hint;
  emptyHint.textContent = hint;
  if (added) log.scrollTop = log.scrollHeight;
}

/* ---------- connection (Socket.IO v5 to Rasa's socketio channel) ---------- */

let socket = null;
let connection = "idle";
let confirmed = false;
let joined = null; // the session id the server confirmed to this socket: the only one it may send for
let typingTimer = null;

let unread = false;

function updateBadge() {
  const text = connection === "offline" ? "offline" : unread ? "new" : "";
  badge.hidden = !text;
  badge.textContent = text;
}

/** The status line is a live region: it changes only when the state does (no chatter while retrying). */
function showConnection(next, text) {
  if (next === connection && statusLine.textContent === text) return;
  connection = next;
  statusLine.dataset.state = next;
  statusLine.textContent = text;
  updateBadge();
  render();
}

function setTyping(on) {
  clearTimeout(typingTimer);
  typing.hidden = !on;
  if (on) typingTimer = setTimeout(() => setTyping(false), TYPING_TIMEOUT_MS);
}

function metadata() {
  return { page_url: window.location.origin + window.location.pathname, widget_version: WIDGET_VERSION };
}

/* Each tab sends what it queued itself: tabs see each other's writes late (localStorage is not synchronous
   across tabs), so a shared outbox flushed by every tab would send messages twice. A message queued by a tab
   that has since closed (no heartbeat for 30 s) is sent by the live tab with the smallest id. */
const ALIVE = KEY + ":alive:";
const HEARTBEAT_MS = 10000;

function heartbeat() {
  storage.set("localStorage", ALIVE + tabId, String(Date.now()));
}

function liveTabs() {
  const live = [];
  try {
    for (let i = 0; i < window.localStorage.length; i++) {
      const key = window.localStorage.key(i);
      if (!key || !key.startsWith(ALIVE)) continue;
      const age = Date.now() - Number(window.localStorage.getItem(key));
      if (age < 3 * HEARTBEAT_MS) live.push(key.slice(ALIVE.length));
      else if (age > 86400000) window.localStorage.removeItem(key);
    }
  } catch (e) {
    /* no localStorage: this tab is alone */
  }
  return live.includes(tabId) ? live : live.concat(tabId);
}

function mine(item, live) {
  if (item.tab === tabId) return true;
  if (item.tab && live.includes(item.tab)) return false;
  return live.slice().sort()[0] === tabId; // an orphan: adopted by one live tab
}

/* The server refuses a message for another session than the one this socket joined: after "New chat" in
   another tab, the queue waits until the storage event has made this tab join the new session. */
function flush() {
  if (!socket || !socket.connected || !confirmed) return;
  const live = liveTabs();
  const shared = loadState();
  if (shared.sessionId !== joined || !shared.outbox.some((item) => mine(item, live))) return;
  let sent = false;
  update((s) => {
    if (s.sessionId !== joined) return;
    s.outbox = s.outbox.filter((item) => {
      if (!mine(item, live)) return true;
      socket.emit(USER_EVENT, { message: item.message, session_id: joined, metadata: metadata() });
      const entry = s.history.find((e) => e.id === item.entryId);
      if (entry) entry.status = "sent";
      sent = true;
      return false;
    });
    if (sent) {
      s.lastSender = tabId;
      s.lastSentAt = Date.now();
    }
  });
  if (sent) setTyping(true);
}

function send(message, shown) {
  const text = String(message || "").trim();
  if (!text) return;
  update((s) => {
    const id = randomId();
    if (shown != null) s.history.push({ id, from: "user", text: String(shown), status: "queued", t: Date.now() });
    s.outbox.push({ message: text, entryId: shown != null ? id : null, tab: tabId });
  });
  connect();
  flush();
}

function onBotMessage(message) {
  if (!message || typeof message !== "object") return;
  const shared = loadState();
  if (shared.sessionId !== state.sessionId) return;
  const ours = shared.lastSender === tabId || (Date.now() - shared.lastSentAt > OWNER_WINDOW_MS && !document.hidden);
  setTyping(false);
  if (!ours) return; // the tab that asked records the answer; this tab picks it up through the storage event
  const replies = message.quick_replies || message.buttons || [];
  const attachment = message.attachment || {};
  const image = safeImageUrl(message.image || (attachment.type === "image" && attachment.payload && attachment.payload.src));
  const entry = {
    id: randomId(),
    from: "bot",
    text: typeof message.text === "string" ? message.text : "",
    image: image || null,
    buttons: replies
      .filter((b) => b && b.title && b.payload)
      .map((b) => ({ title: String(b.title), payload: String(b.payload) })),
    t: Date.now(),
  };
  if (!entry.text && !entry.image && !entry.buttons.length) return;
  update((s) => s.history.push(entry));
  if (panel.hidden) {
    unread = true;
    updateBadge();
  }
}

function connect() {
  if (socket) return;
  showConnection("connecting", "Connecting\u2026");
  const current = io(config.serverUrl, {
    path: config.socketPath,
    forceNew: true,
    reconnectionDelay: 1000,
    reconnectionDelayMax: 5000,
    timeout: 8000,
  });
  socket = current;
  const offline = (text) => current === socket && showConnection("offline", text);
  current.on("connect", () => {
    confirmed = false;
    joined = null;
    current.emit("session_request", { session_id: state.sessionId });
  });
  current.on("session_confirm", (sessionId) => {
    if (current !== socket) return;
    if (typeof sessionId !== "string" || !SESSION_ID.test(sessionId)) return;
    if (sessionId !== state.sessionId) update((s) => (s.sessionId = sessionId));
    joined = sessionId;
    confirmed = true;
    showConnection("online", "Online");
    flush();
  });
  current.on(BOT_EVENT, (message) => current === socket && onBotMessage(message));
  current.on("disconnect", (reason) => {
    if (current !== socket) return;
    confirmed = false;
    setTyping(false);
    offline(OFFLINE);
    if (reason === "io server disconnect") setTimeout(() => current === socket && current.connect(), 2000);
  });
  current.on("connect_error", () => offline(OFFLINE));
}

/** Join the (new) session: a fresh socket, so the old session's room is left behind. */
function rejoin() {
  if (!socket) return;
  const previous = socket;
  socket = null;
  confirmed = false;
  joined = null;
  previous.disconnect();
  connect();
}

/* ---------- opening, closing, a new conversation ---------- */

function welcome() {
  if (state.welcomed || !config.welcomePayload) return;
  update((s) => (s.welcomed = true));
  send(config.welcomePayload, null);
}

function open(focus = true) {
  panel.hidden = false;
  root.classList.add("open");
  launcher.setAttribute("aria-expanded", "true");
  storage.set("sessionStorage", KEY + ":open", "1");
  unread = false;
  updateBadge();
  connect();
  welcome();
  log.scrollTop = log.scrollHeight;
  if (focus) input.focus();
}

function close() {
  panel.hidden = true;
  root.classList.remove("open");
  launcher.setAttribute("aria-expanded", "false");
  storage.set("sessionStorage", KEY + ":open", "");
  launcher.focus();
}

function newConversation() {
  const next = freshState();
  update((s) => Object.assign(s, next));
  setTyping(false);
  rejoin();
  welcome();
  input.focus();
}

launcher.addEventListener("click", () => (panel.hidden ? open() : close()));
closeButton.addEventListener("click", close);
newButton.addEventListener("click", newConversation);

const phone = window.matchMedia("(max-width: 600px)");

/** Full screen on a phone, the chat is modal: Tab and Shift+Tab stay inside it. */
function keepFocusInside(event) {
  const focusable = Array.from(panel.querySelectorAll("button, input, [tabindex='0']")).filter(
    (node) => !node.disabled && node.getClientRects().length > 0,
  );
  const first = focusable[0];
  const last = focusable[focusable.length - 1];
  if (event.shiftKey && shadow.activeElement === first) {
    event.preventDefault();
    last.focus();
  } else if (!event.shiftKey && shadow.activeElement === last) {
    event.preventDefault();
    first.focus();
  }
}

function syncModal() {
  if (phone.matches) panel.setAttribute("aria-modal", "true");
  else panel.removeAttribute("aria-modal");
}
syncModal();
if (phone.addEventListener) phone.addEventListener("change", syncModal);

panel.addEventListener("keydown", (event) => {
  if (event.key === "Escape") {
    event.preventDefault();
    close();
  } else if (event.key === "Tab" && phone.matches) {
    keepFocusInside(event);
  }
});
composer.addEventListener("submit", (event) => {
  event.preventDefault();
  const text = input.value.trim();
  if (!text) return;
  input.value = "";
  send(text, text);
});
window.addEventListener("storage", (event) => {
  if (event.key !== KEY) return;
  const before = state.sessionId;
  state = loadState();
  render();
  if (state.sessionId !== before) rejoin();
});
window.addEventListener("pagehide", () => {
  try {
    window.localStorage.removeItem(ALIVE + tabId);
  } catch (e) {
    /* nothing to clean */
  }
});
window.addEventListener("pageshow", heartbeat);

/* ---------- start ---------- */

function mount() {
  document.body.appendChild(host);
  heartbeat();
  setInterval(() => {
    heartbeat();
    flush(); // messages left by a closed tab
  }, HEARTBEAT_MS);
  render();
  if (config.openOnLoad || storage.get("sessionStorage", KEY + ":open") === "1") open(false);
  else if (state.history.length) connect();
}

ns.instance = { version: WIDGET_VERSION, open, close, newConversation };
ns.version = WIDGET_VERSION;
if (document.body) mount();
else document.addEventListener("DOMContentLoaded", mount);
