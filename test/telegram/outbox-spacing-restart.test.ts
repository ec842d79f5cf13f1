// README "Outbox" > Rates > Per chat: "The spacing is counted from Telegram's answer to the
// previous message, so Telegram never sees two closer than that, also ... after a restart". Also
// for a chat whose queue was empty when timbre stopped: its next message may come at once.
import { expect, test } from "bun:test";
import { serviceRig, waitFor } from "../helpers.ts";

const { emulator, start } = serviceRig();

test("SEND_RATE_PER_CHAT=0.25: a reply a moment after a restart still waits 4 s after the chat's last message", async () => {
  const env = { AGENT: "echo", SEND_RATE_PER_CHAT: "0.25", SEND_RATE_GLOBAL: "1000" };
  const user = { id: 770_001, first_name: "Paced", language_code: "en" };
  const sends = () => emulator.callsOf("sendMessage").filter((call) => Number(call.params.chat_id) === user.id);

  const first = await start(env);
  emulator.sendText(user, "one");
  await waitFor(() => first.outbox.counts().sent === 1, "the first echo recorded sent");
  // The chat's queue is empty now; restart (a clean stop, then a new service on the same database).
  const second = await start(env);
  emulator.sendText(user, "two");
  await waitFor(() => second.outbox.counts().sent === 2, "the second echo sent after the restart", 15_000);

  const [one, two] = sends();
  expect(two!.params.text).toBe("two");
  // 1 / SEND_RATE_PER_CHAT = 4 s between the two messages as Telegram sees them.
  expect(two!.at - one!.at).toBeGreaterThanOrEqual(4000);
}, 40_000);
