// The sandbox chat page: users on the left, one conversation on the right, live over Server-Sent Events.
// A private chat's id is its user's id. The server's stream starts with a snapshot of every chat.
"use strict";

const USERS_KEY = "timbre.sandbox.users";
const CURRENT_KEY = "timbre.sandbox.current";
const TYPING_MS = 5000;
const COLORS = ["#e17076", "#7bc862", "#65aadd", "#a695e7", "#ee7aae", "#6ec9cb", "#faa774"];

const $ = (id) => document.getElementById(id);

/** chat id -> { id, user, messages: [{message_id, side, text, date}], waiting, typingUntil, unread } */
const chats = new Map();
let current = Number(localStorage.getItem(CURRENT_KEY)) || null;

/** Builds an element: el("div", { class: "x" }, child, "text"). */
function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value !== undefined && value !== null && value !== false) node.setAttribute(name, value);
  }
  node.append(...children.filter((child) => child !== null && child !== undefined));
  return node;
}

function chatFor(id, user) {
  let chat = chats.get(id);
  if (!chat) chats.set(id, (chat = { id, user: null, messages: [], waiting: null, typingUntil: 0, unread: 0 }));
  if (user) chat.user = { id: user.id, first_name: user.first_name, language_code: user.language_code };
  return chat;
}

function saveUsers() {
  const users = [...chats.values()].map((chat) => chat.user).filter(Boolean);
  localStorage.setItem(USERS_KEY, JSON.stringify(users));
}

function loadUsers() {
  try {
    for (const user of JSON.parse(localStorage.getItem(USERS_KEY) ?? "[]")) chatFor(user.id, user);
  } catch {
    localStorage.removeItem(USERS_KEY);
  }
}

// ---- what the stream tells us ----

function applySnapshot({ chats: history }) {
  for (const entry of history) {
    const chat = chatFor(entry.chat_id, entry.user);
    chat.messages = entry.messages;
    chat.waiting = entry.waiting;
  }
  saveUsers();
  if (current !== null && !chats.has(current)) current = null;
  render();
}

function onMessage({ chat_id, user, message }) {
  const chat = chatFor(chat_id, user);
  if (chat.messages.some((m) => m.message_id === message.message_id)) return;
  chat.messages.push(message);
  if (message.side === "bot") {
    chat.typingUntil = 0;
    if (chat_id !== current || document.hidden) chat.unread += 1;
  }
  if (user) saveUsers();
  renderList();
  if (chat_id === current) {
    appendBubble(message);
    renderStatus(chat);
  }
}

function onTyping({ chat_id }) {
  const chat = chatFor(chat_id);
  chat.typingUntil = Date.now() + TYPING_MS;
  setTimeout(() => (chat_id === current ? render() : renderList()), TYPING_MS + 50);
  renderList();
  if (chat_id === current) renderStatus(chat);
}

function onWaiting({ chat_id, question }) {
  const chat = chatFor(chat_id);
  chat.waiting = question;
  renderList();
  if (chat_id === current) renderStatus(chat);
}

function connect() {
  const source = new EventSource("/sandbox/events");
  const on = (name, handler) => source.addEventListener(name, (event) => handler(JSON.parse(event.data)));
  on("snapshot", (data) => {
    setConnected(true);
    applySnapshot(data);
  });
  on("message", onMessage);
  on("typing", onTyping);
  on("waiting", onWaiting);
  source.onerror = () => setConnected(false); // EventSource reconnects by itself
}

function setConnected(connected) {
  const label = $("connection");
  label.textContent = connected ? "online · emulated Telegram" : "reconnecting…";
  label.classList.toggle("offline", !connected);
}

// ---- rendering ----

const isTyping = (chat) => chat.typingUntil > Date.now();
const lastMessage = (chat) => chat.messages[chat.messages.length - 1];
const nameOf = (chat) => chat.user?.first_name ?? `chat ${chat.id}`;
const languageOf = (chat) => (chat.user?.language_code?.startsWith("es") ? "es" : "en");

function time(date) {
  return new Date(date * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", hour12: false });
}

function avatar(chat, extraClass = "") {
  const color = COLORS[Math.abs(chat.id) % COLORS.length];
  return el("div", { class: `avatar ${extraClass}`, style: `background:${color}` }, nameOf(chat).slice(0, 1).toUpperCase());
}

function renderList() {
  // Most recent activity first; a new user without messages sits on top.
  const activity = (chat) => lastMessage(chat)?.date ?? Infinity;
  const sorted = [...chats.values()].sort((a, b) => activity(b) - activity(a) || 0);
  $("chat-list").replaceChildren(...sorted.map(chatItem));
  const unread = sorted.reduce((sum, chat) => sum + chat.unread, 0);
  document.title = unread ? `(${unread}) timbre sandbox` : "timbre sandbox";
}

function chatItem(chat) {
  const last = lastMessage(chat);
  const preview = isTyping(chat)
    ? el("span", { class: "typing" }, "typing…")
    : el("span", {}, last ? `${last.side === "user" ? "You: " : ""}${last.text.split("\n")[0]}` : "no messages yet");
  const marker = chat.unread
    ? el("span", { class: "badge", title: "unread" }, String(chat.unread))
    : chat.waiting
      ? el("span", { class: "waiting-dot", title: "the bot is waiting for this user's answer" })
      : null;
  const item = el(
    "li",
    { class: `chat-item${chat.id === current ? " active" : ""}`, "data-chat-id": chat.id, "data-waiting": chat.waiting ? "true" : null, tabindex: 0 },
    avatar(chat),
    el(
      "div",
      { class: "chat-item-body" },
      el("div", { class: "row" }, el("strong", { class: "name" }, nameOf(chat), el("span", { class: "lang" }, languageOf(chat))), el("time", {}, last ? time(last.date) : "")),
      el("div", { class: "row" }, el("span", { class: "preview" }, preview), marker),
    ),
  );
  item.addEventListener("click", () => select(chat.id));
  item.addEventListener("keydown", (event) => event.key === "Enter" && select(chat.id));
  return item;
}

function bubble(message) {
  return el(
    "div",
    { class: `bubble ${message.side}`, "data-message-id": message.message_id },
    el("span", { class: "text" }, message.text),
    el("time", {}, time(message.date)),
  );
}

function appendBubble(message) {
  const list = $("messages");
  list.querySelector(".hint")?.remove();
  list.append(Object.assign(bubble(message), { className: `bubble ${message.side} new` }));
  list.scrollTop = list.scrollHeight;
}

function renderStatus(chat) {
  const status = $("chat-status");
  status.className = isTyping(chat) ? "typing" : chat.waiting ? "waiting-text" : "";
  status.textContent = isTyping(chat) ? "bot is typing…" : chat.waiting ? "waiting for your answer" : `private chat with the bot · ${languageOf(chat) === "es" ? "Español" : "English"}`;
  $("waiting").hidden = !chat.waiting;
  $("input").placeholder = chat.waiting ? "Your answer…" : "Message";
}

function render() {
  renderList();
  const chat = chats.get(current);
  $("empty").hidden = Boolean(chat);
  for (const id of ["chat-head", "messages", "composer"]) $(id).hidden = !chat;
  if (!chat) {
    $("waiting").hidden = true;
    return;
  }
  $("chat-avatar").replaceWith(Object.assign(avatar(chat), { id: "chat-avatar" }));
  $("chat-name").textContent = nameOf(chat);
  const list = $("messages");
  const hint = el("div", { class: "hint" }, "Say hi to start. The default agent, the coach, asks your goal, days per week and level, then sends a plan. /start explains it, /cancel stops it.");
  list.replaceChildren(...(chat.messages.length ? chat.messages.map(bubble) : [hint]));
  list.scrollTop = list.scrollHeight;
  renderStatus(chat);
}

function select(id) {
  current = id;
  localStorage.setItem(CURRENT_KEY, String(id));
  chats.get(id).unread = 0;
  $("error").hidden = true;
  render();
  $("input").focus();
}

// ---- actions ----

async function send(text) {
  const chat = chats.get(current);
  if (!chat?.user || text.trim() === "") return;
  const response = await fetch("/sandbox/send", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ user: chat.user, text }),
  }).catch((error) => ({ ok: false, json: async () => ({ error: String(error) }) }));
  const error = $("error");
  error.hidden = response.ok;
  if (!response.ok) error.textContent = `Not sent: ${(await response.json()).error}`;
}

function createUser(name, language) {
  let id;
  do id = 100_000_000 + Math.floor(Math.random() * 900_000_000);
  while (chats.has(id));
  chatFor(id, { id, first_name: name, language_code: language });
  saveUsers();
  select(id);
}

function openUserDialog() {
  $("user-form").reset();
  $("user-dialog").showModal();
  $("user-name").focus();
}

$("new-user").addEventListener("click", openUserDialog);
$("empty-new-user").addEventListener("click", openUserDialog);
$("user-cancel").addEventListener("click", () => $("user-dialog").close());
$("user-form").addEventListener("submit", (event) => {
  const form = new FormData(event.target);
  const name = String(form.get("name")).trim();
  if (!name) return event.preventDefault();
  createUser(name, String(form.get("language")));
});

const input = $("input");
input.addEventListener("keydown", (event) => {
  if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    $("composer").requestSubmit();
  }
});
input.addEventListener("input", () => {
  input.style.height = "auto";
  input.style.height = `${Math.min(input.scrollHeight, 160)}px`;
});
$("composer").addEventListener("submit", (event) => {
  event.preventDefault();
  const text = input.value;
  input.value = "";
  input.dispatchEvent(new Event("input"));
  void send(text);
});
$("cancel").addEventListener("click", () => void send("/cancel"));
document.addEventListener("visibilitychange", () => {
  const chat = chats.get(current);
  if (!document.hidden && chat?.unread) {
    chat.unread = 0;
    renderList();
  }
});

loadUsers();
render();
connect();
