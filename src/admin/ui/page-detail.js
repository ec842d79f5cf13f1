// The run pane: one run's head (status, conversation, times, Cancel with its confirmation) over
// its journal. Builders only; the page's state and actions come in as arguments and callbacks.
import { badge, el, when } from "./page-dom.js";
import { timeline } from "./page-journal.js";

/** What the pane says before a run is picked. */
export function detailPlaceholder() {
  return el(
    "div",
    { class: "placeholder" },
    el("strong", {}, "Pick a run to see its journal."),
    el("p", {}, "Every reply (with its Telegram message id), question and answer, step with its result or error, sleep and memory write, in order, updated live."),
  );
}

/** Cancel, or while `confirming` is this run, the question that confirms it. */
export function cancelControl(runId, confirming, { confirm, cancel }) {
  if (confirming !== runId) return el("button", { type: "button", class: "danger", "data-cancel-run": runId, onclick: () => confirm(runId) }, "Cancel run");
  return el(
    "span",
    { class: "confirm" },
    `Cancel run #${runId}? It ends now and the user is told. `,
    el("button", { type: "button", class: "danger", "data-confirm-cancel": runId, onclick: () => cancel(runId) }, "Yes, cancel it"),
    el("button", { type: "button", class: "ghost", onclick: () => confirm(null) }, "Keep it"),
  );
}

/** A run's head and journal (or why it cannot be shown: `run.gone`). */
export function runDetail(run, { back, filterConversation, cancelControl, retryMessage }) {
  const backButton = el("button", { type: "button", class: "ghost back", onclick: back }, "← Runs");
  if (run.gone !== undefined) return [backButton, el("p", { class: "placeholder" }, `Run #${run.gone} cannot be shown: ${run.error}. Ended runs are kept 7 days.`)];
  const conversation = el("button", { type: "button", class: "link", title: "Show only this conversation's runs", onclick: () => filterConversation(run.conversation) }, `chat ${run.conversation}`);
  return [
    el(
      "header",
      { class: "detail-head" },
      backButton,
      el("h2", {}, `Run #${run.id} `, badge(run.status)),
      el("p", { class: "meta" }, conversation, " · started ", when(run.created_at), run.ended_at ? [" · ended ", when(run.ended_at)] : null),
      run.status === "running" || run.status === "waiting" ? cancelControl(run.id) : null,
    ),
    timeline(run, retryMessage),
  ];
}
