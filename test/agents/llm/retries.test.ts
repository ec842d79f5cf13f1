import { afterAll, beforeEach, describe, expect, test } from "bun:test";
import { backoffMs, DEFAULT_RETRY, retryAfterMs } from "../../../src/agents/llm/retry.ts";
import { runtimeText } from "../../../src/runtime/messages.ts";
import { serviceRig, waitFor, type Service } from "../../helpers.ts";
import { capturingLogger, newUser, Person, readDb, ShiftableClock } from "../../runtime/support.ts";
import { errorAnswer, FakeModelServer, textAnswer } from "./fake-model.ts";

const clock = new ShiftableClock();
const model = new FakeModelServer(() => clock.now());
const rig = serviceRig();
const { emulator } = rig;
const log = capturingLogger();
let current: Service | undefined;

/** One service at a time on the rig's database, with the test's clock, talking to `baseUrl`. */
async function serve(baseUrl = model.baseUrl): Promise<Service> {
  await current?.stop();
  current = await rig.start(
    { AGENT: "llm", LLM_MODEL: "fake-model", LLM_BASE_URL: baseUrl, SEND_RATE_PER_CHAT: "1000", SEND_RATE_GLOBAL: "1000" },
    { clock, logger: log },
  );
  return current;
}

afterAll(() => model.stop());
beforeEach(() => model.reset());

/** Moves the clock a second at a time until `done`, as time would pass. */
const advanceUntil = (done: () => boolean, what: string) =>
  waitFor(() => {
    if (done()) return true;
    clock.advance(1_000);
    return done();
  }, what);
const gaps = () => model.requests.slice(1).map((request, i) => request.at - model.requests[i]!.at);
const runsOf = (service: Service, chatId: number) => readDb<{ status: string; error: string | null }>(service.config.databasePath, "SELECT status, error FROM runs WHERE chat_id = ?", chatId);

describe("through the service", () => {
  test("a 429 is tried again after its Retry-After seconds, and the user gets the answer once", async () => {
    await serve();
    const person = new Person(emulator, newUser("Limited"));
    model.answer(errorAnswer(429, "Rate limit reached", { "retry-after": "30" }), textAnswer("worth the wait"));
    emulator.sendText(person.user, "hi");
    await waitFor(() => model.requests.length === 1, "the first call");
    await advanceUntil(() => model.requests.length === 2, "the call to be tried again");
    expect(await person.hear()).toBe("worth the wait");
    expect(gaps()[0]).toBeGreaterThanOrEqual(30_000);
    expect(emulator.sentTo(person.chatId).map((message) => message.text)).toEqual(["worth the wait"]);
  });

  test("a Retry-After given as an HTTP date is honoured too", async () => {
    await serve();
    const person = new Person(emulator, newUser("Dated"));
    model.answer(errorAnswer(429, "slow down", { "retry-after": new Date(clock.now() + 20_000).toUTCString() }), textAnswer("dated"));
    emulator.sendText(person.user, "hi");
    await waitFor(() => model.requests.length === 1, "the first call");
    await advanceUntil(() => model.requests.length === 2, "the call to be tried again");
    expect(await person.hear()).toBe("dated");
    // An HTTP date has whole seconds: the wait is at least 19 s.
    expect(gaps()[0]).toBeGreaterThanOrEqual(19_000);
  });

  test("5xx answers are tried again with growing waits; a call that passes on the fourth attempt answers", async () => {
    await serve();
    const person = new Person(emulator, newUser("Bumpy"));
    model.answer(errorAnswer(500, "boom"), errorAnswer(502, "bad gateway"), errorAnswer(503, "overloaded"), textAnswer("made it"));
    emulator.sendText(person.user, "hi");
    await advanceUntil(() => model.requests.length === 4, "four attempts");
    expect(await person.hear()).toBe("made it");
    const [first, second, third] = gaps();
    // 1 s, 2 s, 4 s, each less at most a quarter of jitter.
    expect(first).toBeGreaterThanOrEqual(750);
    expect(second).toBeGreaterThanOrEqual(1_500);
    expect(third).toBeGreaterThanOrEqual(3_000);
    expect(log.lines.filter((line) => line.msg === "llm: model call failed; trying again" && line.chat_id === person.chatId).map((line) => line.status)).toEqual([500, 502, 503]);
  });

  test("a server that keeps failing is given up on after four attempts: the run fails and the user is told once", async () => {
    const service = await serve();
    const person = new Person(emulator, newUser("Down"));
    for (let i = 0; i < 5; i++) model.answer(errorAnswer(503, "overloaded"));
    emulator.sendText(person.user, "hi");
    await advanceUntil(() => runsOf(service, person.chatId)[0]?.status === "failed", "the run to fail");
    expect(await person.hear()).toBe(runtimeText("failed", "en"));
    expect(model.requests).toHaveLength(4);
    expect(runsOf(service, person.chatId)).toEqual([{ status: "failed", error: "StepFailedError: the model API answered 503: overloaded (gave up after 4 attempts)" }]);
    expect(emulator.sentTo(person.chatId)).toHaveLength(1);
  });

  test("a Retry-After longer than a minute is not waited for: the call gives up at once", async () => {
    const service = await serve();
    const person = new Person(emulator, newUser("Quota"));
    model.answer(errorAnswer(429, "You exceeded your current quota", { "retry-after": "3600" }));
    expect(await person.say("hi")).toBe(runtimeText("failed", "en"));
    expect(model.requests).toHaveLength(1);
    expect(runsOf(service, person.chatId)[0]!.error).toBe("StepFailedError: the model API answered 429: You exceeded your current quota (it asked to wait 3600 s; timbre waits at most 60 s)");
  });

  test("a network error (nothing listening yet) is tried again, and the call passes once the server is up", async () => {
    const probe = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
    const port = probe.port!;
    probe.stop(true);
    await serve(`http://127.0.0.1:${port}/v1`);
    const person = new Person(emulator, newUser("Offline"));
    emulator.sendText(person.user, "hi");
    const refused = await waitFor(() => log.lines.find((line) => line.msg === "llm: model call failed; trying again" && line.chat_id === person.chatId), "the first attempt to fail");
    expect(refused.status).toBeNull();
    expect(String(refused.error)).toStartWith(`the model API at http://127.0.0.1:${port}/v1/chat/completions could not be reached:`);
    const late = new FakeModelServer(() => clock.now(), port);
    try {
      late.answer(textAnswer("back online"));
      await advanceUntil(() => late.requests.length === 1, "the call to be tried again");
      expect(await person.hear()).toBe("back online");
    } finally {
      late.stop();
    }
  });
});

describe("Retry-After and backoff", () => {
  const headers = (entries: Record<string, string>) => new Headers(entries);
  test("seconds, milliseconds (retry-after-ms), an HTTP date, and nothing readable", () => {
    const now = Date.UTC(2026, 0, 1, 12, 0, 0);
    expect(retryAfterMs(headers({ "retry-after": "7" }), now)).toBe(7_000);
    expect(retryAfterMs(headers({ "retry-after": "1.5" }), now)).toBe(1_500);
    expect(retryAfterMs(headers({ "retry-after-ms": "250", "retry-after": "9" }), now)).toBe(250);
    expect(retryAfterMs(headers({ "retry-after": "Thu, 01 Jan 2026 12:00:42 GMT" }), now)).toBe(42_000);
    expect(retryAfterMs(headers({ "retry-after": "Thu, 01 Jan 2026 11:00:00 GMT" }), now)).toBe(0);
    expect(retryAfterMs(headers({ "retry-after": "soon" }), now)).toBeUndefined();
    expect(retryAfterMs(headers({}), now)).toBeUndefined();
  });

  test("the HTTP date's three forms are GMT, whatever the machine's time zone (asctime does not say so)", () => {
    const now = Date.UTC(2026, 0, 1, 12, 0, 0);
    const zone = process.env.TZ;
    process.env.TZ = "America/New_York";
    try {
      expect(retryAfterMs(headers({ "retry-after": "Thu, 01 Jan 2026 12:00:02 GMT" }), now)).toBe(2_000);
      expect(retryAfterMs(headers({ "retry-after": "Thursday, 01-Jan-26 12:00:02 GMT" }), now)).toBe(2_000);
      expect(retryAfterMs(headers({ "retry-after": "Thu Jan  1 12:00:02 2026" }), now)).toBe(2_000);
    } finally {
      if (zone === undefined) delete process.env.TZ;
      else process.env.TZ = zone;
    }
  });

  test("without Retry-After the wait doubles from 1 s, capped at 20 s; with it, it is what the server asked", () => {
    const top = () => 1;
    expect([1, 2, 3, 4, 5, 6].map((attempt) => backoffMs(DEFAULT_RETRY, attempt, undefined, top))).toEqual([1_000, 2_000, 4_000, 8_000, 16_000, 20_000]);
    expect(backoffMs(DEFAULT_RETRY, 1, undefined, () => 0)).toBe(750);
    expect(backoffMs(DEFAULT_RETRY, 3, 5_000, top)).toBe(5_000);
  });
});
