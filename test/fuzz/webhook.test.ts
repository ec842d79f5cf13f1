import { afterAll, beforeAll, expect, test } from "bun:test";
import fc from "fast-check";
import { MAX_UPDATE_DEPTH } from "../../src/ingest/json-depth.ts";
import { asUpdate } from "../../src/ingest/update-shape.ts";
import { postUpdate, serviceEnv, startEmulator, startInProcess, tempDir, waitFor, type Service } from "../helpers.ts";
import { capturingLogger } from "../runtime/support.ts";
import { allHandled, noInternalErrors, stillServes, updateRowCount } from "./support.ts";

const { emulator, apiUrl } = startEmulator();
const dir = tempDir();
const log = capturingLogger();
let service: Service;

beforeAll(async () => {
  service = await startInProcess(serviceEnv(emulator, apiUrl, `${dir.path}/fuzz.db`, { AGENT: "echo", SEND_RATE_PER_CHAT: "10000", SEND_RATE_GLOBAL: "10000" }), { logger: log });
});

afterAll(async () => {
  await service.stop();
  emulator.stop();
  dir.cleanup();
});

// Seeded so a failure is repeatable; fast-check prints the seed and the shrunk counterexample.
const RUNS = { numRuns: 300, seed: 20_240_608 };

async function post(body: string | Uint8Array | ReadableStream<Uint8Array>, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${service.url}/telegram/webhook`, {
    method: "POST",
    headers: { "x-telegram-bot-api-secret-token": "test-secret_0123456789abcdefghijklmnop", ...headers },
    body: body as BodyInit,
  });
}

/** Nesting depth of a parsed JSON value, without recursion (a deep value must not overflow the test either). */
function depthOf(value: unknown): number {
  let max = 0;
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [item, depth] = stack.pop()!;
    if (typeof item !== "object" || item === null) continue;
    max = Math.max(max, depth + 1);
    for (const child of Object.values(item)) stack.push([child, depth + 1]);
  }
  return max;
}

/** The contract for any body: 200 and stored when it is an Update, else 400 and nothing stored; never 5xx. */
async function checkAnyBody(body: string | Uint8Array): Promise<void> {
  const rowsBefore = updateRowCount(service);
  const response = await post(body);
  const answer = (await response.json()) as { ok: boolean; error?: string };
  let parsed: unknown;
  try {
    parsed = JSON.parse(typeof body === "string" ? body : new TextDecoder().decode(body));
  } catch {
    parsed = undefined;
  }
  const update = depthOf(parsed) <= MAX_UPDATE_DEPTH ? asUpdate(parsed) : null;
  const size = typeof body === "string" ? Buffer.byteLength(body) : body.byteLength;
  if (size > 1024 * 1024) {
    expect(response.status).toBe(413);
    expect(updateRowCount(service)).toBe(rowsBefore);
  } else if (update) {
    expect(response.status).toBe(200);
    expect(service.inbox.row(update.update_id)).toBeDefined();
  } else {
    expect(response.status).toBe(400);
    expect(answer.ok).toBe(false);
    expect(answer.error!.length).toBeGreaterThan(10);
    expect(updateRowCount(service)).toBe(rowsBefore);
  }
}

test("random bytes: 400, nothing stored, never 5xx", async () => {
  await fc.assert(fc.asyncProperty(fc.uint8Array({ maxLength: 2_048 }), checkAnyBody), RUNS);
  await stillServes(service, emulator);
}, 30_000);

test("random JSON values and JSON-ish text: 400 unless an Update, never 5xx", async () => {
  const jsonText = fc.oneof(
    fc.json({ maxDepth: 6 }),
    fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify({ update_id: v })),
    fc.string({ unit: "binary", maxLength: 200 }),
    // Truncated and spliced JSON.
    fc.tuple(fc.json({ maxDepth: 3 }), fc.nat()).map(([json, cut]) => json.slice(0, cut % (json.length + 1))),
  );
  await fc.assert(fc.asyncProperty(jsonText, checkAnyBody), RUNS);
  await stillServes(service, emulator);
}, 30_000);

let nextId = 1_000_000;
/** Anything in a field's place: the right type, the wrong type, huge, empty, nested. */
const anyField = fc.oneof(
  fc.integer(),
  fc.double(),
  fc.constantFrom(2 ** 53, -(2 ** 53), 1e308, -1e308, 5e-324, 0, -1),
  fc.string({ unit: "binary", maxLength: 50 }),
  fc.boolean(),
  fc.constant(null),
  fc.array(fc.integer(), { maxLength: 3 }),
  fc.jsonValue({ maxDepth: 3 }),
);
const unicodeText = fc.oneof(
  fc.string({ unit: "binary", maxLength: 300 }), // lone surrogates included
  fc.string({ unit: "grapheme", maxLength: 100 }),
  fc.constantFrom("", "\u0000", "\u202e\u202dRTL", "🏳️‍🌈👨‍👩‍👧‍👦", "\ud800", "\udfff\ud800", "a\r\nb\u2028c\u2029", "\ufeffbom", "Z̴̢̛a̸l̵g̶o̷", "x".repeat(5_000)),
);
const userLike = fc.oneof(fc.record({ id: anyField, first_name: unicodeText, is_bot: anyField }, { requiredKeys: [] }), anyField);
const chatLike = fc.oneof(fc.record({ id: anyField, type: fc.oneof(fc.constantFrom("private", "group", "supergroup", "channel"), anyField), is_forum: anyField }, { requiredKeys: [] }), anyField);
const messageLike = fc.oneof(
  fc.record(
    {
      message_id: anyField,
      date: anyField,
      chat: chatLike,
      from: userLike,
      text: fc.oneof(unicodeText, anyField),
      message_thread_id: anyField,
      is_topic_message: anyField,
      entities: anyField,
    },
    { requiredKeys: [] },
  ),
  anyField,
);
const kind = fc.constantFrom("message", "edited_message", "channel_post", "callback_query", "my_chat_member", "inline_query", "poll", "weird_new_type");

test("valid update_id with missing, mistyped, huge and unicode fields: stored, routed, never failed", async () => {
  const updates = fc.tuple(kind, messageLike, fc.dictionary(fc.string({ maxLength: 8 }), anyField, { maxKeys: 3 })).map(([type, body, extra]) => ({
    update_id: nextId++,
    [type]: type === "callback_query" ? { id: "cb", from: body, message: body, data: "x" } : body,
    ...extra,
  }));
  await fc.assert(
    fc.asyncProperty(updates, async (update) => {
      const response = await post(JSON.stringify(update));
      expect(response.status).toBe(200);
      expect(service.inbox.row(update.update_id)).toBeDefined();
    }),
    RUNS,
  );
  await allHandled(service);
  noInternalErrors(log.lines);
  await stillServes(service, emulator);
}, 60_000);

test("invalid update_id in every form: 400 and nothing stored", async () => {
  const invalidId = fc.oneof(
    fc.integer({ max: -1 }),
    fc.double().filter((d) => !Number.isInteger(d)),
    fc.constantFrom(2 ** 53, 2 ** 53 + 2, 1e308, 1e21),
    fc.string(),
    fc.boolean(),
    fc.constant(null),
    fc.array(fc.nat(), { maxLength: 2 }),
    fc.object({ maxDepth: 1 }),
  );
  const body = fc.tuple(invalidId, messageLike).map(([update_id, message]) => JSON.stringify({ update_id, message }));
  const missing = messageLike.map((message) => JSON.stringify({ message }));
  await fc.assert(fc.asyncProperty(fc.oneof(body, missing), checkAnyBody), RUNS);
  // Raw spellings JSON.stringify never writes.
  for (const raw of ['{"update_id": 1e400}', '{"update_id": -1}', '{"update_id": 9007199254740992}', '{"update_id": 0.5}', '{"update_id": "1"}', "[1]", "null", "1", '"x"', "{}", "", " ", '{"update_id":1', "\u0000"]) {
    await checkAnyBody(raw);
  }
}, 30_000);

test("integer spellings of update_id are accepted: 4.0, 1e3, -0", async () => {
  for (const [raw, id] of [
    ['{"update_id": 7000004.0, "message": {"chat": {"id": 1}, "text": "four"}}', 7_000_004],
    ['{"update_id": 7.000005e6, "message": {"chat": {"id": 1}, "text": "e"}}', 7_000_005],
    ['{"update_id": -0, "poll": {"id": "p"}}', 0],
  ] as const) {
    const response = await post(raw);
    expect(response.status).toBe(200);
    expect(service.inbox.row(id)).toBeDefined();
  }
  await allHandled(service);
});

test("deep nesting is refused at the door (400, nothing stored) before it can blow a stack further on", async () => {
  for (const depth of [1_000, 50_000, 170_000]) {
    const arrays = "[".repeat(depth) + "]".repeat(depth);
    const objects = '{"a":'.repeat(depth) + "1" + "}".repeat(depth);
    // As the whole body, in update_id's place, and under a field of an otherwise valid text message.
    for (const nested of [arrays, objects]) {
      await checkAnyBody(nested);
      await checkAnyBody(`{"update_id": ${nested}}`);
      await checkAnyBody(`{"update_id": ${nextId++}, "message": {"message_id": 1, "date": 1, "chat": {"id": 77, "type": "private"}, "from": {"id": 77, "first_name": "D"}, "text": "deep", "x": ${nested}}}`);
    }
  }
  // Exactly at the limit is fine (and handled end to end); one more level is not. Brackets inside strings do not count.
  const nestedTo = (levels: number) => "[".repeat(levels) + "]".repeat(levels);
  const atLimit = nextId++;
  const body = (id: number, levels: number) =>
    `{"update_id": ${id}, "message": {"message_id": 1, "date": 1, "chat": {"id": 78, "type": "private"}, "from": {"id": 78, "first_name": "D"}, "text": "[[[{{{", "x": ${nestedTo(levels)}}}`;
  expect((await post(body(atLimit, MAX_UPDATE_DEPTH - 2))).status).toBe(200);
  const overLimit = nextId++;
  const refused = await post(body(overLimit, MAX_UPDATE_DEPTH - 1));
  expect(refused.status).toBe(400);
  expect(((await refused.json()) as { error: string }).error).toContain("levels deep");
  expect(service.inbox.row(overLimit)).toBeUndefined();
  await waitFor(() => emulator.sentTo(78).some((m) => m.text === "[[[{{{"), "the echo of the update at the depth limit");
  await allHandled(service, 30_000);
  noInternalErrors(log.lines);
  await stillServes(service, emulator);
}, 60_000);

test("oversized, wrong secret, chunked bodies: 413 and 401 before anything is read or stored", async () => {
  const rowsBefore = updateRowCount(service);
  const big = JSON.stringify({ update_id: nextId++, message: { text: "x".repeat(1024 * 1024) } });
  expect((await post(big)).status).toBe(413);
  // Without Content-Length (a stream), the limit holds while reading.
  const chunks = new ReadableStream<Uint8Array>({
    start(controller) {
      for (let i = 0; i < 20; i++) controller.enqueue(new TextEncoder().encode("x".repeat(64 * 1024)));
      controller.close();
    },
  });
  expect((await post(chunks)).status).toBe(413);
  expect((await postUpdate(service.url, { update_id: nextId++ }, "not-the-secret")).status).toBe(401);
  expect((await postUpdate(service.url, { update_id: nextId++ }, null)).status).toBe(401);
  expect(updateRowCount(service)).toBe(rowsBefore);
  await stillServes(service, emulator);
}, 30_000);
