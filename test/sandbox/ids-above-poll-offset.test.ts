/**
 * README "Sandbox" ("The sandbox survives restarts like production"):
 *   "update ids continue above every id the database has seen (the sandbox's own and the stored
 *    updates'), so nothing a user sends is taken for a duplicate, also on a database an older
 *    timbre's sandbox used"
 * SPEC "Sandbox mode": "update ids continue above every id the database has seen (nothing a user
 *   sends after a restart is taken for a duplicate)".
 *
 * A database a bot polled with (BOT_MODE=polling) keeps its getUpdates offset in `settings`
 * (poll_offset) after the inbox has pruned its done rows (48 h). The sandbox, started on that
 * database with BOT_MODE=polling, gave out ids from 100000 again, below the stored offset, so
 * the poller's getUpdates(offset) confirmed the user's messages away and they were never handled.
 */
import { afterAll, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import type { Agent } from "../../src/runtime/context.ts";
import { serviceRig, spawnService, waitFor, type SpawnedService } from "../helpers.ts";
import { newUser, Person, ShiftableClock } from "../runtime/support.ts";

const rig = serviceRig();
const children: SpawnedService[] = [];
afterAll(async () => {
  for (const child of children) if (child.proc.exitCode === null) await child.kill9();
});

test("a sandbox polling on a database whose bot polled before (rows pruned) still handles what the user sends", async () => {
  // 1. A bot in polling mode (its own token, the emulator as Telegram) handles three messages.
  const clock = new ShiftableClock();
  const echo: Agent = async (ctx) => void (await ctx.reply(`echo ${ctx.text}`));
  const bot = await rig.start({ BOT_MODE: "polling", SEND_RATE_PER_CHAT: "1000", SEND_RATE_GLOBAL: "1000" }, { agent: echo, clock });
  const person = new Person(rig.emulator, newUser("Earlier"));
  for (const text of ["a", "b", "c"]) expect(await person.say(text)).toBe(`echo ${text}`);
  // 2. Two days later the inbox prunes its done rows (the dedup keys), as its janitor does.
  clock.advance(49 * 3_600_000);
  expect(bot.inbox.prune().rowsDeleted).toBe(3);
  await bot.stop();
  rig.services.splice(0);
  const offset = new Database(rig.dbPath, { readonly: true }).query<{ value: string }, []>("SELECT value FROM settings WHERE key = 'poll_offset'").get()?.value;
  expect(Number(offset)).toBeGreaterThan(100_000);

  // 3. The sandbox on the same database, polling its emulator.
  const sandbox = await spawnService({ DATABASE_PATH: rig.dbPath, PORT: "0", HOST: "127.0.0.1", BOT_MODE: "polling", AGENT: "echo", SEND_RATE_PER_CHAT: "1000", SEND_RATE_GLOBAL: "1000" });
  children.push(sandbox);
  const ana = { id: 616_161, first_name: "Ana", language_code: "en" };
  const send = async (text: string) =>
    ((await (await fetch(`${sandbox.url}/sandbox/send`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ user: ana, text }) })).json()) as { update_id: number }).update_id;
  const echoes = async () =>
    (((await (await fetch(`${sandbox.url}/sandbox/history`)).json()) as { chats: { chat_id: number; messages: { side: string; text: string }[] }[] }).chats.find((c) => c.chat_id === ana.id)?.messages ?? [])
      .filter((l) => l.side === "bot")
      .map((l) => l.text);
  // A few messages, as a person typing quickly sends them.
  const ids = await Promise.all(["one", "two", "three", "four", "five"].map(send));
  await waitFor(async () => (await echoes()).length === 5, "five echoes", 8_000).catch(() => undefined);
  expect({ ids_above_stored_offset: ids.every((id) => id >= Number(offset)), echoed: (await echoes()).sort() }).toEqual({
    ids_above_stored_offset: true,
    echoed: ["five", "four", "one", "three", "two"],
  });
}, 60_000);
