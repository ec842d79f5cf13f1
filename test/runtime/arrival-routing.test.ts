/**
 * A text that gets no more than an instant reply, in a conversation with nothing else going on,
 * is answered inside the webhook's own commit (runtime/arrival-routing.ts): stored `done` with
 * its reply, never handed to the dispatcher. Where the dispatcher would have routed it otherwise
 * (an earlier update of the chat goes there, the dispatcher is not following), it still does,
 * so a chat's updates keep their order.
 */
import { expect, test } from "bun:test";
import type { Agent } from "../../src/runtime/context.ts";
import type { IncomingUpdate } from "../../src/ingest/inbox.ts";
import { serviceRig, waitFor } from "../helpers.ts";
import { newUser, Person } from "./support.ts";

const rig = serviceRig();
const RATES = { SEND_RATE_PER_CHAT: "1000", SEND_RATE_GLOBAL: "1000" };

/** "ping" is answered "pong" at once; any other text starts a run that replies "run: <text>". */
const pingAgent = (): Agent =>
  Object.assign(async (ctx: Parameters<Agent>[0]) => void (await ctx.reply(`run: ${ctx.text}`)), { instantReply: (text: string) => (text === "ping" ? "pong" : undefined) });

let nextUpdateId = 70_000;
function textUpdate(person: Person, text: string, updateId = nextUpdateId++): IncomingUpdate {
  const update = {
    update_id: updateId,
    message: { message_id: updateId, date: Math.floor(Date.now() / 1000), chat: { id: person.chatId, type: "private", first_name: person.user.first_name }, from: { id: person.user.id, is_bot: false, first_name: person.user.first_name }, text },
  };
  return { update: update as never, raw: JSON.stringify(update) };
}

test("a text answered by instantReply in an idle chat is done when its webhook is answered, and the dispatcher never sees it", async () => {
  const service = await rig.start(RATES, { agent: pingAgent() });
  const person = new Person(rig.emulator, newUser("Arrival"));
  const processed = service.metrics.updatesProcessed.get();
  const ping = textUpdate(person, "ping");
  expect(await service.inbox.store(ping)).toEqual({ duplicate: false });
  // Done in the commit that stored it, not a routing commit later.
  expect(service.inbox.row(ping.update.update_id)?.status).toBe("done");
  expect(service.dispatcher.handedOver(person.chatId)).toEqual([]);
  expect(await person.hear()).toBe("pong");
  expect(service.metrics.updatesProcessed.get()).toBe(processed + 1);
  // Telegram retrying it: a duplicate, answered 200 and not again.
  expect(await service.inbox.store(ping)).toEqual({ duplicate: true });
  await service.outbox.whenIdle();
  expect(rig.emulator.sentTo(person.chatId).map((m) => m.text)).toEqual(["pong"]);
});

test("a ping stored in the same commit right after a text that starts a run waits for that run: replies in update_id order", async () => {
  const service = await rig.start(RATES, { agent: pingAgent() });
  const person = new Person(rig.emulator, newUser("Batch"));
  // One group commit: both handed in during the same turn.
  await Promise.all([service.inbox.store(textUpdate(person, "hello")), service.inbox.store(textUpdate(person, "ping"))]);
  await waitFor(() => rig.emulator.sentTo(person.chatId).length >= 2, "both replies");
  expect(rig.emulator.sentTo(person.chatId).map((m) => m.text)).toEqual(["run: hello", "pong"]);
});

test("while the dispatcher does not follow the inbox (stopped), a ping stays received: nothing is answered behind its back", async () => {
  const service = await rig.start(RATES, { agent: pingAgent() });
  const person = new Person(rig.emulator, newUser("Stopped"));
  await service.dispatcher.stop();
  const ping = textUpdate(person, "ping");
  await service.inbox.store(ping);
  expect(service.inbox.row(ping.update.update_id)?.status).toBe("received");
});
