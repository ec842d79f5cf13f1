// The sandbox chat page: users on the left, one conversation on the right, live over Server-Sent Events.
// A private chat's id is its user's id. The server keeps the users and every chat (across restarts
// too); its stream starts with a snapshot of them, which a reconnecting page simply rebuilds from.
import { agentHint } from "./page-strings.js";
import { post, setUpUserDialogs } from "./page-users.js";
import { avatar, chatItem, el, isTyping, languageOf, lastMessage, messageNode, nameOf, stringsOf } from "./page-view.js";

const CURRENT_KEY = "timbre.sandbox.current";
const TYPING_MS = 5000;
const NOTICE_MS = 3500;

const $ = (id) => document.getElementById(id);

/** chat id -> { id, user, messages: [{message_id, side, text, date, buttons?}], waiting, typingUntil, unread } */
const chats = new Map();
let current = Number(localStorage.getItem(CURRENT_KEY)) || null;
/** The running agent's name, and with AGENT=llm its model, from the snapshot. */
let agent = "coach";
let model;

function chatFor(id, user) {
  let chat = chats.get(id);
  if (!chat) chats.set(id, (chat = { id, user: null, messages: [], waiting: null, typingUntil: 0, unread: 0 }));
  if (user) chat.user = { id: user.id, first_name: user.first_name, language_code: user.language_code };
  return chat;
}

// ---- what the stream tells us ----

function applySnapshot(snapshot) {
  agent = snapshot.agent ?? agent;
  model = snapshot.model;
  const seen = new Set();
  for (const entry of snapshot.chats) {
    seen.add(entry.chat_id);
    const chat = chatFor(entry.chat_id, entry.user);
    // Bot messages that arrived while this page was away count as unread.
    const known = new Set(chat.messages.map((m) => m.message_id));
    if (entry.chat_id !== current && chat.messages.length) chat.unread += entry.messages.filter((m) => m.side === "bot" && !known.has(m.message_id)).length;
    chat.messages = entry.messages;
    chat.waiting = entry.waiting;
  }
  // The server is the record: a user removed elsewhere goes here too.
  for (const id of [...chats.keys()]) if (!seen.has(id)) chats.delete(id);
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
  renderList();
  if (chat_id === current) {
    appendBubble(chat, message);
    renderStatus(chat);
  }
}

/** A bot message changed (a chosen answer marked on its keyboard, or its text). */
function onEdited({ chat_id, message }) {
  const chat = chats.get(chat_id);
  const index = chat?.messages.findIndex((m) => m.message_id === message.message_id) ?? -1;
  if (index < 0) return;
  chat.messages[index] = message;
  if (chat_id === current) $("messages").querySelector(`:scope > [data-message-id="${message.message_id}"]`)?.replaceWith(nodeOf(chat, message));
  renderList();
}

function onTyping({ chat_id }) {
  const chat = chats.get(chat_id);
  if (!chat) return;
  chat.typingUntil = Date.now() + TYPING_MS;
  setTimeout(() => (chat_id === current ? render() : renderList()), TYPING_MS + 50);
  renderList();
  if (chat_id === current) renderStatus(chat);
}

function onWaiting({ chat_id, question }) {
  // Only chats the page shows: the snapshot and the user and message events bring them.
  const chat = chats.get(chat_id);
  if (!chat) return;
  chat.waiting = question;
  renderList();
  if (chat_id === current) renderStatus(chat);
}

/** The bot's answer to a tap, shown as Telegram shows it: briefly, over the chat. */
function onNotice({ chat_id, text }) {
  if (chat_id !== current) return;
  const notice = $("notice");
  notice.textContent = text;
  notice.hidden = false;
  clearTimeout(onNotice.timer);
  onNotice.timer = setTimeout(() => (notice.hidden = true), NOTICE_MS);
}

function onUser({ user }) {
  chatFor(user.id, user);
  renderList();
  if (user.id === current) render();
}

function onRemoved({ chat_id }) {
  chats.delete(chat_id);
  if (current === chat_id) current = null;
  render();
}

function connect() {
  const source = new EventSource("/sandbox/events");
  const on = (name, handler) => source.addEventListener(name, (event) => handler(JSON.parse(event.data)));
  on("snapshot", (data) => {
    setConnected(true);
    applySnapshot(data);
  });
  on("message", onMessage);
  on("edited", onEdited);
  on("typing", onTyping);
  on("waiting", onWaiting);
  on("notice", onNotice);
  on("user", onUser);
  on("removed", onRemoved);
  source.onerror = () => {
    setConnected(false);
    // EventSource retries by itself while the server is away; only a refused stream ends it.
    if (source.readyState === EventSource.CLOSED) setTimeout(connect, 2000);
  };
}

function setConnected(connected) {
  const label = $("connection");
  label.textContent = connected ? "online · emulated Telegram" : "reconnecting…";
  label.classList.toggle("offline", !connected);
  // Also where the label is hidden (a narrow screen): the logo greys out.
  document.body.classList.toggle("offline", !connected);
}

// ---- rendering ----

function renderList() {
  // Most recent activity first; a new user without messages sits on top.
  const activity = (chat) => lastMessage(chat)?.date ?? Infinity;
  const sorted = [...chats.values()].sort((a, b) => activity(b) - activity(a) || 0);
  $("chat-list").replaceChildren(...sorted.map((chat) => chatItem(chat, chat.id === current, () => select(chat.id))));
  const unread = sorted.reduce((sum, chat) => sum + chat.unread, 0);
  document.title = unread ? `(${unread}) timbre sandbox` : "timbre sandbox";
}

/** A message of `chat` whose buttons tap as its user. */
const nodeOf = (chat, message) => messageNode(message, (button, node) => tap(chat, message, button, node));

function appendBubble(chat, message) {
  const list = $("messages");
  list.querySelector(".hint")?.remove();
  const node = nodeOf(chat, message);
  node.classList.add("new");
  list.append(node);
  list.scrollTop = list.scrollHeight;
}

function renderStatus(chat) {
  const s = stringsOf(chat);
  const status = $("chat-status");
  status.className = isTyping(chat) ? "typing" : chat.waiting ? "waiting-text" : "";
  status.textContent = isTyping(chat) ? s.botTyping : chat.waiting ? s.waitingStatus : s.privateChat;
  $("waiting").hidden = !chat.waiting;
  $("input").placeholder = chat.waiting ? s.answer : s.message;
}

/** The conversation pane's own strings, in the chat's language. */
function renderStrings(chat) {
  const s = stringsOf(chat);
  document.documentElement.lang = languageOf(chat);
  $("waiting-text").textContent = s.waitingBanner;
  $("input").setAttribute("aria-label", s.message);
  $("send").title = s.send;
  $("send").setAttribute("aria-label", s.send);
  $("cancel").title = s.sendCancel;
  $("remove-user").title = s.remove(nameOf(chat));
  $("remove-user").setAttribute("aria-label", s.remove(nameOf(chat)));
}

function render() {
  renderList();
  const chat = chats.get(current);
  $("empty").hidden = Boolean(chat);
  for (const id of ["chat-head", "messages", "composer"]) $(id).hidden = !chat;
  if (!chat) {
    $("waiting").hidden = true;
    $("notice").hidden = true;
    document.documentElement.lang = "en";
    return;
  }
  $("chat-avatar").replaceWith(Object.assign(avatar(chat), { id: "chat-avatar" }));
  $("chat-name").textContent = nameOf(chat);
  const list = $("messages");
  const hint = el("div", { class: "hint" }, agentHint(agent, languageOf(chat), model));
  list.replaceChildren(...(chat.messages.length ? chat.messages.map((m) => nodeOf(chat, m)) : [hint]));
  list.scrollTop = list.scrollHeight;
  renderStrings(chat);
  renderStatus(chat);
}

function select(id) {
  current = id;
  localStorage.setItem(CURRENT_KEY, String(id));
  chats.get(id).unread = 0;
  $("error").hidden = true;
  // A tap's notice is about the chat it was tapped in.
  $("notice").hidden = true;
  render();
  $("input").focus();
}

// ---- actions ----

function showError(text) {
  const error = $("error");
  error.hidden = text === null;
  if (text !== null) error.textContent = text;
}

/** Sends as the chat's user; a refused text goes back into an empty composer, to fix and send again. */
async function send(text, composed = false) {
  const chat = chats.get(current);
  if (!chat?.user || text.trim() === "") return;
  const answer = await post("/sandbox/send", { user: chat.user, text });
  showError(answer.ok ? null : `${stringsOf(chat).notSent}${answer.error}`);
  if (!answer.ok && composed && chat.id === current && input.value === "") {
    input.value = text;
    input.dispatchEvent(new Event("input"));
  }
}

/** Taps an inline button as the chat's user: a callback query reaches the bot. */
async function tap(chat, message, button, node) {
  if (!chat.user) return;
  node.classList.add("pressed");
  const answer = await post("/sandbox/tap", { user: chat.user, message_id: message.message_id, button: button.callback_data ?? button.text });
  node.classList.remove("pressed");
  if (chat.id === current) showError(answer.ok ? null : `${stringsOf(chat).tapFailed}${answer.error}`);
}

setUpUserDialogs({
  taken: (id) => chats.has(id),
  current: () => chats.get(current),
  created: (user) => {
    chatFor(user.id, user);
    select(user.id);
  },
  removed: (id) => onRemoved({ chat_id: id }),
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
  void send(text, true);
});
$("cancel").addEventListener("click", () => void send("/cancel"));
document.addEventListener("visibilitychange", () => {
  const chat = chats.get(current);
  if (!document.hidden && chat?.unread) {
    chat.unread = 0;
    renderList();
  }
});

localStorage.removeItem("timbre.sandbox.users"); // users lived in the browser before the server kept them
render();
connect();
