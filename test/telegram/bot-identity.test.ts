/** timbre asks getMe who it is on start, in every mode, without holding anything up while Telegram fails. */
import { afterEach, expect, test } from "bun:test";
import { coachText } from "../../src/agents/coach.ts";
import { BotApiEmulator } from "../../src/sandbox/emulator.ts";
import { connectWebhook, serviceEnv, startInProcess, tempDir, waitFor, type Service } from "../helpers.ts";
import { botMessage, newUser } from "../runtime/support.ts";

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** An emulator whose bot is @Coach_Of_Tests_Bot, and a service on it (webhook unless `env` says otherwise). */
async function setup(env: Record<string, string> = {}, beforeStart: (emulator: BotApiEmulator) => void = () => {}) {
  const emulator = new BotApiEmulator({ username: "Coach_Of_Tests_Bot" });
  emulator.webhookRetryBaseMs = 100;
  const apiUrl = emulator.listen();
  const dir = tempDir();
  cleanups.push(() => dir.cleanup(), () => emulator.stop());
  beforeStart(emulator);
  const service = await startInProcess(serviceEnv(emulator, apiUrl, `${dir.path}/timbre.db`, { AGENT: "coach", SEND_RATE_PER_CHAT: "1000", SEND_RATE_PER_GROUP: "1000", ...env }));
  cleanups.push(() => service.stop());
  if (env.BOT_MODE !== "polling") await connectWebhook(emulator, service.url);
  return { emulator, service };
}

async function knowsItself(service: Service, emulator: BotApiEmulator): Promise<void> {
  await waitFor(() => emulator.callsOf("getMe").some((call) => call.status === 200), "a getMe call answered");
  await waitFor(() => service.identity.username === emulator.botInfo.username, "the username to be kept");
}

test("getMe is called once on start in webhook and polling mode, and the username is kept", async () => {
  for (const mode of ["webhook", "polling"]) {
    const { emulator, service } = await setup({ BOT_MODE: mode });
    await knowsItself(service, emulator);
    expect(service.identity.username).toBe("Coach_Of_Tests_Bot");
    expect(emulator.callsOf("getMe")).toHaveLength(1);
  }
});

test("in the sandbox, getMe goes to the built-in emulator", async () => {
  const dir = tempDir();
  cleanups.push(() => dir.cleanup());
  const service = await startInProcess({ DATABASE_PATH: `${dir.path}/timbre.db`, HOST: "127.0.0.1", PORT: "0", LOG_LEVEL: "warn", AGENT: "echo" });
  cleanups.push(() => service.stop());
  await knowsItself(service, service.emulator!);
  expect(service.identity.username).toBe("timbre_sandbox_bot");
});

test("while getMe fails, updates are stored and plain texts answered; an addressed command waits until the name is known", async () => {
  const { emulator, service } = await setup({}, (emulator) => {
    emulator.faults = { ...emulator.faults, down: true, methods: ["getMe"] };
  });
  const group = { id: -1_002_220_001, type: "supergroup", title: "Team" };
  const ann = newUser("Ann");
  const ben = newUser("Ben");
  const other = emulator.sendText(ben, "/start@other_bot", group);
  const mine = emulator.sendText(ben, "/start@coach_of_tests_bot", group);
  // Ann's plain text does not wait for getMe, nor do the webhook's answers.
  emulator.sendText(ann, "plan for me");
  expect((await botMessage(emulator, ann.id, 1)).text).toBe(coachText.en.goal);
  await waitFor(() => service.inbox.row(mine.update_id), "Ben's commands stored");
  expect(service.inbox.row(other.update_id)).toBeDefined();
  expect(emulator.sentTo(group.id)).toEqual([]);
  expect(service.identity.username).toBeUndefined();
  expect(emulator.callsOf("getMe").every((call) => call.status === 502)).toBe(true);

  // Telegram answers getMe again: it is asked again (with backoff), and the commands are told apart.
  emulator.faults = { ...emulator.faults, down: false, methods: [] };
  expect((await botMessage(emulator, group.id, 1)).text).toBe(coachText.en.welcome);
  await waitFor(() => service.inbox.row(other.update_id)?.status === "done", "the other bot's command to be done");
  await service.outbox.whenIdle();
  expect(emulator.sentTo(group.id).map((m) => m.text)).toEqual([coachText.en.welcome]);
  expect(emulator.callsOf("getMe").at(-1)!.status).toBe(200);
  expect(service.identity.username).toBe("Coach_Of_Tests_Bot");
});
