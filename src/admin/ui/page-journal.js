// A run's journal (GET /admin/runs/{id}) as a timeline: what started it, every reply, question,
// step, sleep and memory write in order, timbre's own notices, and how it ended.
import { badge, clock, duration, elapsed, el, json, relative, when, updateMessage } from "./page-dom.js";

const TITLES = { reply: "Reply", ask: "Question", step: "Step", sleep: "Sleep", remember: "Memory write" };
const MARKS = { trigger: "▶", reply: "↩", ask: "?", step: "⚙", sleep: "☾", remember: "✎", notice: "i", end: "■" };

const quote = (text) => `“${text}”`;
const took = (entry) => (entry.finished_at ? elapsed(Date.parse(entry.finished_at) - Date.parse(entry.created_at)) : null);
const plural = (n, word) => `${n} ${word}${n === 1 ? "" : "s"}`;

function item(kind, state, title, time, ...content) {
  return el(
    "li",
    { class: `entry kind-${kind}${state ? ` state-${state}` : ""}`, "data-kind": kind },
    el("span", { class: "mark", "aria-hidden": "true" }, MARKS[kind] ?? "•"),
    el("div", { class: "entry-body" }, el("div", { class: "entry-head" }, el("strong", {}, title), state ? badge(state) : null, time ? when(time) : null), ...content),
  );
}

/** Where the messages of a reply or question stand in Telegram: their message ids, or why not. */
function delivery(messages, onRetry) {
  if (messages.length === 0) return el("p", { class: "meta" }, "No outbox row is kept for it any more (sent messages are pruned after 48 h).");
  return el(
    "ul",
    { class: "deliveries" },
    messages.map((m) => {
      if (m.status === "sent") return el("li", { class: "delivery sent" }, `Telegram message #${m.message_id}`);
      if (m.status === "failed") {
        return el(
          "li",
          { class: "delivery failed" },
          `Not delivered: ${m.last_error ?? "failed"} `,
          el("button", { type: "button", class: "small", "data-retry-message": m.outbox_id, onclick: () => onRetry(m.outbox_id) }, "Retry"),
        );
      }
      return el("li", { class: "delivery pending" }, m.status === "sending" ? "Sending to Telegram…" : `Queued to send${m.last_error ? ` (last error: ${m.last_error})` : ""}`);
    }),
  );
}

function question(entry, onRetry) {
  const parts = [el("p", { class: "said" }, entry.text)];
  if (entry.choices) parts.push(el("p", { class: "choices" }, "Buttons: ", entry.choices.map((choice) => el("span", { class: "chip" }, choice))));
  parts.push(delivery(entry.messages, onRetry));
  if (entry.state === "waiting") parts.push(el("p", { class: "wait" }, `Waiting for the answer · times out at ${clock(entry.deadline_at)} (${relative(entry.deadline_at)})`));
  if (entry.state === "answered") {
    parts.push(el("p", { class: "answer" }, el("span", { class: "label" }, "Answer "), el("span", { class: "answer-text" }, quote(entry.answer ?? ""))));
    parts.push(el("p", { class: "meta" }, `answered at ${clock(entry.finished_at)} after ${took(entry)}${entry.answer_update_id !== null ? ` · update ${entry.answer_update_id}` : ""}`));
  }
  if (entry.state === "timed_out") parts.push(el("p", { class: "error-text" }, `No answer by ${clock(entry.deadline_at)}: the question timed out.`));
  if (entry.state === "cancelled") parts.push(el("p", { class: "meta" }, "Cancelled with the run before an answer came."));
  return parts;
}

function step(entry) {
  const spent = took(entry);
  const attempts = entry.attempts ?? 1;
  if (entry.state === "failed") {
    return [el("p", { class: "error-text" }, entry.error ?? "failed"), el("p", { class: "meta" }, `${plural(attempts, "attempt")}, then gave up${spent ? ` after ${spent}` : ""} (StepFailedError)`)];
  }
  // Between attempts: the last one's error, and when the next comes.
  if (entry.state === "retrying") {
    return [el("p", { class: "error-text" }, entry.error ?? "failed"), el("p", { class: "wait" }, `${plural(attempts, "attempt")} failed so far · next at ${clock(entry.deadline_at)} (${relative(entry.deadline_at)})`)];
  }
  if (entry.state === "cancelled") return [el("p", { class: "meta" }, `${plural(attempts, "attempt")} failed; cancelled with the run before the next.`)];
  return [el("p", { class: "meta" }, `${plural(attempts, "attempt")}${spent ? ` · took ${spent}` : ""}`), entry.result === null ? el("p", { class: "meta" }, "returned nothing") : json(entry.result)];
}

function sleep(entry) {
  const length = duration(Date.parse(entry.deadline_at) - Date.parse(entry.created_at));
  if (entry.state === "waiting") return [el("p", { class: "wait" }, `Sleeping ${length} · wakes at ${clock(entry.deadline_at)} (${relative(entry.deadline_at)})`)];
  if (entry.state === "cancelled") return [el("p", { class: "meta" }, `Was to sleep ${length}; cancelled with the run.`)];
  return [el("p", { class: "meta" }, `Slept ${length} · woke at ${clock(entry.finished_at)}`)];
}

function entryItem(entry, onRetry) {
  const title = entry.kind === "step" ? `Step ${quote(entry.name)}` : TITLES[entry.kind];
  const content =
    entry.kind === "reply"
      ? [el("p", { class: "said" }, entry.text), delivery(entry.messages, onRetry)]
      : entry.kind === "ask"
        ? question(entry, onRetry)
        : entry.kind === "step"
          ? step(entry)
          : entry.kind === "sleep"
            ? sleep(entry)
            : [el("p", { class: "meta" }, "The conversation's memory is now:"), json(entry.result)];
  const li = item(entry.kind, entry.state, title, entry.created_at, ...content);
  li.dataset.seq = String(entry.seq);
  return li;
}

function trigger(run) {
  const update = run.trigger_update;
  const message = updateMessage(update);
  const kind = Object.keys(update).find((key) => key !== "update_id") ?? "update";
  return item(
    "trigger",
    null,
    `Started by update ${update.update_id}`,
    run.created_at,
    typeof message?.text === "string" ? el("p", { class: "said user" }, message.text) : el("p", { class: "meta" }, `a ${kind} without text`),
    el("p", { class: "meta" }, `agent ${run.agent}${run.agent_version ? ` · version ${run.agent_version}` : ""}`),
  );
}

/** The timeline of one run, oldest first. `onRetry(outboxId)` retries a failed message. */
export function timeline(run, onRetry) {
  const items = [trigger(run), ...run.journal.map((entry) => entryItem(entry, onRetry))];
  for (const notice of run.notices) items.push(item("notice", null, "timbre told the user", null, el("p", { class: "said" }, notice.text), delivery([notice], onRetry)));
  if (run.ended_at) {
    items.push(item("end", run.status, `Ended ${run.status}`, run.ended_at, run.error ? el("p", { class: "error-text" }, run.error) : null));
  } else if (run.journal.length === 0) {
    items.push(el("li", { class: "entry kind-none" }, el("span", { class: "mark", "aria-hidden": "true" }, "…"), el("div", { class: "entry-body meta" }, "Nothing journaled yet: the agent is working.")));
  }
  return el("ol", { class: "timeline", id: "timeline" }, items);
}
