// The operator's dashboard: every datum comes from the admin API with the bearer token, which is
// asked for once and kept in sessionStorage only (this tab; never in a URL or localStorage).
// Polls every few seconds; re-renders a part only when what it shows changed.
import { api, newest, Refused, request, TOKEN_KEY } from "./page-api.js";
import { cancelControl as cancelOrConfirm, detailPlaceholder, runDetail } from "./page-detail.js";
import { clock, duration, el, show } from "./page-dom.js";
import { failedMessageItems, failedUpdateItems, noRuns, questionItems, runItem, statCards } from "./page-lists.js";

const POLL_MS = 2000;
const PAGE_SIZE = 20;
/** Failed updates and messages shown at first, and how many more each "Show older" adds. */
const FAILED_SHOWN = 100;
/** Pending questions shown at first, and how many more "Show older" adds. */
const QUESTIONS_SHOWN = 100;
const $ = (id) => document.getElementById(id);

const state = {
  tab: "runs",
  filter: { status: "", conversation: "" },
  /** `before` cursors of the newer pages (Newer pops one); undefined = the newest page. */
  newerPages: [],
  before: undefined,
  /** How many of the newest questions, failed updates and failed messages are listed. */
  shown: initialShown(),
  openRun: null,
  /** The run whose Cancel waits for a confirmation. */
  confirming: null,
  timer: undefined,
  /** Bumped on sign-in and sign-out: answers to an older session's requests are dropped. */
  session: 0,
  polling: false,
  pollAgain: false,
};

// ---- signing in and out ----

async function signIn(event) {
  event.preventDefault();
  const token = $("token").value.trim();
  if (!token) return;
  $("sign-in").disabled = true;
  try {
    await request("/admin/stats", token);
    sessionStorage.setItem(TOKEN_KEY, token);
    $("token").value = "";
    enter();
  } catch (error) {
    showLogin(error instanceof Refused ? error.message : `Could not reach timbre: ${error.message}`);
  } finally {
    $("sign-in").disabled = false;
  }
}

function enter() {
  state.session++;
  $("login").hidden = true;
  $("dashboard").hidden = false;
  $("sign-out").hidden = false;
  setLive("connecting…", "idle");
  void poll();
}

/** How many of each list are shown, as at the first sign-in. */
function initialShown() {
  return { questions: QUESTIONS_SHOWN, "failed-updates": FAILED_SHOWN, "failed-messages": FAILED_SHOWN };
}

/** Forgets the token and every datum shown; only the prompt stays. */
function signOut(message) {
  state.session++;
  state.pollAgain = false;
  clearTimeout(state.timer);
  sessionStorage.removeItem(TOKEN_KEY);
  state.openRun = null;
  state.confirming = null;
  state.shown = initialShown();
  for (const id of Object.keys(state.shown)) $(`more-${id}`).hidden = true;
  for (const id of ["stats", "run-list", "run-detail", "question-list", "failed-updates", "failed-messages", "questions-count", "failed-count", "page-info"]) {
    $(id).replaceChildren();
    delete $(id).dataset.key;
  }
  $("dashboard").hidden = true;
  $("sign-out").hidden = true;
  setLive("signed out", "idle");
  showLogin(message);
}

function showLogin(message) {
  $("login").hidden = false;
  $("login-error").hidden = !message;
  $("login-error").textContent = message ?? "";
  $("token").focus();
}

// ---- polling ----

const runsPath = () => {
  // One run more than a page: whether there is an older page to offer.
  const query = new URLSearchParams({ limit: String(PAGE_SIZE + 1) });
  if (state.filter.status) query.set("status", state.filter.status);
  if (state.filter.conversation) query.set("conversation", state.filter.conversation);
  if (state.before !== undefined) query.set("before", String(state.before));
  return `/admin/runs?${query}`;
};

/** Reads everything shown, then renders it; one poll at a time (a poll asked for meanwhile runs right after). */
async function poll() {
  if (state.polling) return void (state.pollAgain = true);
  state.polling = true;
  clearTimeout(state.timer);
  const session = state.session;
  try {
    // The counts first: a token that stopped working costs one refused request, not six.
    const stats = await api("/admin/stats");
    const openRun = state.openRun;
    const [runs, asking, failedUpdates, failedMessages, run] = await Promise.all([
      api(runsPath()).catch((error) => (error instanceof Refused ? Promise.reject(error) : { error: error.message })),
      // Only runs that ask: those that sleep or wait out a backoff never crowd a question out.
      newest("/admin/runs?asking=true", state.shown.questions + 1, "id"),
      // One more than shown: whether to offer older ones.
      newest("/admin/updates?status=failed", state.shown["failed-updates"] + 1, "update_id"),
      newest("/admin/outbox?status=failed", state.shown["failed-messages"] + 1, "id"),
      openRun === null ? null : api(`/admin/runs/${openRun}`).catch((error) => (error instanceof Refused ? Promise.reject(error) : { gone: openRun, error: error.message })),
    ]);
    if (session !== state.session) return;
    render({ stats, runs, asking, failedUpdates, failedMessages, run: openRun === state.openRun ? run : undefined });
    setLive(`live · ${stats.mode} · up ${duration(stats.uptime_seconds * 1000)} · updated ${clock(new Date().toISOString())}`);
  } catch (error) {
    if (session !== state.session) return;
    if (error instanceof Refused) return signOut(`Signed out: ${error.message}`);
    setLive(`offline: ${error.message === "Failed to fetch" ? "cannot reach timbre" : error.message}; retrying`, "offline");
  } finally {
    state.polling = false;
    // A poll asked for meanwhile may be a new session's first (signed out and in during this one).
    if (state.pollAgain) {
      state.pollAgain = false;
      void poll();
    } else if (session === state.session) state.timer = setTimeout(poll, POLL_MS);
  }
}

/** The header's line: live (with mode, uptime and the last poll's time), offline, or signed out. */
function setLive(text, tone = "live") {
  $("live").textContent = text;
  $("live").dataset.tone = tone;
}

function toast(text, failed = false) {
  const node = $("toast");
  node.textContent = text;
  node.classList.toggle("failed", failed);
  node.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => (node.hidden = true), 5000);
}

/** Runs an admin action (POST), says how it went, and polls at once. */
async function act(path, done) {
  try {
    const answer = await api(path, { method: "POST" });
    toast(done(answer));
  } catch (error) {
    if (error instanceof Refused) return signOut(`Signed out: ${error.message}`);
    toast(error.message, true);
  }
  void poll();
}

const retryUpdate = (id) => act(`/admin/updates/${id}/retry`, () => `Update ${id} is back in its chat's queue.`);
const retryMessage = (id) => act(`/admin/outbox/${id}/retry`, () => `Message #${id} is queued again; it goes out after what its chat has queued.`);
function cancelRun(id) {
  state.confirming = null;
  void act(`/admin/runs/${id}/cancel`, () => `Run #${id} is cancelled; the user is told.`);
}

// ---- rendering ----

/** Time in the keys of parts that show relative times ("in 23 h"), so they refresh now and then. */
const tick = (ms) => Math.floor(Date.now() / ms);
const filtered = () => state.filter.status !== "" || state.filter.conversation !== "";

function renderRuns(runs) {
  const more = Array.isArray(runs) && runs.length > PAGE_SIZE;
  const list = Array.isArray(runs) ? runs.slice(0, PAGE_SIZE) : [];
  show($("run-list"), JSON.stringify([list, runs.error, state.openRun, tick(30_000)]), () => {
    if (runs.error) return el("li", { class: "empty" }, runs.error);
    if (list.length === 0) return noRuns(filtered(), clearFilters);
    return list.map((run) => runItem(run, run.id === state.openRun, (id) => openRun(id)));
  });
  $("older").disabled = !more;
  $("newer").disabled = state.before === undefined;
  $("page-info").textContent = list.length ? `#${list[0].id} – #${list.at(-1).id}` : "";
  $("older").onclick = () => {
    state.newerPages.push(state.before);
    state.before = list.at(-1).id;
    void poll();
  };
}

const cancelControl = (runId) => cancelOrConfirm(runId, state.confirming, { confirm: confirmCancel, cancel: cancelRun });

function renderDetail(run) {
  const pane = $("run-detail");
  $("view-runs").classList.toggle("has-run", state.openRun !== null);
  if (state.openRun === null) return show(pane, "none", detailPlaceholder);
  // Just opened, or opened while a poll was under way: the next poll brings it.
  if (run === undefined) return show(pane, `loading-${state.openRun}`, () => el("p", { class: "placeholder" }, `Loading run #${state.openRun}…`));
  show(pane, JSON.stringify([run, state.confirming, tick(10_000)]), () => runDetail(run, { back: () => openRun(null), filterConversation, cancelControl, retryMessage }));
}

function render({ stats, runs, asking, failedUpdates, failedMessages, run }) {
  show($("stats"), JSON.stringify([stats.updates, stats.runs, stats.outbox]), () => statCards(stats));
  renderRuns(runs);
  renderDetail(run);
  const questions = asking.slice(0, state.shown.questions);
  const all = asking.length <= questions.length;
  $("questions-count").textContent = questions.length ? `${questions.length}${all ? "" : "+"}` : "";
  // The other waiting runs sleep or wait out a step's backoff (counted once every question is listed).
  const others = all ? Math.max(0, stats.runs.waiting - questions.length) : 0;
  show($("question-list"), JSON.stringify([questions, others, state.confirming, tick(10_000)]), () => questionItems(questions, others, (id) => openRun(id, true), cancelControl));
  showOlderButton("questions", !all);
  const failed = stats.updates.failed + stats.outbox.failed;
  $("failed-count").textContent = failed ? String(failed) : "";
  showNewest("failed-updates", failedUpdates, (list) => failedUpdateItems(list, retryUpdate));
  showNewest("failed-messages", failedMessages, (list) => failedMessageItems(list, retryMessage, (id) => openRun(id, true)));
}

/** The newest of a list, as many as `state.shown` says, and its "Show older" button while there are more. */
function showNewest(id, items, build) {
  const list = items.slice(0, state.shown[id]);
  show($(id), JSON.stringify(list), () => build(list));
  showOlderButton(id, items.length > list.length);
}

/** A list's "Show older" button: shown while the list has more, each press shows 100 more. */
function showOlderButton(id, more) {
  const button = $(`more-${id}`);
  button.hidden = !more;
  button.onclick = () => {
    state.shown[id] += id === "questions" ? QUESTIONS_SHOWN : FAILED_SHOWN;
    void poll();
  };
}

// ---- navigation ----

function selectTab(tab) {
  state.tab = tab;
  for (const button of document.querySelectorAll(".tab")) {
    button.classList.toggle("active", button.dataset.tab === tab);
    button.setAttribute("aria-selected", String(button.dataset.tab === tab));
  }
  for (const name of ["runs", "questions", "failed"]) $(`view-${name}`).hidden = name !== tab;
}

function openRun(id, switchTab = false) {
  state.openRun = id;
  state.confirming = null;
  if (switchTab) selectTab("runs");
  renderDetail(undefined);
  void poll();
}

function confirmCancel(id) {
  state.confirming = id;
  void poll();
}

function applyFilters(filter) {
  state.filter = filter;
  state.newerPages = [];
  state.before = undefined;
  $("status-filter").value = filter.status;
  $("conversation-filter").value = filter.conversation;
  void poll();
}
const clearFilters = () => applyFilters({ status: "", conversation: "" });
function filterConversation(conversation) {
  selectTab("runs");
  applyFilters({ status: "", conversation });
}

$("login-form").addEventListener("submit", signIn);
$("sign-out").addEventListener("click", () => signOut("Signed out. Paste the admin token to sign in again."));
$("filters").addEventListener("submit", (event) => {
  event.preventDefault();
  applyFilters({ status: $("status-filter").value, conversation: $("conversation-filter").value.trim() });
});
$("status-filter").addEventListener("change", () => applyFilters({ ...state.filter, status: $("status-filter").value }));
$("clear-filters").addEventListener("click", clearFilters);
$("newer").addEventListener("click", () => {
  state.before = state.newerPages.pop();
  void poll();
});
for (const button of document.querySelectorAll(".tab")) button.addEventListener("click", () => selectTab(button.dataset.tab));
document.addEventListener("visibilitychange", () => {
  if (!document.hidden && sessionStorage.getItem(TOKEN_KEY)) void poll();
});

if (sessionStorage.getItem(TOKEN_KEY)) enter();
else showLogin();
