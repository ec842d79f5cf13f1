import { afterAll, beforeAll, expect, test } from "bun:test";
import type { Agent } from "../../src/runtime/context.ts";
import { postUpdate, serviceEnv, startEmulator, startInProcess, tempDir, textUpdate, waitFor, type Service } from "../helpers.ts";
import { parsePrometheusText, sampleValue, type Family } from "./prom-text.ts";

const { emulator, apiUrl } = startEmulator();
const dir = tempDir();
let service: Service;

/** Echo, except "boom" throws and "ask" waits on a question that is never answered. */
const agent: Agent = async (ctx) => {
  if (ctx.text === "boom") throw new Error("the agent exploded on purpose");
  if (ctx.text === "ask") {
    await ctx.ask("what is your goal?");
    return;
  }
  if (ctx.text !== undefined) await ctx.reply(ctx.text);
};

beforeAll(async () => {
  const env = serviceEnv(emulator, apiUrl, `${dir.path}/timbre.db`, { SEND_RATE_PER_CHAT: "1000", SEND_RATE_GLOBAL: "1000" });
  service = await startInProcess(env, { agent });
});

afterAll(async () => {
  await service.stop();
  emulator.stop();
  dir.cleanup();
});

async function scrape(): Promise<Map<string, Family>> {
  const response = await fetch(`${service.url}/metrics`);
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toStartWith("text/plain; version=0.0.4");
  return parsePrometheusText(await response.text());
}

const user = (id: number) => ({ id, first_name: `U${id}` });

test("GET /metrics is valid Prometheus text and lists every series SPEC names", async () => {
  const families = await scrape();
  const expected: [string, Family["type"]][] = [
    ["timbre_updates_received_total", "counter"],
    ["timbre_updates_duplicate_total", "counter"],
    ["timbre_updates_processed_total", "counter"],
    ["timbre_updates_failed_total", "counter"],
    ["timbre_webhook_rejected_total", "counter"],
    ["timbre_webhook_latency_seconds", "histogram"],
    ["timbre_outbox_sent_total", "counter"],
    ["timbre_outbox_failed_total", "counter"],
    ["timbre_outbox_retries_total", "counter"],
    ["timbre_bot_api_calls_total", "counter"],
    ["timbre_outbox_messages", "gauge"],
    ["timbre_runs", "gauge"],
    ["timbre_updates", "gauge"],
    ["timbre_idle_collections_total", "counter"],
    ["timbre_idle_collection_seconds_total", "counter"],
    ["process_resident_memory_bytes", "gauge"],
    ["process_cpu_seconds_total", "counter"],
    ["process_start_time_seconds", "gauge"],
  ];
  for (const [name, type] of expected) {
    expect(families.get(name)?.type).toBe(type);
    expect(families.get(name)!.help.length).toBeGreaterThan(10);
  }
  // Gauges by status show every status, zeros included, so dashboards need no "absent" logic.
  for (const status of ["queued", "sending", "sent", "failed"]) expect(sampleValue(families, "timbre_outbox_messages", { status })).toBe(0);
  for (const status of ["running", "waiting", "done", "failed", "cancelled"]) expect(sampleValue(families, "timbre_runs", { status })).toBe(0);
  for (const status of ["received", "processing", "done", "failed"]) expect(sampleValue(families, "timbre_updates", { status })).toBe(0);
  expect(sampleValue(families, "process_resident_memory_bytes")).toBeGreaterThan(1_000_000);
});

test("GET /metrics also has prom-client's standard process, heap, GC and event-loop series, as dashboards expect them", async () => {
  const families = await scrape();
  const expected: [string, Family["type"]][] = [
    ["process_cpu_user_seconds_total", "counter"],
    ["process_cpu_system_seconds_total", "counter"],
    ["process_open_fds", "gauge"],
    ["process_max_fds", "gauge"],
    ["process_virtual_memory_bytes", "gauge"],
    ["nodejs_eventloop_lag_seconds", "gauge"],
    ["nodejs_eventloop_lag_p50_seconds", "gauge"],
    ["nodejs_eventloop_lag_p99_seconds", "gauge"],
    ["nodejs_eventloop_lag_max_seconds", "gauge"],
    ["nodejs_heap_size_total_bytes", "gauge"],
    ["nodejs_heap_size_used_bytes", "gauge"],
    ["nodejs_external_memory_bytes", "gauge"],
    ["nodejs_active_handles_total", "gauge"],
    ["nodejs_gc_duration_seconds", "histogram"],
    ["nodejs_version_info", "gauge"],
  ];
  for (const [name, type] of expected) expect(families.get(name)?.type, name).toBe(type);
  // From JavaScriptCore through process.memoryUsage(): "used" can exceed "total" on Bun, so only their size is checked.
  expect(sampleValue(families, "nodejs_heap_size_used_bytes")).toBeGreaterThan(1_000_000);
  expect(sampleValue(families, "nodejs_heap_size_total_bytes")).toBeGreaterThan(1_000_000);
  expect(sampleValue(families, "process_open_fds")).toBeGreaterThan(2);
  expect(sampleValue(families, "process_cpu_seconds_total")).toBeGreaterThan(0);
  // Seconds since the epoch, before now: this process started.
  expect(sampleValue(families, "process_start_time_seconds")).toBeLessThanOrEqual(Date.now() / 1000);
  expect(sampleValue(families, "process_start_time_seconds")).toBeGreaterThan(Date.now() / 1000 - 3600);
  for (const name of ["nodejs_eventloop_lag_seconds", "nodejs_eventloop_lag_p99_seconds"]) {
    const lag = sampleValue(families, name)!;
    expect(Number.isFinite(lag) && lag >= 0 && lag < 60, `${name} = ${lag}`).toBe(true);
  }
  // nodejs_gc_duration_seconds{kind} is declared, but Bun 1.4 emits no "gc" performance entries: it stays without series.
});

test("the Grafana dashboard in docs/ asks only for series GET /metrics serves, through its datasource variable", async () => {
  type Panel = { type: string; title: string; datasource?: { uid: string }; targets?: { expr: string }[] };
  const dashboard = (await Bun.file(`${import.meta.dir}/../../docs/grafana-dashboard.json`).json()) as { panels: Panel[]; templating: { list: { name: string }[] } };
  expect(dashboard.templating.list.map((v) => v.name)).toEqual(["datasource", "job", "instance"]);
  const families = await scrape();
  const served = new Set([...families.values()].flatMap((family) => [family.name, ...family.samples.map((s) => s.name)]));
  const queried = new Set<string>();
  for (const panel of dashboard.panels.filter((p) => p.type !== "row")) {
    expect(panel.datasource?.uid, panel.title).toBe("${datasource}");
    expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
    for (const { expr } of panel.targets!) for (const [name] of expr.matchAll(/\b(?:timbre|process|nodejs)_[a-z0-9_]+/g)) queried.add(name);
  }
  // A histogram's _bucket/_sum/_count only appear once something was observed; the family is enough.
  const missing = [...queried].filter((name) => !served.has(name) && !served.has(name.replace(/_(bucket|sum|count)$/, "")));
  expect(missing).toEqual([]);
  for (const name of ["timbre_updates_received_total", "timbre_webhook_latency_seconds_bucket", "timbre_outbox_messages", "timbre_runs", "timbre_bot_api_calls_total", "nodejs_eventloop_lag_p99_seconds", "process_resident_memory_bytes", "nodejs_heap_size_used_bytes"]) {
    expect(queried.has(name), name).toBe(true);
  }
});

test("the event-loop series see this process's loop blocked", async () => {
  const { Metrics } = await import("../../src/observability/metrics.ts");
  const metrics = new Metrics();
  await metrics.render(); // each scrape starts a new measuring window
  const until = performance.now() + 250;
  while (performance.now() < until); // a synchronous 250 ms, as a CPU-bound agent would
  await Bun.sleep(30);
  const families = parsePrometheusText(await metrics.render());
  expect(sampleValue(families, "nodejs_eventloop_lag_max_seconds")).toBeGreaterThanOrEqual(0.2);
});

test("after traffic the counters, the histogram and the gauges say what happened", async () => {
  const before = await scrape();
  const okSendsBefore = sampleValue(before, "timbre_bot_api_calls_total", { method: "sendMessage", outcome: "ok" }) ?? 0;

  // An echo, then Telegram redelivering the same update.
  const hello = textUpdate(user(701), "hello", 1001);
  expect((await postUpdate(service.url, hello)).status).toBe(200);
  expect((await postUpdate(service.url, hello)).status).toBe(200);
  await waitFor(() => emulator.sentTo(701).length === 1, "the echo to 701");

  // A failing agent: the update fails and the user is told.
  expect((await postUpdate(service.url, textUpdate(user(702), "boom", 1002))).status).toBe(200);
  await waitFor(() => emulator.sentTo(702).length === 1, "the failure notice to 702");

  // A chat that blocked the bot: 403, the message fails, nothing is retried.
  emulator.faults.blockedChats.add(703);
  expect((await postUpdate(service.url, textUpdate(user(703), "blocked", 1003))).status).toBe(200);
  await waitFor(() => service.outbox.counts().failed === 1, "the blocked chat's message to fail");

  // A 429: retried after retry_after, then delivered.
  emulator.faults.methods = ["sendMessage"];
  emulator.faults.retryAfter = 1;
  emulator.faults.rate429 = 1;
  expect((await postUpdate(service.url, textUpdate(user(704), "limited", 1004))).status).toBe(200);
  await waitFor(() => service.metrics.outboxRetries.get({ reason: "429" }) >= 1, "a 429 retry");
  emulator.faults.rate429 = 0;
  await waitFor(() => emulator.sentTo(704).length === 1, "the limited echo after retry_after", 5_000);

  // A 502: retried with backoff, then delivered.
  emulator.faults.rate5xx = 1;
  expect((await postUpdate(service.url, textUpdate(user(707), "bad gateway", 1007))).status).toBe(200);
  await waitFor(() => service.metrics.outboxRetries.get({ reason: "5xx" }) >= 1, "a 5xx retry");
  emulator.faults.rate5xx = 0;
  await waitFor(() => emulator.sentTo(707).length === 1, "the echo after the 502", 5_000);

  // A run left waiting on its question.
  expect((await postUpdate(service.url, textUpdate(user(705), "ask", 1005))).status).toBe(200);
  await waitFor(() => emulator.sentTo(705).length === 1, "the question to 705");

  // Refused requests: wrong secret, not JSON, not an Update.
  expect((await postUpdate(service.url, textUpdate(user(706), "x", 1006), "wrong-secret")).status).toBe(401);
  expect((await postUpdate(service.url, "{not json")).status).toBe(400);
  expect((await postUpdate(service.url, { update_id: "7" })).status).toBe(400);

  await waitFor(() => service.runtime.counts().done === 4, "four runs done");
  const after = await scrape();
  const value = (name: string, labels?: Record<string, string>) => sampleValue(after, name, labels);

  expect(value("timbre_updates_received_total")).toBe(6);
  expect(value("timbre_updates_duplicate_total")).toBe(1);
  expect(value("timbre_updates_processed_total")).toBe(4); // hello, blocked, limited, bad gateway (ask still waits)
  expect(value("timbre_updates_failed_total")).toBe(1); // boom
  expect(value("timbre_webhook_rejected_total", { status: "401" })).toBe(1);
  expect(value("timbre_webhook_rejected_total", { status: "400" })).toBe(2);
  // Every stored request (6 new + 1 duplicate) is timed; refused ones are not.
  expect(value("timbre_webhook_latency_seconds_count")).toBe(7);
  expect(value("timbre_webhook_latency_seconds_sum")).toBeGreaterThan(0);
  expect(value("timbre_webhook_latency_seconds_bucket", { le: "+Inf" })).toBe(7);
  expect(value("timbre_webhook_latency_seconds_bucket", { le: "1" })).toBe(7);

  expect(value("timbre_outbox_sent_total")).toBe(5); // echo, failure notice, limited echo, 502 echo, question
  expect(value("timbre_outbox_failed_total")).toBe(1);
  const retries429 = value("timbre_outbox_retries_total", { reason: "429" })!;
  expect(retries429).toBeGreaterThanOrEqual(1);
  const retries5xx = value("timbre_outbox_retries_total", { reason: "5xx" })!;
  expect(retries5xx).toBeGreaterThanOrEqual(1);
  expect(value("timbre_bot_api_calls_total", { method: "sendMessage", outcome: "ok" })! - okSendsBefore).toBe(5);
  // Every 429, every 502 and the 403 were Telegram errors.
  expect(value("timbre_bot_api_calls_total", { method: "sendMessage", outcome: "error" })).toBe(retries429 + retries5xx + 1);

  expect(value("timbre_outbox_messages", { status: "sent" })).toBe(5);
  expect(value("timbre_outbox_messages", { status: "failed" })).toBe(1);
  expect(value("timbre_outbox_messages", { status: "queued" })).toBe(0);
  expect(value("timbre_runs", { status: "waiting" })).toBe(1);
  expect(value("timbre_runs", { status: "running" })).toBe(0);
  expect(value("timbre_runs", { status: "done" })).toBe(4);
  expect(value("timbre_runs", { status: "failed" })).toBe(1);
  expect(value("timbre_updates", { status: "done" })).toBe(4);
  expect(value("timbre_updates", { status: "failed" })).toBe(1);
  expect(value("timbre_updates", { status: "processing" })).toBe(1); // the waiting run's trigger
});

test("a Bot API call that cannot reach Telegram counts as outcome=network", async () => {
  const { TelegramApi } = await import("../../src/telegram/api.ts");
  const { Metrics } = await import("../../src/observability/metrics.ts");
  const metrics = new Metrics();
  // A port nothing listens on: the call fails at the network level.
  const closed = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response("") });
  const deadUrl = `http://127.0.0.1:${closed.port}`;
  await closed.stop(true);
  const api = new TelegramApi({ apiUrl: deadUrl, token: emulator.token, timeoutMs: 2_000, observe: (method, outcome) => metrics.botApiCalls.inc({ method, outcome }) });
  const outcome = await api.call("sendMessage", { chat_id: 1, text: "x" });
  expect(outcome.ok).toBe(false);
  expect(metrics.botApiCalls.get({ method: "sendMessage", outcome: "network" })).toBe(1);
  expect(parsePrometheusText(await metrics.render()).get("timbre_bot_api_calls_total")!.samples).toEqual([
    { name: "timbre_bot_api_calls_total", labels: { method: "sendMessage", outcome: "network" }, value: 1 },
  ]);
});

test("label values with quotes, backslashes and newlines are escaped", async () => {
  const { Metrics } = await import("../../src/observability/metrics.ts");
  const metrics = new Metrics();
  metrics.botApiCalls.inc({ method: 'we"ird\\name\nx', outcome: "ok" });
  const families = parsePrometheusText(await metrics.render());
  expect(sampleValue(families, "timbre_bot_api_calls_total", { method: 'we"ird\\name\nx', outcome: "ok" })).toBe(1);
});

test("a gauge whose source fails (database mid-fault) is left empty; the scrape still answers", async () => {
  const { Metrics } = await import("../../src/observability/metrics.ts");
  const metrics = new Metrics();
  metrics.gauge("timbre_broken", "A gauge whose source throws.", () => {
    throw new Error("database is locked");
  });
  const families = parsePrometheusText(await metrics.render());
  expect(families.get("timbre_broken")!.samples).toEqual([]);
  expect(sampleValue(families, "timbre_updates_received_total")).toBe(0);
});

test("the format checker itself refuses what Prometheus would refuse", () => {
  const bad = [
    "timbre_x 1\n", // no TYPE
    "# TYPE timbre_x counter\ntimbre_x{a=\"1\"} 1\ntimbre_x{a=\"1\"} 2\n", // the same series twice
    "# TYPE timbre_x counter\ntimbre_x one\n", // not a number
    "# TYPE timbre_x counter\ntimbre_x{a=1} 1\n", // unquoted label value
    "# TYPE timbre_x counter\ntimbre_x 1", // no final newline
    "# TYPE timbre_h histogram\ntimbre_h_bucket{le=\"1\"} 2\ntimbre_h_bucket{le=\"+Inf\"} 1\ntimbre_h_sum 1\ntimbre_h_count 1\n", // not cumulative
    "# TYPE timbre_h histogram\ntimbre_h_bucket{le=\"+Inf\"} 2\ntimbre_h_sum 1\ntimbre_h_count 3\n", // +Inf != count
    // One labelled series of two lacks its +Inf bucket.
    '# TYPE timbre_h histogram\ntimbre_h_bucket{k="a",le="+Inf"} 1\ntimbre_h_sum{k="a"} 1\ntimbre_h_count{k="a"} 1\ntimbre_h_bucket{k="b",le="1"} 1\ntimbre_h_sum{k="b"} 1\ntimbre_h_count{k="b"} 1\n',
  ];
  for (const text of bad) expect(() => parsePrometheusText(text)).toThrow();
  expect(sampleValue(parsePrometheusText('# HELP timbre_x A thing.\n# TYPE timbre_x gauge\ntimbre_x{a="b"} 2.5\n'), "timbre_x", { a: "b" })).toBe(2.5);
  // What Prometheus also reads: NaN in any case, and a labelled histogram with no series yet.
  expect(sampleValue(parsePrometheusText("# TYPE timbre_x gauge\ntimbre_x Nan\n"), "timbre_x")).toBeNaN();
  expect(parsePrometheusText("# HELP timbre_h A histogram.\n# TYPE timbre_h histogram\n").get("timbre_h")!.samples).toEqual([]);
});
