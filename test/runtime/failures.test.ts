import { afterAll, beforeAll, expect, test } from "bun:test";
import type { Agent } from "../../src/runtime/context.ts";
import { connectWebhook, serviceEnv, startEmulator, startInProcess, tempDir, waitFor, type Service } from "../helpers.ts";
import { capturingLogger, newUser, Person } from "./support.ts";

const { emulator, apiUrl } = startEmulator();
const dir = tempDir();
const log = capturingLogger();
let service: Service;

/** Asks for a number and divides by it; "boom" throws before asking, "0" throws after. */
const divider: Agent = async (ctx) => {
  if (ctx.text === "boom") throw new Error("the model backend is down");
  // An object String() cannot convert (as some libraries throw): it must fail the run like any throw.
  if (ctx.text === "null proto") throw Object.assign(Object.create(null), { code: "E_NULL_PROTO" });
  const n = Number(await ctx.ask("divide 100 by?"));
  if (n === 0) throw new RangeError("division by zero");
  await ctx.reply(`100 / ${n} = ${100 / n}`);
};

beforeAll(async () => {
  service = await startInProcess(serviceEnv(emulator, apiUrl, `${dir.path}/timbre.db`, { SEND_RATE_PER_CHAT: "1000", SEND_RATE_GLOBAL: "10000" }), {
    agent: divider,
    logger: log,
  });
  await connectWebhook(emulator, service.url);
});

afterAll(async () => {
  await service.stop();
  emulator.stop();
  dir.cleanup();
});

const SORRY = "Sorry, something went wrong on my side. Please try again.";

test("an agent that throws: run failed, one friendly message, error logged with run and chat ids, other chats unaffected", async () => {
  const others = Array.from({ length: 6 }, (_, i) => new Person(emulator, newUser(`Ok${i}`)));
  const failing = new Person(emulator, newUser("Boom"));
  const late = new Person(emulator, newUser("Zero", "es"));

  // The others are mid-conversation when the failures happen, and carry on after them.
  for (const person of others) expect(await person.say("start")).toBe("divide 100 by?");
  expect(await late.say("start")).toBe("divide 100 by?");
  const [boomReply, zeroReply] = await Promise.all([failing.say("boom"), late.say("0")]);
  expect(boomReply).toBe(SORRY);
  expect(zeroReply).toBe("Lo siento, algo salió mal por mi parte. Inténtalo de nuevo.");
  const answers = await Promise.all(others.map((person, i) => person.say(`${i + 1}`)));
  expect(answers).toEqual(others.map((_, i) => `100 / ${i + 1} = ${100 / (i + 1)}`));

  await service.outbox.whenIdle();
  expect(emulator.sentTo(failing.chatId).map((m) => m.text)).toEqual([SORRY]);
  expect(emulator.sentTo(late.chatId)).toHaveLength(2);

  const runs = service.runtime.list({ limit: 20 });
  const boomRun = runs.find((r) => r.chatId === failing.chatId)!;
  const zeroRun = runs.find((r) => r.chatId === late.chatId)!;
  expect(boomRun.status).toBe("failed");
  expect(boomRun.error).toBe("Error: the model backend is down");
  expect(zeroRun.error).toBe("RangeError: division by zero");
  expect(service.inbox.row(boomRun.triggerUpdateId)).toMatchObject({ status: "failed", error: "Error: the model backend is down" });
  expect(service.inbox.list({ status: "failed", limit: 10 }).map((u) => u.updateId).sort()).toEqual([boomRun.triggerUpdateId, zeroRun.triggerUpdateId].sort());
  expect(runs.filter((r) => r.status === "done")).toHaveLength(6);

  const errors = log.lines.filter((line) => line.level === "error");
  expect(errors).toHaveLength(2);
  expect(errors).toContainEqual(expect.objectContaining({ run_id: boomRun.id, chat_id: failing.chatId, error: "the model backend is down" }));
  expect(errors).toContainEqual(expect.objectContaining({ run_id: zeroRun.id, chat_id: late.chatId, error: "division by zero", error_name: "RangeError" }));

  // The failed conversation is free again.
  expect(await failing.say("again")).toBe("divide 100 by?");
  await waitFor(() => service.runtime.counts().waiting === 1, "the new run to wait");
});

test("an agent that throws an object without a prototype: the run fails, the user is told, the conversation is free", async () => {
  const person = new Person(emulator, newUser("NullProto"));
  expect(await person.say("null proto")).toBe(SORRY);
  const [run] = service.runtime.list({ limit: 100 }).filter((r) => r.chatId === person.chatId);
  expect(run).toMatchObject({ status: "failed", error: "[object Object]" });
  expect(await person.say("start")).toBe("divide 100 by?");
});

test("ctx calls after the agent function returned are refused and send nothing", async () => {
  let strayError: unknown;
  const hasty: Agent = async (ctx) => {
    setTimeout(() => ctx.reply("stray").catch((error: unknown) => (strayError = error)), 50);
    await ctx.reply("done");
  };
  const dir2 = tempDir();
  const other = await startInProcess(serviceEnv(emulator, apiUrl, `${dir2.path}/timbre.db`, { SEND_RATE_PER_CHAT: "1000", SEND_RATE_GLOBAL: "10000" }), { agent: hasty });
  try {
    await connectWebhook(emulator, other.url);
    const person = new Person(emulator, newUser("Hasty"));
    expect(await person.say("go")).toBe("done");
    await waitFor(() => strayError !== undefined, "the stray reply to be refused");
    expect(String(strayError)).toContain("has ended");
    await other.outbox.whenIdle();
    expect(emulator.sentTo(person.chatId).map((m) => m.text)).toEqual(["done"]);
  } finally {
    await other.stop();
    await connectWebhook(emulator, service.url);
    dir2.cleanup();
  }
});
