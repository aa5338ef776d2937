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
  contactText: setting("contactText", "You can also contact the clinic directly."),
  contactUrl: setting("contactUrl", ""),
  timeZone: setting("timeZone", "Pacific/Auckland"),
  feedbackQuestion: setting("feedbackQuestion", "Was this helpful?"),
  feedbackThanks: setting("feedbackThanks", "Thanks for your feedback."),
  feedbackUp: setting("feedbackUp", "Helpful"),
  feedbackDown: setting("feedbackDown", "Not helpful"),
};

const USER_EVENT = "user_uttered";
const BOT_EVENT = "bot_uttered";
const KEY = config.storageKey + ":v1";
const HISTORY_LIMIT = 200;
const TYPING_TIMEOUT_MS = 20000;
const NO_ANSWER_MS = 15000; // a message sent without an answer after this long is marked, with Retry
const EXPIRE_MS = 7 * 864e5; // the stored conversation is dropped 7 days after its last message
const SMALL = "(max-width: 600px), (max-height: 560px)"; // full screen (also in widget.css)
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
  // ratings: a patient message's id -> {r: "up" | "down", s: 1 once stored}
  return { sessionId: randomId(), history: [], outbox: [], ratings: {}, welcomed: false, lastSender: null, lastSentAt: 0 };
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
      const last = Math.max(saved.lastSentAt || 0, ...saved.history.map((e) => e.t || 0));
      if (typeof saved.ratings !== "object" || !saved.ratings) saved.ratings = {};
      if (!last || Date.now() - last < EXPIRE_MS) return saved;
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

/* In bot text only, e-mail addresses, NZ phone numbers ("04 123 4567", "0800 611 116") and "111" after
   "call"/"dial" become mailto:/tel: links too. */
const INLINE =
  /\[([^\]\n]+)\]\(((?:https?:\/\/|mailto:|tel:)[^\s)]+)\)|((?:https?:\/\/|www\.)[^\s<>"]*[^\s<>".,;:!?)\]'])|\*\*([^*\n]+)\*\*|\*([^*\s][^*\n]*)\*|`([^`\n]+)`|([\w.+-]+@[\w-]+(?:\.[\w-]+)*\.[A-Za-z]{2,})|\b(0\d{1,3}(?:[ -]\d{3,4}){1,2})\b|\b((?:[Cc]all|[Dd]ial) )(111)\b/g;

/** tel: and mailto: open in place; web links in a new tab (said to screen readers). */
function link(href, label) {
  if (!/^https?:/.test(href)) return el("a", { href, text: label });
  return el("a", { href, target: "_blank", rel: "noopener noreferrer nofollow" }, [
    document.createTextNode(label),
    el("span", { class: "sr", text: " (opens in a new tab)" }),
  ]);
}

function appendInline(parent, text, bot) {
  let last = 0;
  const add = (node) => parent.appendChild(node);
  text.replace(INLINE, (match, label, href, url, bold, italic, code, email, phone, say, emergency, offset) => {
    if (offset > last) add(document.createTextNode(text.slice(last, offset)));
    if (label) add(link(href, label));
    else if (url) add(link(url.startsWith("www.") ? "https://" + url : url, url));
    else if (bold) appendInline(add(el("strong")), bold, bot);
    else if (italic) appendInline(add(el("em")), italic, bot);
    else if (code) add(el("code", { text: code }));
    else if (!bot) add(document.createTextNode(match));
    else if (email) add(link("mailto:" + email, email));
    else if (phone) add(link("tel:" + phone.replace(/\D/g, ""), phone));
    else {
      add(document.createTextNode(say));
      add(link("tel:111", emergency));
    }
    last = offset + match.length;
    return match;
  });
  if (last < text.length) add(document.createTextNode(text.slice(last)));
}

function formatText(text, bot) {
  const fragment = document.createDocumentFragment();
  String(text)
    .split("\n")
    .forEach((line, i) => {
      if (i) fragment.appendChild(el("br"));
      appendInline(fragment, line, bot);
    });
  return fragment;
}

/* ACC45 numbers (AB12345, 12345AB, 1234ABC; a space or hyphen may split them) and NZ phone numbers in the
   patient's own messages are masked as the server masks them: AB•••45, 021•••567. A number then a lower-case
   word ("2024 and") is words, as bot/clinic/acc_codes.py reads it; a date (05-03-2024) is not a phone. */
const ACC45 = /(^|[^A-Za-z0-9])([A-Za-z]{2}[ -]?\d{5}|\d{5}[ -]?[A-Za-z]{2}|\d{4}[ -]?[A-Za-z]{3})(?![A-Za-z0-9])/g;
const PHONE = /(^|[^\w+(])((?:\+64[ -]?\(?|\(?0)\d{1,2}\)?(?:[ -]?\d){6,9})(?!\d)/g;
const DOTS = "\u2022\u2022\u2022";

function mask(text) {
  return text
    .replace(ACC45, (match, before, number) => {
      if (/\d[ -][a-z]+$/.test(number)) return match;
      const c = number.replace(/[ -]/g, "").toUpperCase();
      return before + c.slice(0, 2) + DOTS + c.slice(-2);
    })
    .replace(PHONE, (match, before, number) => {
      if (/^\d\d?-\d\d?-\d+$/.test(number)) return match;
      const d = number.replace(/\D/g, "");
      return before + d.slice(0, 3) + DOTS + d.slice(-3);
    });
}

function safeUrl(href) {
  return /^(https?:\/\/|tel:|mailto:)/i.test(href || "") ? href : null;
}

/* Times in the patient's language and the clinic's time zone (an unknown zone: the browser's). */
function dates(options) {
  try {
    return new Intl.DateTimeFormat(undefined, Object.assign({ timeZone: config.timeZone }, options));
  } catch (e) {
    return new Intl.DateTimeFormat(undefined, options);
  }
}
const clock = dates({ hour: "numeric", minute: "2-digit" });
const dayOf = dates({ year: "numeric", month: "numeric", day: "numeric" });
const dateOf = dates({ weekday: "long", day: "numeric", month: "long" });

function dayLabel(t) {
  const day = dayOf.format(t);
  if (day === dayOf.format(Date.now())) return "Today";
  return day === dayOf.format(Date.now() - 864e5) ? "Yesterday" : dateOf.format(t);
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

function svg(tag, attrs, children) {
  const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
  Object.entries(attrs).forEach(([name, value]) => node.setAttribute(name, value));
  (children || []).forEach((child) => node.appendChild(child));
  return node;
}

const icon = (size, d) => svg("svg", { viewBox: "0 0 24 24", width: size, height: size, "aria-hidden": "true", focusable: "false" }, [svg("path", { d })]);
const chatIcon = () =>
  icon(22, "M4 3h16a2 2 0 0 1 2 2v11a2 2 0 0 1-2 2H9l-5 4v-4a2 2 0 0 1-2-2V5a2 2 0 0 1 2-2zm3 6.5a1.5 1.5 0 1 0 0 .01zm5 0a1.5 1.5 0 1 0 0 .01zm5 0a1.5 1.5 0 1 0 0 .01z");
// thumb up (CSS: outlined, filled when pressed, turned down for "Not helpful")
const thumb = () => icon(18, "M3 10h3v10H3zM6 10l4-8c1.7 0 2.6 1.2 2.2 2.8L11.5 9H20a2 2 0 0 1 2 2.3l-1.3 7A2.2 2.2 0 0 1 18.5 20H6");

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
const endButton = el("button", { type: "button", class: "end", text: "End chat" });
const closeButton = el("button", { type: "button", class: "close", "aria-label": "Close chat", text: "\u00D7" });
const statusLine = el("div", { class: "status", role: "status", "data-state": "idle", text: "Not connected yet" });
const log = el("div", { class: "log", role: "log", "aria-live": "polite", "aria-label": "Conversation", tabindex: "0" });
const typing = el("div", { class: "typing", hidden: true }, [
  el("span", { class: "dot", "aria-hidden": "true" }),
  el("span", { class: "dot", "aria-hidden": "true" }),
  el("span", { class: "dot", "aria-hidden": "true" }),
  el("span", { class: "sr", text: "The assistant is typing" }),
]);
const MAX_CHARS = 1000; // the server's MAX_MESSAGE_CHARS (bot/channels/message_limits.py)
const input = el("textarea", {
  id: "acw-input", rows: "1", autocomplete: "off", maxlength: String(MAX_CHARS), placeholder: "Type your question\u2026",
  enterkeyhint: "send", "aria-describedby": "acw-count",
});
const count = el("span", { class: "count", "aria-hidden": "true", hidden: true });
const countSr = el("span", { class: "sr", id: "acw-count", "aria-live": "polite" });
const composer = el("form", { class: "composer" }, [
  el("label", { class: "sr", for: "acw-input", text: "Your message" }),
  input,
  el("button", { type: "submit", text: "Send" }),
  count,
  countSr,
]);
const yesButton = el("button", { type: "button", text: "Yes, end chat" });
const noButton = el("button", { type: "button", text: "No" });
const confirmBox = el("div", { class: "confirm", role: "group", "aria-labelledby": "acw-confirm", hidden: true }, [
  el("p", { id: "acw-confirm", text: "End this chat and clear it from this device?" }),
  yesButton,
  noButton,
]);
const panel = el("section", { class: "panel", id: "acw-panel", role: "dialog", "aria-labelledby": "acw-title", hidden: true }, [
  el("div", { class: "head" }, [
    el("div", { class: "titles" }, [
      el("h2", { id: "acw-title", text: config.title }),
      el("p", { text: config.subtitle }),
    ]),
    endButton,
    closeButton,
  ]),
  confirmBox,
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

const LATE = "Connected, but no answer yet: Retry, or contact the clinic.";

/* "Was this helpful?" under the latest answer: the replies to a patient message carry its id (reply_to); the
   welcome and staff messages do not. Earlier rated answers keep a mark. */
const RATED = { up: config.feedbackUp, down: config.feedbackDown }; // the buttons' names and the marks
const ask = el("span");
const rateRow = el("div", { class: "rate" }, [ask]);
Object.keys(RATED).forEach((r) =>
  rateRow.appendChild(el("button", { type: "button", class: r, "aria-label": RATED[r] }, [thumb()])).addEventListener("click", () => {
    const mid = rateRow.dataset.mid;
    update((s) => (s.ratings[mid] = { r }));
    sendRatings();
  }),
);

function placeRating() {
  const asked = new Set(state.history.map((e) => e.from === "user" && e.mid));
  let latest;
  state.history.forEach((e, i) => {
    const node = rendered.get(e.id);
    const r = (state.ratings[e.rt] || {}).r;
    let mark = node && node.querySelector(".rated");
    if (mark && mark.dataset.r !== r) mark = mark.remove();
    if (!node || !asked.has(e.rt) || (state.history[i + 1] || {}).rt === e.rt) return; // not an answer's end
    latest = e;
    if (r && !mark) node.appendChild(el("p", { class: "rated " + r, "data-r": r }, [thumb(), el("span", { text: RATED[r] })]));
  });
  if (!latest) return rateRow.remove();
  const node = rendered.get(latest.id);
  const r = (state.ratings[latest.rt] || {}).r;
  if (node.querySelector(".rated")) node.querySelector(".rated").remove();
  rateRow.dataset.mid = latest.rt;
  ask.textContent = r ? config.feedbackThanks : config.feedbackQuestion;
  rateRow.querySelectorAll("button").forEach((b) => b.setAttribute("aria-pressed", b.className === r));
  node.appendChild(rateRow);
}
const contact = safeUrl(config.contactUrl);

function renderEntry(entry, answered) {
  const who = el("span", { class: "sr", text: (entry.from === "user" ? "You" : "Assistant") + ": " });
  const node = el("div", { class: "msg " + entry.from, "data-id": entry.id });
  if (entry.text) node.appendChild(el("div", { class: "bubble" }, [who, formatText(entry.text, entry.from === "bot")]));
  else node.appendChild(who);
  const src = entry.image && safeImageUrl(entry.image);
  if (src) node.appendChild(el("img", { src, alt: entry.alt || "Image from the assistant", loading: "lazy" }));
  if (entry.buttons && entry.buttons.length) {
    node.appendChild(
      el(
        "div",
        { class: "replies", role: "group", "aria-label": "Suggested replies" },
        entry.buttons.map((b) => {
          // a web_url button (its payload or url is a web address) opens the page: it is not a message
          const url = safeImageUrl(b.url || (/^https?:\/\//.test(b.payload) && b.payload));
          if (url) return link(url, b.title);
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
  node.appendChild(el("time", { datetime: new Date(entry.t || 0).toISOString(), text: clock.format(entry.t || 0) }));
  if (entry.from === "user") {
    const again = el("button", { type: "button", text: "Retry" });
    again.addEventListener("click", () => retry(entry.id));
    node.appendChild(el("span", { class: "note", text: "Not sent yet: it will be sent when the chat is back online." }));
    node.appendChild(
      el("p", { class: "noanswer" }, [
        document.createTextNode("No answer yet. "),
        again,
        document.createTextNode(" "),
        contact ? link(contact, config.contactText) : formatText(config.contactText, true), // numbers, pages: links
      ]),
    );
  }
  return node;
}

function render() {
  const ids = new Set(state.history.map((e) => e.id));
  rendered.forEach((node, id) => {
    if (!ids.has(id)) {
      node.remove();
      if (node.day) node.day.remove();
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
  let day = null;
  state.history.forEach((entry, index) => {
    let node = rendered.get(entry.id);
    const today = dayOf.format(entry.t || 0);
    if (!node) {
      node = renderEntry(entry, index < answeredFrom);
      rendered.set(entry.id, node);
      if (today !== day) node.day = log.appendChild(el("p", { class: "day", text: dayLabel(entry.t || 0) }));
      log.appendChild(node);
      added = true;
    }
    day = today;
    node.classList.toggle("queued", entry.status === "queued");
    node.classList.toggle("late", entry.status === "late");
    const again = node.querySelector(".noanswer button");
    if (again) again.hidden = !retryText(entry);
    node.querySelectorAll(".replies button").forEach((b) => (b.disabled = index < answeredFrom));
  });
  placeRating();
  const hint = state.history.length ? "" : HINTS[connection] || "";
  emptyHint.hidden = !hint;
  emptyHint.textContent = hint;
  if (added) {
    // a new answer is shown from its start (the first message after the patient's last one), not its end
    const first = state.history[answeredFrom + 1];
    const anchor = answeredFrom < state.history.length - 1 && first && rendered.get(first.id);
    log.scrollTop = anchor ? anchor.offsetTop - 8 - (anchor.day ? anchor.day.offsetHeight + 10 : 0) : log.scrollHeight;
  }
  const late = connection === "online" && state.history.some((e) => e.status === "late");
  const shown = late ? "late" : connection;
  const text = late ? LATE : connectionText;
  if (statusLine.dataset.state !== shown || statusLine.textContent !== text) {
    statusLine.dataset.state = shown;
    statusLine.textContent = text;
  }
}

/* ---------- connection (Socket.IO v5 to Rasa's socketio channel) ---------- */

let socket = null;
let connection = "idle";
let connectionText = statusLine.textContent;
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
  connection = next;
  connectionText = text;
  updateBadge();
  render();
}

function setTyping(on) {
  clearTimeout(typingTimer);
  typing.hidden = !on;
  if (on) typingTimer = setTimeout(() => setTyping(false), TYPING_TIMEOUT_MS);
}

/* message_id: the same on a retry, so the server processes a message once (a retried duplicate is skipped). */
function metadata(messageId) {
  return {
    page_url: window.location.origin + window.location.pathname,
    widget_version: WIDGET_VERSION,
    message_id: messageId,
  };
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
  sendRatings();
  const live = liveTabs();
  const shared = loadState();
  if (shared.sessionId !== joined || !shared.outbox.some((item) => mine(item, live))) return;
  let sent = false;
  update((s) => {
    if (s.sessionId !== joined) return;
    s.outbox = s.outbox.filter((item) => {
      if (!mine(item, live)) return true;
      socket.emit(USER_EVENT, { message: item.message, session_id: joined, metadata: metadata(item.mid) });
      const entry = s.history.find((e) => e.id === item.entryId);
      if (entry) {
        entry.status = "sent";
        entry.sentAt = Date.now();
      }
      sent = true;
      return false;
    });
    if (sent) {
      s.lastSender = tabId;
      s.lastSentAt = Date.now();
    }
  });
  if (sent) {
    setTyping(true);
    setTimeout(checkLate, NO_ANSWER_MS + 100);
  }
}

/* Ratings not stored yet go once this socket has joined the session. Refused for good (not a message of this
   conversation): the choice is taken back; too many or a database error: tried again later. One rating per message
   in flight (the server would store two at once in any order): a choice changed meanwhile goes when it is answered. */
const inflight = {};

function sendRatings() {
  if (!confirmed || joined !== state.sessionId) return;
  Object.entries(state.ratings).forEach(([mid, x]) => {
    if (x.s || inflight[mid]) return;
    inflight[mid] = 1;
    socket.emit("feedback", { message_id: mid, rating: x.r }, (answer = {}) => {
      delete inflight[mid];
      let changed;
      update((s) => {
        const now = s.ratings[mid] || {};
        if (now.r && now.r !== x.r) return (changed = 1);
        if (answer.ok) now.s = 1;
        else if (/^(unk|mal)/.test(answer.reason)) delete s.ratings[mid];
      });
      if (changed) sendRatings();
    });
  });
}

/* What a message said, for Retry: the outbox holds it until it is sent; a masked one (ACC45, phone) is then
   kept only in this tab's memory, never in storage. A button's payload is stored with its entry. */
const said = {};

function retryText(entry) {
  return said[entry.mid] || entry.m || (!entry.k && entry.text);
}

function send(message, shown) {
  const text = String(message || "").trim();
  if (!text) return;
  const mid = randomId();
  said[mid] = text;
  update((s) => {
    const id = randomId();
    if (shown != null) {
      const safe = mask(String(shown));
      const entry = { id, mid, from: "user", text: safe, status: "queued", t: Date.now() };
      if (safe !== shown) entry.k = 1;
      else if (text !== safe) entry.m = text;
      s.history.push(entry);
    }
    s.outbox.push({ message: text, entryId: shown != null ? id : null, tab: tabId, mid });
  });
  connect();
  flush();
}

/** Retry: the same message with the same message_id, once per click (the button goes until it is late again). */
function retry(id) {
  update((s) => {
    const entry = s.history.find((e) => e.id === id);
    const text = entry && entry.status === "late" && retryText(entry);
    if (!text) return;
    entry.status = "queued";
    s.outbox.push({ message: text, entryId: id, tab: tabId, mid: entry.mid });
  });
  flush();
}

/** A message sent NO_ANSWER_MS ago and still unanswered is marked late (in every tab, through storage). */
function checkLate() {
  const now = Date.now();
  const late = (e) => e.status === "sent" && now - e.sentAt >= NO_ANSWER_MS;
  if (!state.history.some(late)) return;
  update((s) => s.history.forEach((e) => late(e) && (e.status = "late")));
  setTyping(false);
  log.scrollTop = log.scrollHeight; // Retry and the contact route in view
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
      .filter((b) => b && b.title && (b.payload || b.url))
      .map((b) => ({ title: String(b.title), payload: String(b.payload || ""), url: b.url ? String(b.url) : undefined })),
    t: Date.now(),
  };
  if (SESSION_ID.test(message.reply_to)) entry.rt = message.reply_to; // the patient message this answers
  if (!entry.text && !entry.image && !entry.buttons.length) return;
  update((s) => {
    s.history.forEach((e) => {
      if (e.status === "sent" || e.status === "late") {
        delete e.status;
        delete said[e.mid];
      }
    });
    s.history.push(entry);
  });
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
    Object.keys(inflight).forEach((key) => delete inflight[key]); // answers lost with the old socket
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
  fit();
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

/** A new conversation: the stored one (session id, history, outbox) is replaced, so this device keeps nothing of it. */
function newConversation() {
  const next = freshState();
  update((s) => {
    Object.keys(s).forEach((k) => delete s[k]);
    Object.assign(s, next);
  });
  Object.keys(said).forEach((k) => delete said[k]);
  setTyping(false);
  rejoin();
  welcome();
  input.focus();
}

function confirmEnd(show) {
  confirmBox.hidden = !show;
  (show ? noButton : endButton).focus();
}

launcher.addEventListener("click", () => (panel.hidden ? open() : close()));
closeButton.addEventListener("click", close);
endButton.addEventListener("click", () => confirmEnd(true));
noButton.addEventListener("click", () => confirmEnd(false));
yesButton.addEventListener("click", () => {
  confirmBox.hidden = true;
  newConversation();
});

const phone = window.matchMedia(SMALL);

/** Full screen on a phone, the chat is modal: Tab and Shift+Tab stay inside it. */
function keepFocusInside(event) {
  const focusable = Array.from(panel.querySelectorAll("a, button, textarea, [tabindex='0']")).filter(
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

/* Full screen, the panel takes the visual viewport's height: when the on-screen keyboard opens, the latest
   message stays in view above it. */
const viewport = window.visualViewport;

function fit() {
  const small = phone.matches;
  if (small) panel.setAttribute("aria-modal", "true");
  else panel.removeAttribute("aria-modal");
  if (!viewport) return;
  panel.style.height = small && viewport.scale < 1.01 ? viewport.height + "px" : "";
  if (small && !panel.hidden) log.scrollTop = log.scrollHeight;
}
fit();
if (phone.addEventListener) phone.addEventListener("change", fit);
if (viewport) viewport.addEventListener("resize", fit);

panel.addEventListener("keydown", (event) => {
  if (event.key === "Escape") {
    event.preventDefault();
    if (!confirmBox.hidden) confirmEnd(false);
    else close();
  } else if (event.key === "Tab" && phone.matches) {
    keepFocusInside(event);
  }
});

/** The message box grows with the text (CSS caps it); the counter shows from 800 characters. */
function grow() {
  input.style.height = "auto";
  input.style.height = input.scrollHeight + 2 + "px";
  const used = input.value.length;
  const left = MAX_CHARS - used;
  count.hidden = used < 800;
  count.textContent = used + "/" + MAX_CHARS;
  const step = count.hidden ? "" : String(Math.ceil(left / 50));
  if (countSr.dataset.step !== step) {
    countSr.dataset.step = step; // said politely every 50 characters, not at every key
    countSr.textContent = step && left + " characters left";
  }
}

function submit() {
  const text = input.value.trim();
  if (!text) return;
  input.value = "";
  grow();
  send(text, text);
}

input.addEventListener("input", grow);
input.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    submit();
  }
});
composer.addEventListener("submit", (event) => {
  event.preventDefault();
  submit();
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
    checkLate();
  }, HEARTBEAT_MS);
  render();
  setTimeout(checkLate, 1000);
  if (config.openOnLoad || storage.get("sessionStorage", KEY + ":open") === "1") open(false);
  else if (state.history.length) connect();
}

ns.instance = { version: WIDGET_VERSION, open, close, newConversation };
ns.version = WIDGET_VERSION;
if (document.body) mount();
else document.addEventListener("DOMContentLoaded", mount);
