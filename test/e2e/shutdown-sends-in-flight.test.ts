// SPEC "Delivery guarantees": "A reply is sent once; only a crash between Telegram's answer and its
// record may send it again". SPEC "Shutdown": "SIGINT/SIGTERM: stop taking updates ..., let
// in-flight work reach a stored state within 10 s, close the database, exit 0."
// README "Deploying": "SIGTERM or SIGINT: ... runs in flight reach a journaled point, the outbox
// records its sends in flight, the database closes, exit 0 within 10 s".
//
// A clean SIGTERM is not a crash. Here one chat's run sits in a long step (so the runtime uses its
// whole shutdown wait) while other chats' replies are being sent to a Telegram that takes 1.5 s per
// call. The outbox used to go on starting sends during the runtime's wait and then had no time
// left to record them: the rows stayed `sending` and the next start sent those replies again.
import { afterAll, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { postUpdate, serviceEnv, spawnService, startEmulator, tempDir, textUpdate, waitFor } from "../helpers.ts";

const { emulator, apiUrl } = startEmulator(7);
const dir = tempDir();
afterAll(() => {
  emulator.stop();
  dir.cleanup();
});

const SLOW_CHAT = 6100;
const BUSY_CHATS = [6201, 6202, 6203, 6204, 6205, 6206];
const PER_CHAT = 15;

test("SIGTERM while a run is in a long step and replies are being sent: after the restart no reply goes out twice", async () => {
  const agent = `${dir.path}/agent.ts`;
  await Bun.write(
    agent,
    [
      "export default async (ctx) => {",
      '  if (ctx.text === "slow") {',
      '    console.log("SLOW-STEP-STARTED");',
      '    await ctx.step("slow", async () => { await Bun.sleep(30_000); return 1; });',
      "  }",
      "  await ctx.reply(`re ${ctx.text}`);",
      "};",
      "",
    ].join("\n"),
  );
  const env = serviceEnv(emulator, apiUrl, `${dir.path}/timbre.db`, { AGENT: agent, SEND_RATE_PER_CHAT: "1000", SEND_RATE_GLOBAL: "1000" });
  // Every sendMessage takes 1.5 s at "Telegram" (it still delivers it, as Telegram does).
  emulator.faults = { ...emulator.faults, delayMs: 1500, methods: ["sendMessage"] };

  const first = await spawnService(env);
  let id = 1;
  expect((await postUpdate(first.url, textUpdate({ id: SLOW_CHAT, first_name: "S" }, "slow", id++))).status).toBe(200);
  const texts: string[] = [];
  for (let i = 0; i < PER_CHAT; i++) {
    for (const chat of BUSY_CHATS) {
      const text = `c${chat}-${i}`;
      texts.push(`re ${text}`);
      expect((await postUpdate(first.url, textUpdate({ id: chat, first_name: "B" }, text, id++))).status).toBe(200);
    }
  }
  await waitFor(() => first.output().includes("SLOW-STEP-STARTED"), "the slow step to start");
  await waitFor(() => emulator.inFlightCalls.get("sendMessage")! > 0, "sends in flight");

  expect(await first.terminate()).toBe(0);

  // Every reply Telegram was asked for while stopping has reached "Telegram" by now.
  emulator.faults = { ...emulator.faults, delayMs: 0 };
  await Bun.sleep(2000);
  const db = new Database(`${dir.path}/timbre.db`, { readonly: true });
  const leftSending = (db.query("SELECT count(*) AS n FROM outbox WHERE status = 'sending'").get() as { n: number }).n;
  db.close();

  const second = await spawnService(env);
  try {
    await waitFor(() => texts.every((t) => emulator.messages.some((m) => m.text === t)), "every busy chat's reply", 30_000);
    await Bun.sleep(500);
  } finally {
    await second.kill9();
  }
  const counts = new Map<string, number>();
  for (const m of emulator.messages) if (m.text.startsWith("re c")) counts.set(m.text, (counts.get(m.text) ?? 0) + 1);
  const twice = [...counts.entries()].filter(([, n]) => n > 1).map(([text]) => text);
  expect({ leftSending, sentTwice: twice }).toEqual({ leftSending: 0, sentTwice: [] });
}, 90_000);
