/**
 * examples/exchange-rate.ts as a user runs it: copied into a folder, type-checked against
 * `timbre types`, and served through the emulator against a rate API on 127.0.0.1.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { agentTypes } from "../../src/cli/agent-types.generated.ts";
import { ROOT, serviceRig } from "../helpers.ts";
import { newUser, Person } from "../runtime/support.ts";
import { agentFolder, typeCheck } from "./modules-support.ts";

/** The rate API: EUR→USD and USD→EUR; JPY answers 503 (an outage), anything else 404. */
const calls: string[] = [];
const api = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  fetch(request) {
    const url = new URL(request.url);
    calls.push(`${url.pathname}?${url.searchParams}`);
    const rates: Record<string, number> = { "EUR>USD": 1.08, "USD>EUR": 0.925 };
    const rate = rates[`${url.searchParams.get("base")}>${url.searchParams.get("symbols")}`];
    if (url.searchParams.get("symbols") === "JPY") return new Response("down", { status: 503 });
    if (url.pathname !== "/latest" || rate === undefined) return Response.json({ message: "not found" }, { status: 404 });
    return Response.json({ amount: 1, base: url.searchParams.get("base"), date: "2024-06-03", rates: { [url.searchParams.get("symbols")!]: rate } });
  },
});

const folder = agentFolder("timbre-example-rate-");
folder.write("exchange-rate.ts", readFileSync(join(ROOT, "examples/exchange-rate.ts"), "utf8"));
const bot = folder.write("bot.ts", `import { exchangeRate } from "./exchange-rate.ts";\nexport default exchangeRate({ apiUrl: "http://127.0.0.1:${api.port}" });\n`);
const rig = serviceRig();
afterAll(() => {
  api.stop(true);
  folder.cleanup();
});

beforeAll(async () => {
  await rig.start({ AGENT: bot, SEND_RATE_PER_CHAT: "1000", SEND_RATE_GLOBAL: "1000" });
});

test("examples/exchange-rate.ts type-checks against the timbre types output", () => {
  folder.write("timbre.d.ts", agentTypes);
  const checked = typeCheck(folder);
  expect(checked.output).toBe("");
  expect(checked.code).toBe(0);
});

test("exchange rate: a text it cannot read is asked again in the expected form", async () => {
  const person = new Person(rig.emulator, newUser("Ivo"));
  expect(await person.say("how much is a euro?")).toBe("How much, from which currency to which? For example: 100 EUR to USD");
  expect(await person.say("a lot")).toBe("How much, from which currency to which? For example: 100 EUR to USD");
});

test("exchange rate: the API is called once, through ctx.step, and the conversion is replied", async () => {
  calls.length = 0;
  const person = new Person(rig.emulator, newUser("Eva"));
  expect(await person.say("100 EUR to USD")).toBe("100 EUR = 108.00 USD (rate of 2024-06-03)");
  expect(await person.say("how about dollars?")).toBe("How much, from which currency to which? For example: 100 EUR to USD");
  expect(await person.say("12,5 usd in eur")).toBe("12.5 USD = 11.56 EUR (rate of 2024-06-03)");
  expect(calls).toEqual(["/latest?base=EUR&symbols=USD", "/latest?base=USD&symbols=EUR"]);
});

test("exchange rate: an API that keeps failing is retried, then the user is told (StepFailedError)", async () => {
  calls.length = 0;
  const person = new Person(rig.emulator, newUser("Jon"));
  expect(await person.say("5 eur jpy", 20_000)).toBe("Sorry, I could not get the EUR to JPY rate: the rate service answered 503");
  // The first attempt and its two retries.
  expect(calls).toEqual(Array(3).fill("/latest?base=EUR&symbols=JPY"));
});
