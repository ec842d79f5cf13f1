// The sandbox page's building blocks: elements for chats, bubbles and inline keyboards.
import { PAGE_STRINGS } from "./page-strings.js";

const COLORS = ["#e17076", "#7bc862", "#65aadd", "#a695e7", "#ee7aae", "#6ec9cb", "#faa774"];

/** Builds an element: el("div", { class: "x" }, child, "text"). */
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value !== undefined && value !== null && value !== false) node.setAttribute(name, value);
  }
  node.append(...children.filter((child) => child !== null && child !== undefined));
  return node;
}

export const isTyping = (chat) => chat.typingUntil > Date.now();
export const lastMessage = (chat) => chat.messages[chat.messages.length - 1];
export const nameOf = (chat) => chat.user?.first_name ?? `chat ${chat.id}`;
export const languageOf = (chat) => (chat?.user?.language_code?.startsWith("es") ? "es" : "en");
export const stringsOf = (chat) => PAGE_STRINGS[languageOf(chat)];

export function time(date) {
  return new Date(date * 1000).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", hour12: false });
}

export function avatar(chat, extraClass = "") {
  const color = COLORS[Math.abs(chat.id) % COLORS.length];
  return el("div", { class: `avatar ${extraClass}`, style: `background:${color}` }, nameOf(chat).slice(0, 1).toUpperCase());
}

/** A chat in the sidebar: name, language, last line or typing, the waiting dot and the unread badge. */
export function chatItem(chat, active, onSelect) {
  const s = stringsOf(chat);
  const last = lastMessage(chat);
  const preview = isTyping(chat)
    ? el("span", { class: "typing" }, s.typing)
    : el("span", {}, last ? `${last.side === "user" ? s.you : ""}${last.text.split("\n")[0]}` : s.noMessages);
  // Both at once: a waiting question and unread messages are different things to know.
  const markers = el(
    "span",
    { class: "markers" },
    chat.waiting ? el("span", { class: "waiting-dot", title: s.waitingDot }) : null,
    chat.unread ? el("span", { class: "badge", title: s.unread }, String(chat.unread)) : null,
  );
  const item = el(
    "li",
    { class: `chat-item${active ? " active" : ""}`, "data-chat-id": chat.id, "data-waiting": chat.waiting ? "true" : null, tabindex: 0, title: nameOf(chat) },
    avatar(chat),
    el(
      "div",
      { class: "chat-item-body" },
      el("div", { class: "row" }, el("strong", { class: "name" }, nameOf(chat), el("span", { class: "lang" }, languageOf(chat))), el("time", {}, last ? time(last.date) : "")),
      el("div", { class: "row" }, el("span", { class: "preview" }, preview), markers),
    ),
  );
  item.addEventListener("click", onSelect);
  item.addEventListener("keydown", (event) => event.key === "Enter" && onSelect());
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

/** A message; a bot's with its inline keyboard below it, as Telegram shows one. `onTap(button, node)` taps a button. */
export function messageNode(message, onTap) {
  if (!message.buttons) return bubble(message);
  const key = (button) =>
    button.url
      ? el("a", { class: "key", href: button.url, target: "_blank", rel: "noopener" }, button.text)
      : Object.assign(el("button", { class: "key", type: "button", "data-button": button.callback_data }, button.text), {
          onclick: (event) => onTap(button, event.currentTarget),
        });
  const keyboard = el("div", { class: "keyboard" }, ...message.buttons.map((row) => el("div", { class: "keyboard-row" }, ...row.map(key))));
  const inner = bubble(message);
  inner.removeAttribute("data-message-id");
  return el("div", { class: "with-keyboard", "data-message-id": message.message_id }, inner, keyboard);
}
