// The dashboard's lists, item by item: counts, runs, pending questions, failed updates and
// messages, and what each says when it is empty. Actions come in as callbacks.
import { badge, clock, cut, el, relative, updateMessage, when } from "./page-dom.js";

const GROUPS = [
  ["updates", "Updates", ["received", "processing", "done", "failed"]],
  ["runs", "Runs", ["running", "waiting", "done", "failed", "cancelled"]],
  ["outbox", "Outbox", ["queued", "sending", "sent", "failed"]],
];

/** /admin/stats as three cards of counts by status. */
export function statCards(stats) {
  return GROUPS.map(([key, title, statuses]) =>
    el(
      "div",
      { class: "stat-card", "data-group": key },
      el("h3", {}, title),
      el(
        "dl",
        {},
        statuses.map((status) =>
          el("div", { class: `stat${stats[key][status] > 0 ? " nonzero" : ""}`, "data-status": status }, el("dt", {}, status), el("dd", { "data-count": `${key}.${status}` }, String(stats[key][status]))),
        ),
      ),
    ),
  );
}

export function runItem(run, selected, onOpen) {
  const summary = run.pending_question
    ? `waiting on: ${cut(run.pending_question.text, 90)}`
    : run.error
      ? cut(run.error, 90)
      : run.ended_at
        ? `ended ${clock(run.ended_at)}`
        : `agent ${run.agent} at work`;
  return el(
    "li",
    {},
    el(
      "button",
      { type: "button", class: "run-item", "data-run-id": run.id, "aria-current": selected ? "true" : null, onclick: () => onOpen(run.id) },
      el("span", { class: "row" }, el("strong", {}, `#${run.id}`), badge(run.status), el("span", { class: "conversation" }, `chat ${run.conversation}`), el("span", { class: "ago" }, relative(run.created_at))),
      el("span", { class: "row muted" }, summary),
    ),
  );
}

export function noRuns(filtered, onClear) {
  if (filtered) return el("li", { class: "empty" }, "No runs match these filters. ", el("button", { type: "button", class: "small ghost", onclick: onClear }, "Clear the filters"));
  return el(
    "li",
    { class: "empty" },
    el("strong", {}, "No runs yet."),
    " A run starts when someone writes to the bot. In sandbox mode, open ",
    el("a", { href: "/sandbox", target: "_blank", rel: "noopener" }, "/sandbox"),
    ", create a user and say hi: the run shows here within seconds.",
  );
}

/**
 * The runs waiting on a question, with their deadlines, and a line for the `others` that wait on
 * something else; `cancelControl(runId)` builds the cancel button.
 */
export function questionItems(questions, others, onOpen, cancelControl) {
  const items = questions.map((run) => {
    const q = run.pending_question;
    return el(
      "li",
      { class: "card-item question-item", "data-run-id": run.id },
      el("p", { class: "said" }, q.text),
      el("p", { class: "meta" }, `chat ${run.conversation} · run #${run.id} · asked `, when(q.asked_at), q.deadline_at ? ` · times out at ${clock(q.deadline_at)} (${relative(q.deadline_at)})` : ""),
      el("div", { class: "actions" }, el("button", { type: "button", class: "small", onclick: () => onOpen(run.id) }, "Open journal"), cancelControl(run.id)),
    );
  });
  if (items.length === 0) {
    items.push(el("li", { class: "empty" }, el("strong", {}, "No question is waiting for an answer."), " When an agent calls ctx.ask, its question shows here with its deadline until the user answers."));
  }
  if (others > 0) items.push(el("li", { class: "muted" }, `${others} more waiting run${others === 1 ? " waits" : "s wait"} on ctx.sleep or a step's next attempt.`));
  return items;
}

export function failedUpdateItems(updates, onRetry) {
  if (updates.length === 0) {
    return el("li", { class: "empty" }, el("strong", {}, "No failed updates."), " When the agent throws on an update it lands here with the error; fix the cause, then retry it.");
  }
  return updates.map((u) =>
    el(
      "li",
      { class: "card-item failed-update", "data-update-id": u.update_id },
      el("p", { class: "row" }, el("strong", {}, `Update ${u.update_id}`), el("span", { class: "muted" }, `${u.kind}${u.chat_id !== null ? ` · chat ${u.chat_id}` : ""} · received `, when(u.received_at))),
      typeof updateMessage(u.update)?.text === "string" ? el("p", { class: "said user" }, cut(updateMessage(u.update).text, 300)) : null,
      el("p", { class: "error-text" }, u.error ?? "failed"),
      el("div", { class: "actions" }, el("button", { type: "button", class: "small", "data-retry-update": u.update_id, onclick: () => onRetry(u.update_id) }, "Retry")),
    ),
  );
}

export function failedMessageItems(messages, onRetry, onOpen) {
  if (messages.length === 0) {
    return el("li", { class: "empty" }, el("strong", {}, "No failed messages."), " Messages Telegram refuses (the user blocked the bot, the chat is gone) land here with Telegram's error; retry once the cause is gone.");
  }
  return messages.map((m) =>
    el(
      "li",
      { class: "card-item failed-message", "data-outbox-id": m.id },
      el(
        "p",
        { class: "row" },
        el("strong", {}, `Message #${m.id}`),
        el("span", { class: "muted" }, `to chat ${m.chat_id} · ${m.attempts} attempt${m.attempts === 1 ? "" : "s"} · failed `, when(m.updated_at)),
        m.run_id !== null ? el("button", { type: "button", class: "link", onclick: () => onOpen(m.run_id) }, `run #${m.run_id}`) : null,
      ),
      el("p", { class: "said" }, cut(m.text, 300)),
      el("p", { class: "error-text" }, m.last_error ?? "failed"),
      el("div", { class: "actions" }, el("button", { type: "button", class: "small", "data-retry-message": m.id, onclick: () => onRetry(m.id) }, "Retry")),
    ),
  );
}
