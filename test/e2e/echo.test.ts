import { beforeAll, expect, test } from "bun:test";
import { serviceRig, waitFor, type Service } from "../helpers.ts";

const rig = serviceRig();
const { emulator } = rig;
let service: Service;

beforeAll(async () => {
  service = await rig.start({ AGENT: "echo", SEND_RATE_PER_CHAT: "1000", SEND_RATE_GLOBAL: "1000" });
});

test("a text message is echoed back exactly, through the webhook and the outbox", async () => {
  const user = { id: 501, first_name: "Ana", language_code: "en" };
  const text = "hello, timbre ✓ 🎉 \n second line";
  const update = emulator.sendText(user, text);
  const sent = await waitFor(() => emulator.sentTo(user.id)[0], "the echo");
  expect(sent.text).toBe(text);
  await waitFor(() => service.inbox.row(update.update_id)?.status === "done", "the update to be done");
  const row = service.inbox.row(update.update_id)!;
  expect(row.chatId).toBe(user.id);
  expect(row.kind).toBe("message");
  expect(emulator.pendingUpdates()).toBe(0);
});

test("updates without text are stored and done, with nothing sent", async () => {
  const before = emulator.messages.length;
  const update = emulator.pushUpdate({ edited_message: { message_id: 1, chat: { id: 502, type: "private" }, from: { id: 502, first_name: "B" }, date: 1, text: "edited" } });
  await waitFor(() => service.inbox.row(update.update_id)?.status === "done", "the edited message to be done");
  const photo = emulator.pushUpdate({ message: { message_id: 2, chat: { id: 502, type: "private" }, from: { id: 502, first_name: "B" }, date: 1, photo: [{ file_id: "x", width: 1, height: 1 }] } });
  await waitFor(() => service.inbox.row(photo.update_id)?.status === "done", "the photo to be done");
  // And the next text still gets its echo: nothing was left blocking the chat.
  emulator.sendText({ id: 502, first_name: "B" }, "after");
  await waitFor(() => emulator.sentTo(502).length === 1, "the echo after non-text updates");
  expect(emulator.messages.length).toBe(before + 1);
});
