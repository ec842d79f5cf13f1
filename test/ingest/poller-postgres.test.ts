// The poller on PostgreSQL with several instances (SPEC "Several instances": in polling mode exactly
// one instance polls at a time): pollers on one database, each with its own pool, Telegram API and
// PollLeadership, against the Bot API emulator.
import type { APIMethodParams } from "@gramio/types";
import { afterEach, expect, test } from "bun:test";
import { openPostgres, type OpenPostgres } from "../../src/db/pg/index.ts";
import { Leases } from "../../src/db/pg/leases.ts";
import { PgSession } from "../../src/db/pg/session.ts";
import { pgSettings } from "../../src/db/settings.ts";
import { PgInbox } from "../../src/ingest/pg-inbox.ts";
import { pgPollInbox } from "../../src/ingest/poll-inbox.ts";
import { PollLeadership, POLLER_LEASE } from "../../src/ingest/poll-leadership.ts";
import { Poller, POLL_OFFSET_KEY } from "../../src/ingest/poller.ts";
import { createLogger } from "../../src/observability/log.ts";
import { Metrics } from "../../src/observability/metrics.ts";
import type { BotApiEmulator } from "../../src/sandbox/emulator.ts";
import { TelegramApi, type ApiMethod } from "../../src/telegram/api.ts";
import { startEmulator, waitFor } from "../helpers.ts";
import { freshDatabase } from "../pg/cluster.ts";
import { ShiftableClock } from "../runtime/support.ts";

/** Long enough that the real time a test takes never expires a lease; tests move clocks instead. */
const TTL = 60_000;
const RETRY_MS = 50;

/** One getUpdates call as its instance saw it: from sending to the answer (or the abort). */
interface PollCall {
  offset: number | undefined;
  startedAt: number;
  endedAt: number | undefined;
  ok: boolean | undefined;
}

/** The real client, recording when each of its getUpdates calls was open. */
class RecordingApi extends TelegramApi {
  readonly polls: PollCall[] = [];

  override async call<M extends ApiMethod>(method: M, params: APIMethodParams<M>, extraTimeoutMs = 0, signal?: AbortSignal) {
    if (method !== "getUpdates") return super.call(method, params, extraTimeoutMs, signal);
    const offset = (params as { offset?: number }).offset;
    const poll: PollCall = { offset, startedAt: performance.now(), endedAt: undefined, ok: undefined };
    this.polls.push(poll);
    const outcome = await super.call(method, params, extraTimeoutMs, signal);
    poll.endedAt = performance.now();
    poll.ok = outcome.ok;
    return outcome;
  }
}

interface Instance {
  name: string;
  poller: Poller;
  api: RecordingApi;
  clock: ShiftableClock;
  metrics: Metrics;
  lines: string[];
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function setup(name: string) {
  const { emulator, apiUrl } = startEmulator();
  const url = await freshDatabase(name, { migrated: true });
  const pg = await openPostgres(url);
  cleanups.push(() => emulator.stop(), () => pg.close());
  return { emulator, apiUrl, url, pg };
}

/** A timbre instance's poller: its own pool, session, inbox, clock and leadership, as in its own process. */
async function startInstance(name: string, url: string, emulator: BotApiEmulator, apiUrl: string, clock = new ShiftableClock()): Promise<Instance> {
  const pg: OpenPostgres = await openPostgres(url);
  const session = new PgSession(pg.sql);
  const lines: string[] = [];
  const log = createLogger("debug", [], (line) => void lines.push(line));
  const metrics = new Metrics();
  const api = new RecordingApi({ apiUrl, token: emulator.token });
  const leadership = new PollLeadership({ leases: new Leases(pg.sql, clock), session, instance: name, clock, log, ttlMs: TTL, retryMs: RETRY_MS });
  const poller = new Poller(
    { api, inbox: pgPollInbox(new PgInbox(session, clock)), settings: pgSettings(session), clock, log, metrics, leadership },
    { allowedUpdates: ["message"], timing: { backoffBaseMs: 20, backoffCapMs: 200, slowRetryMs: 300 } },
  );
  poller.start();
  cleanups.push(async () => {
    await poller.stop();
    await pg.close();
  });
  return { name, poller, api, clock, metrics, lines };
}

async function storedIds(pg: OpenPostgres): Promise<number[]> {
  return (await pg.sql<{ id: number }[]>`SELECT update_id AS id FROM updates ORDER BY update_id`).map((r) => r.id);
}

async function storedOffset(pg: OpenPostgres): Promise<number | undefined> {
  const [row] = await pg.sql<{ value: string }[]>`SELECT value FROM settings WHERE key = ${POLL_OFFSET_KEY}`;
  return row === undefined ? undefined : Number(row.value);
}

/** Pushes `count` texts spread over a few users; resolves to their update_ids. */
function push(emulator: BotApiEmulator, count: number, label: string): number[] {
  return Array.from({ length: count }, (_, i) => emulator.sendText({ id: 3000 + (i % 5), first_name: `P${i % 5}` }, `${label}-${i}`).update_id);
}

/** Whether two instances ever had getUpdates open at the same time. */
function overlapping(a: Instance, b: Instance): [PollCall, PollCall][] {
  const pairs: [PollCall, PollCall][] = [];
  for (const x of a.api.polls)
    for (const y of b.api.polls) if (x.startedAt < (y.endedAt ?? Infinity) && y.startedAt < (x.endedAt ?? Infinity)) pairs.push([x, y]);
  return pairs;
}

async function leaderAndStandby(a: Instance, b: Instance): Promise<[Instance, Instance]> {
  await waitFor(() => [a, b].some((i) => i.poller.state === "polling") && [a, b].some((i) => i.poller.state === "standby"), "one instance polling, the other standing by");
  return a.poller.state === "polling" ? [a, b] : [b, a];
}

test("two instances on one database: only the poller lease's holder calls getUpdates, and every update is stored once", async () => {
  const { emulator, apiUrl, url, pg } = await setup("poller_two");
  const [a, b] = await Promise.all([startInstance("a", url, emulator, apiUrl), startInstance("b", url, emulator, apiUrl)]);
  const [leader, standby] = await leaderAndStandby(a, b);
  expect((await new Leases(pg.sql, leader.clock).holderOf(POLLER_LEASE))?.holder).toBe(`${leader.name}/poller`);

  const pushed: number[] = [];
  for (let round = 0; round < 3; round++) {
    pushed.push(...push(emulator, 30, `round${round}`));
    await waitFor(async () => (await storedIds(pg)).length === pushed.length, `round ${round} stored`);
  }
  expect(await storedIds(pg)).toEqual(pushed);
  await waitFor(async () => (await storedOffset(pg)) === pushed.at(-1)! + 1, "the offset past the last update");

  expect(standby.api.polls).toEqual([]);
  expect(standby.poller.state).toBe("standby");
  expect(overlapping(a, b)).toEqual([]);
  // A second poller would have cut the first one's long poll short (Telegram's 409).
  expect(emulator.callsOf("getUpdates").filter((c) => c.status !== 200)).toEqual([]);
  expect(emulator.peakInFlight.get("getUpdates")).toBe(1);
  expect(a.metrics.updatesDuplicate.get() + b.metrics.updatesDuplicate.get()).toBe(0);
  expect(leader.metrics.updatesReceived.get()).toBe(pushed.length);
});

test("stopping the leader lets the other instance take over at once, from the stored offset: nothing lost or stored twice", async () => {
  const { emulator, apiUrl, url, pg } = await setup("poller_handover");
  const [a, b] = await Promise.all([startInstance("a", url, emulator, apiUrl), startInstance("b", url, emulator, apiUrl)]);
  const [leader, standby] = await leaderAndStandby(a, b);
  const before = push(emulator, 25, "before");
  await waitFor(async () => (await storedIds(pg)).length === before.length, "the first updates stored by the leader");
  const open = await waitFor(() => leader.api.polls.find((p) => p.offset === before.at(-1)! + 1 && p.endedAt === undefined), "the leader's long poll after them");

  await leader.poller.stop();
  // Stop cut that long poll short (a wait for Telegram's answer would have ended it ok, 25 s on),
  // and released the lease: its row is expired, no wait for its ttl.
  expect(open.endedAt).toBeDefined();
  expect(open.ok).toBe(false);
  expect((await new Leases(pg.sql, leader.clock).holderOf(POLLER_LEASE))?.expiresAt).toBe(0);
  const after = push(emulator, 25, "after");

  await waitFor(async () => (await storedIds(pg)).length === before.length + after.length, "the updates sent after the stop stored by the other instance");
  expect(await storedIds(pg)).toEqual([...before, ...after]);
  expect(standby.api.polls[0]!.offset).toBe(before.at(-1)! + 1);
  expect(standby.metrics.updatesReceived.get()).toBe(after.length);
  expect(leader.metrics.updatesDuplicate.get() + standby.metrics.updatesDuplicate.get()).toBe(0);
  expect(overlapping(a, b)).toEqual([]);
  // Every call asked from an offset at least as far as the one before it: nothing was asked for again.
  const offsets = emulator.callsOf("getUpdates").map((c) => Number(c.params.offset ?? 0));
  expect(offsets).toEqual([...offsets].sort((x, y) => x - y));
  await waitFor(async () => (await storedOffset(pg)) === after.at(-1)! + 1, "the offset past the last update");
  expect((await new Leases(pg.sql, standby.clock).holderOf(POLLER_LEASE))?.holder).toBe(`${standby.name}/poller`);
});

test("a leader whose lease another instance took over cannot store the batch it still gets, and stops polling until the lease is free", async () => {
  const { emulator, apiUrl, url, pg } = await setup("poller_fenced");
  const a = await startInstance("a", url, emulator, apiUrl);
  const [first] = push(emulator, 1, "first");
  await waitFor(async () => (await storedIds(pg)).length === 1, "the first update stored");
  await waitFor(() => a.api.polls.some((p) => p.offset === first! + 1 && p.endedAt === undefined), "the long poll after it");

  // Another instance, whose clock says a's lease has run out, takes it over; a does not know yet.
  const intruderClock = new ShiftableClock();
  intruderClock.advance(TTL);
  const intruder = new Leases(pg.sql, intruderClock);
  const intruderToken = await intruder.take(POLLER_LEASE, "intruder", TTL);
  expect(intruderToken).toBeNumber();
  const [late] = push(emulator, 1, "late");

  await waitFor(() => a.lines.some((l) => l.includes("lost the poller lease")) && a.poller.state === "standby", "a to find its lease lost");
  expect(a.lines.some((l) => l.includes("the batch was not stored"))).toBe(true);
  const pollsWhenLost = a.api.polls.length;
  expect(a.api.polls.at(-1)!.ok).toBe(true);
  expect(await storedIds(pg)).toEqual([first!]);
  expect(await storedOffset(pg)).toBe(first! + 1);

  await waitFor(() => a.lines.filter((l) => l.includes("another instance polls")).length > 0, "a standing by");
  expect(a.api.polls.length).toBe(pollsWhenLost);
  expect(await intruder.release([POLLER_LEASE], "intruder")).toEqual([POLLER_LEASE]);
  await waitFor(async () => (await storedIds(pg)).length === 2, "the late update stored once a holds the lease again");
  expect(await storedIds(pg)).toEqual([first!, late!]);
  expect(a.api.polls[pollsWhenLost]!.offset).toBe(first! + 1);
  expect((await intruder.holderOf(POLLER_LEASE))!.token).toBeGreaterThan(intruderToken!);
  expect(a.metrics.updatesDuplicate.get()).toBe(0);
  await waitFor(async () => (await storedOffset(pg)) === late! + 1, "the offset past the late update");
});

test("a leader whose lease runs out (its clock passes the lease's end) aborts its long poll at once and goes on under a new token", async () => {
  const { emulator, apiUrl, url, pg } = await setup("poller_expired");
  const a = await startInstance("a", url, emulator, apiUrl);
  await waitFor(() => a.api.polls.some((p) => p.endedAt === undefined), "a's long poll open");
  const leases = new Leases(pg.sql, a.clock);
  const token = (await leases.holderOf(POLLER_LEASE))!.token;
  const open = a.api.polls.at(-1)!;

  a.clock.advance(TTL);
  // The long poll (25 s) ends now, not when Telegram would answer it.
  await waitFor(() => open.endedAt !== undefined, "the long poll aborted", 5_000);
  expect(open.ok).toBe(false);
  expect(a.lines.some((l) => l.includes("lost the poller lease"))).toBe(true);

  await waitFor(async () => a.poller.state === "polling" && ((await leases.holderOf(POLLER_LEASE))?.token ?? 0) > token, "a polling again under a new token");
  const ids = push(emulator, 5, "after");
  await waitFor(async () => (await storedIds(pg)).length === 5, "the updates stored");
  expect(await storedIds(pg)).toEqual(ids);
  expect(a.metrics.updatesDuplicate.get()).toBe(0);
});
