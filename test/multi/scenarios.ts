/**
 * What "Several instances" promises, as checks over a running rig (test/multi/instances.ts).
 * Each scenario drives the rig through its public faces (webhooks through the proxy or straight
 * to an instance, the emulator's record of Bot API calls, /admin/stats), asserts with bun:test's
 * expect, and returns what it measured. They take fresh chat and update ids from the rig, so
 * several can run one after another on one rig; none depends on the number of instances or the engine.
 */
import { expect } from "bun:test";
import { coachText } from "../../src/agents/coach.ts";
import { renderPlan, type Level } from "../../src/agents/coach-plan.ts";
import { healthy, waitFor } from "../helpers.ts";
import type { Rig } from "./instances.ts";
import { chatLoad, maxInWindow, messagesByChat, postText, sendTimes } from "./load.ts";

/** Chats whose messages differ from what was expected, at most a few, for a readable failure. */
function mismatches(expected: Map<number, string[]>, got: Map<number, { text: string }[]>) {
  const wrong: { chat: number; expected: string[]; got: string[] }[] = [];
  for (const [chat, texts] of expected) {
    const sent = (got.get(chat) ?? []).map((m) => m.text);
    if (JSON.stringify(sent) !== JSON.stringify(texts)) wrong.push({ chat, expected: texts, got: sent });
  }
  return { count: wrong.length, first: wrong.slice(0, 3) };
}

/**
 * (a) `chats` private chats, `perChat` text updates each, every update POSTed twice through the
 * proxy (for half of them both copies at once, so two instances can hold them together; for the
 * others the copy right after the first 200), each chat's updates one after another as Telegram
 * delivers them, `clients` chats in flight at once; echo agent. Exactly once and in order: each
 * chat's sendMessage calls are exactly its updates' texts, in update_id order.
 */
export async function exactlyOnceInOrder(rig: Rig, { chats = 300, perChat = 10, clients = 40 } = {}) {
  const firstChat = rig.takeChatIds(chats);
  const firstId = rig.takeUpdateIds(chats * perChat);
  const text = (chat: number, k: number) => `once ${chat} ${k}`;
  const answeredBefore = [...rig.proxy.answered];
  const started = performance.now();
  let concurrentPairs = 0;
  const statuses = await Promise.all(
    Array.from({ length: clients }, async (_, client) => {
      const codes: number[] = [];
      for (let k = 0; k < perChat; k++) {
        for (let c = client; c < chats; c += clients) {
          const chat = firstChat + c;
          const post = () => postText(rig.url, chat, text(chat, k), firstId + k * chats + c);
          if ((c + k) % 2 === 0) {
            concurrentPairs++;
            codes.push(...(await Promise.all([post(), post()])));
          } else {
            codes.push(await post(), await post());
          }
        }
      }
      return codes;
    }),
  );
  const posts = statuses.flat();
  expect(posts.filter((status) => status !== 200)).toEqual([]);
  const updates = chats * perChat;
  await waitFor(() => [...messagesByChat(rig, firstChat, chats).values()].reduce((n, list) => n + list.length, 0) >= updates, `${updates} echoes`, 60_000);
  const elapsedMs = performance.now() - started;
  await rig.settled();

  const expected = new Map(Array.from({ length: chats }, (_, c) => [firstChat + c, Array.from({ length: perChat }, (_, k) => text(firstChat + c, k))]));
  expect(mismatches(expected, messagesByChat(rig, firstChat, chats))).toEqual({ count: 0, first: [] });
  // Every call counted, failed ones too: none was made twice.
  expect(sendTimes(rig, firstChat, chats).length).toBe(updates);
  const answered = rig.proxy.answered.map((n, i) => n - answeredBefore[i]!);
  if (rig.size > 1) expect(answered.every((n) => n > 0)).toBe(true);
  let copiesOnTwoInstances = 0;
  for (let id = firstId; id < firstId + updates; id++) if (new Set(rig.servedBy(id)).size > 1) copiesOnTwoInstances++;
  return { updates, posts: posts.length, concurrentPairs, answeredByInstance: answered, copiesOnTwoInstances, elapsedMs: Math.round(elapsedMs) };
}

const LEVELS: Level[] = ["beginner", "intermediate", "advanced"];

/**
 * (b) `conversations` coach conversations at once (AGENT=coach), each answered like a person: a
 * text starts the run, then the goal, the days and the level, each sent only once the question
 * is there. Each update goes straight to the next running instance in turn (conversation j's
 * m-th to instance j+m), so every answer lands on another instance than the one before it.
 * Each conversation gets exactly its three questions and its plan, and its run ends.
 */
export async function coachAcrossInstances(rig: Rig, { conversations = 12 } = {}) {
  const firstChat = rig.takeChatIds(conversations);
  const t = coachText.en;
  const instancesUsed: number[][] = [];
  await Promise.all(
    Array.from({ length: conversations }, async (_, j) => {
      const chat = firstChat + j;
      const goal = ["run a 10k", "get stronger", "lose weight", "feel better"][j % 4]!;
      const days = (j % 7) + 1;
      const level = LEVELS[j % 3]!;
      const turns: [string, string][] = [
        ["plan my week", t.goal],
        [goal, t.days],
        [String(days), t.level],
        [level, renderPlan(goal, days, level, "en")],
      ];
      const used: number[] = [];
      for (const [m, [say, reply]] of turns.entries()) {
        const instance = nextLive(rig, j + m);
        used.push(instance);
        const id = rig.takeUpdateIds(1);
        expect(await postText(rig.instanceUrl(instance)!, chat, say, id)).toBe(200);
        const heard = await waitFor(() => rig.emulator.sentTo(chat)[m], `reply #${m + 1} in conversation ${j} (sent so far: ${JSON.stringify(rig.emulator.sentTo(chat).map((x) => x.text.slice(0, 30)))})`, 30_000);
        expect(heard.text).toBe(reply);
      }
      instancesUsed[j] = used;
    }),
  );
  const stats = await rig.settled();
  expect(stats.runs.running).toBe(0);
  for (let j = 0; j < conversations; j++) {
    const sent = rig.emulator.sentTo(firstChat + j);
    expect(sent.length).toBe(4);
    expect(sent[2]!.reply_markup?.inline_keyboard.flat().map((b) => b.text)).toEqual(["Beginner", "Intermediate", "Advanced"]);
  }
  const onSeveralInstances = instancesUsed.filter((used) => new Set(used).size > 1).length;
  if (rig.size > 1) expect(onSeveralInstances).toBe(conversations);
  return { conversations, onSeveralInstances, instancesUsed };
}

/** The running instance at or after `from` (mod the rig's size). */
function nextLive(rig: Rig, from: number): number {
  for (let step = 0; step < rig.size; step++) {
    const i = (from + step) % rig.size;
    if (rig.alive(i)) return i;
  }
  throw new Error("no instance is running");
}

/**
 * (c) kill -9 of instance `victim` under webhook load (echo agent): `clients` chats post their
 * updates in order through the proxy until `ackedBefore` are acknowledged; then the kill. With
 * other instances running, the load goes on through them and every update acknowledged so far
 * (the victim's unfinished ones too) must be echoed before the victim is started again; alone,
 * it is restarted at once. After the restart the load goes on until it has served again.
 * Checks: every acknowledged update is echoed; a text sent twice only by the kill's in-flight
 * allowance (at most the victim's SEND_CONCURRENCY messages, each at most twice); each chat's
 * echoes in update_id order; the victim's chats got later updates answered.
 */
export async function killUnderLoad(rig: Rig, { victim = rig.size - 1, clients = 20, ackedBefore = 300, ackedAfter = 300 } = {}) {
  // SPEC's default when the rig does not set it.
  const inFlightAllowance = Number(rig.env(victim).SEND_CONCURRENCY ?? 8);
  const load = chatLoad(rig, { clients, tag: "kill" });
  const echoedAll = (upTo: number) => {
    const echoed = new Set<string>();
    for (const list of messagesByChat(rig, load.firstChat, load.chats).values()) for (const m of list) echoed.add(m.text);
    return load.acknowledged.slice(0, upTo).every(({ id }) => echoed.has(load.text(id)));
  };
  try {
    await waitFor(() => load.acknowledged.length >= ackedBefore, `${ackedBefore} acknowledged updates before the kill`, 30_000);
    const victimChats = new Set(load.acknowledged.filter(({ id }) => rig.servedBy(id).includes(victim)).map(({ chat }) => chat));
    await rig.kill9(victim);
    const atKill = load.acknowledged.length;
    const failedAtKill = load.failed();
    if (rig.size === 1) await rig.restart(victim);
    await waitFor(() => load.acknowledged.length >= atKill + ackedAfter, `${ackedAfter} acknowledged updates after the kill`, 30_000);
    const failedAfterKill = load.failed() - failedAtKill;
    if (rig.size > 1) {
      // The survivors carry the victim's chats on: all acknowledged so far is answered without it.
      const upTo = load.acknowledged.length;
      await waitFor(() => echoedAll(upTo), `every update acknowledged so far echoed by the instances left`, 30_000);
      await rig.restart(victim);
    }
    const answeredByVictim = rig.proxy.answered[victim]!;
    await waitFor(() => rig.proxy.answered[victim]! > answeredByVictim, `the restarted instance ${victim} to answer webhooks again`, 30_000);
    await load.stop();
    await waitFor(() => echoedAll(load.acknowledged.length), "every acknowledged update to be echoed", 60_000);
    await rig.settled();

    const byChat = messagesByChat(rig, load.firstChat, load.chats);
    const counts = new Map<string, number>();
    for (const list of byChat.values()) for (const m of list) counts.set(m.text, (counts.get(m.text) ?? 0) + 1);
    const doubled = [...counts].filter(([, n]) => n > 1);
    expect(doubled.filter(([, n]) => n > 2)).toEqual([]);
    expect(doubled.length).toBeLessThanOrEqual(inFlightAllowance);
    // In order per chat: a message sent again comes right after its first copy, before the next.
    const outOfOrder: number[] = [];
    for (const [chat, list] of byChat) {
      const ids = list.map((m) => load.idOf(m.text)!).filter((id, i, all) => i === 0 || id !== all[i - 1]);
      if (ids.some((id, i) => i > 0 && id <= ids[i - 1]!)) outOfOrder.push(chat);
    }
    expect(outOfOrder).toEqual([]);
    const ackedAfterKill = new Set(load.acknowledged.slice(atKill).map(({ chat }) => chat));
    expect(victimChats.size).toBeGreaterThan(0);
    expect([...victimChats].filter((chat) => !ackedAfterKill.has(chat))).toEqual([]);
    return { acknowledged: load.acknowledged.length, ackedBeforeKill: atKill, victimChats: victimChats.size, sentTwice: doubled.length, failedPostsAfterKill: failedAfterKill };
  } finally {
    await load.stop();
  }
}

/** Arrival times carry the loopback's and the event loops' jitter: a 1 s window of grants can show as up to this much longer. */
const ARRIVAL_JITTER_MS = 100;

/**
 * (d) SEND_RATE_GLOBAL across the bot: `messages` texts at once, each in a chat of its own and
 * answered with one message (echo's echo, the coach's first question), so that many sends queue
 * at once with per-chat spacing out of the way; measured on the emulator's arrival times of the
 * sendMessage calls. The limiters' promise is on grant times: one instance's TokenBucket holds
 * max(1, rate) tokens and starts full, so any span t0..t1 gets at most max(1, rate) + rate ×
 * (t1 − t0) sends; RateLimits (the shared GCRA row) grants at most burst + rate × (t1 − t0) for the burst its caller passes.
 * So: in every half-open 1 s window at most rate + burst arrive, and over the whole run at most
 * burst + rate × span, each plus rate × ARRIVAL_JITTER_MS (2 at 20/s). The load must press on the
 * limit (a window of at least 0.8 × rate), or the check would prove nothing.
 */
export async function globalSendRate(rig: Rig, { rate, burst = Math.max(1, rate), messages = 6 * rate }: { rate: number; burst?: number; messages?: number }) {
  const firstChat = rig.takeChatIds(messages);
  const firstId = rig.takeUpdateIds(messages);
  const statuses = await Promise.all(Array.from({ length: messages }, (_, i) => postText(rig.url, firstChat + i, `rate ${i}`, firstId + i)));
  expect(statuses.filter((s) => s !== 200)).toEqual([]);
  await waitFor(() => sendTimes(rig, firstChat, messages).length >= messages, `${messages} replies at ${rate}/s`, (messages / rate) * 1000 + 30_000);
  await rig.settled();
  const times = sendTimes(rig, firstChat, messages);
  expect(times.length).toBe(messages);
  const most = maxInWindow(times, 1000);
  const spanMs = times.at(-1)! - times[0]!;
  const jitter = Math.ceil((rate * ARRIVAL_JITTER_MS) / 1000);
  const windowLimit = rate + burst + jitter;
  const longRunLimit = Math.floor(burst + (rate * spanMs) / 1000) + jitter;
  expect(most).toBeLessThanOrEqual(windowLimit);
  expect(times.length).toBeLessThanOrEqual(longRunLimit);
  expect(most).toBeGreaterThanOrEqual(Math.floor(0.8 * rate));
  return { sends: times.length, maxInOneSecond: most, windowLimit, spanMs, longRunLimit, averagePerSecond: +((times.length - 1) / (spanMs / 1000)).toFixed(1) };
}

/**
 * (e) Every instance of a rig started together came up: it answers /healthz, takes an update sent
 * straight to it (answered with one message: `reply` of its text, the echo by default), and logged no error.
 */
export async function allCameUp(rig: Rig, { reply = (text: string) => text } = {}) {
  const firstChat = rig.takeChatIds(rig.size);
  const firstId = rig.takeUpdateIds(rig.size);
  for (let i = 0; i < rig.size; i++) {
    expect(rig.alive(i)).toBe(true);
    expect(await healthy(rig.instanceUrl(i)!)).toBe(true);
    expect(await postText(rig.instanceUrl(i)!, firstChat + i, `up ${i}`, firstId + i)).toBe(200);
  }
  await waitFor(() => Array.from({ length: rig.size }, (_, i) => rig.emulator.sentTo(firstChat + i).length).every((n) => n >= 1), "a reply to every instance's update");
  await rig.settled();
  const startMs: number[] = [];
  for (let i = 0; i < rig.size; i++) {
    expect(rig.emulator.sentTo(firstChat + i).map((m) => m.text)).toEqual([reply(`up ${i}`)]);
    const logs = rig.logs(i);
    expect(logs.filter((entry) => entry.level === "error" || entry.level === "fatal")).toEqual([]);
    startMs.push(Number(logs.find((entry) => entry.msg === "timbre is serving")?.uptime_ms));
  }
  return { instances: rig.size, startMs };
}
