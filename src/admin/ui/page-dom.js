// Small helpers of the dashboard: building elements (text only, never HTML) and showing times.

/** Builds an element: el("div", { class: "x" }, child, "text"). Strings become text nodes, so chat texts are never markup. */
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith("on") && typeof value === "function") node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : String(value));
  }
  node.append(...children.flat().filter((child) => child !== null && child !== undefined && child !== false));
  return node;
}

/** Replaces a container's children, unless what it shows is unchanged (keeps focus, scroll and half-done clicks). */
export function show(container, key, build) {
  if (container.dataset.key === key) return;
  container.dataset.key = key;
  container.replaceChildren(...[build()].flat());
}

const pad = (n) => String(n).padStart(2, "0");

/** "14:05:09" today, "Jan 31 14:05" another day (local time). */
export function clock(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  const time = `${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
  if (date.toDateString() === new Date().toDateString()) return time;
  return `${date.toLocaleString("en", { month: "short" })} ${date.getDate()} ${time.slice(0, 5)}`;
}

/** "45 s", "3 min", "2 h 5 min", "3 d 4 h". */
export function duration(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s} s`;
  const min = Math.floor(s / 60);
  if (min < 60) return `${min} min`;
  const h = Math.floor(min / 60);
  if (h < 24) return min % 60 ? `${h} h ${min % 60} min` : `${h} h`;
  const d = Math.floor(h / 24);
  return h % 24 ? `${d} d ${h % 24} h` : `${d} d`;
}

/** How long something took: "40 ms", "2.5 s", then as duration(). */
export function elapsed(ms) {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))} ms`;
  if (ms < 10_000) return `${(ms / 1000).toFixed(1)} s`;
  return duration(ms);
}

/** "in 23 h 59 min" or "5 min ago". */
export function relative(iso) {
  const ms = Date.parse(iso) - Date.now();
  return ms >= 0 ? `in ${duration(ms)}` : `${duration(-ms)} ago`;
}

/** A time element: the clock time, the full time on hover. */
export function when(iso, prefix = "") {
  return el("time", { datetime: iso, title: new Date(iso).toString() }, `${prefix}${clock(iso)}`);
}

export function badge(status) {
  return el("span", { class: `badge status-${status}` }, status.replace("_", " "));
}

/** At most `max` characters of `text`, with an ellipsis when cut. */
export function cut(text, max) {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

/** A value as pretty JSON (results, memory). */
export function json(value) {
  return el("pre", { class: "json" }, JSON.stringify(value, null, 2) ?? "undefined");
}

/** The message an update carries, whatever its kind (a message, an edit, a business or channel message). */
export function updateMessage(update) {
  return update?.message ?? update?.edited_message ?? update?.business_message ?? update?.edited_business_message ?? update?.channel_post ?? update?.edited_channel_post;
}
