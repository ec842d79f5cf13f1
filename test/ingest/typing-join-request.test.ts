/**
 * README "How timbre reads updates", the table's `chat_join_request` row: replies (and typing) go to
 * "the applicant, in private (`user_chat_id`): they are not in the group yet". README "Outbox",
 * Typing: "While a run has been working for more than a second, the chat shows "typing"
 * (`sendChatAction`...). Channels and channels' direct-messages chats get none".
 *
 * A request to join a *channel* starts a run whose chat is the applicant's private chat, which is
 * no channel: a run working over a second there must show typing in that private chat, as it does
 * for a request to join a group.
 */
import { expect, test } from "bun:test";
import type { Agent } from "../../src/runtime/context.ts";
import { serviceRig, waitFor } from "../helpers.ts";
import { gate, newUser } from "../runtime/support.ts";

const rig = serviceRig();
const DATE = 1_717_000_000;
const group = { id: -1001000000101, type: "supergroup", title: "Runners" };
const channel = { id: -1001000000102, type: "channel", title: "Runners news" };

test("a run for a join request shows typing in the applicant's private chat, for a channel as for a group", async () => {
  const slow = gate();
  const agent: Agent = async (ctx) => {
    await slow.opened;
    await ctx.reply("welcome");
  };
  const service = await rig.start({ SEND_RATE_PER_CHAT: "1000", SEND_RATE_PER_GROUP: "1000", SEND_RATE_GLOBAL: "10000" }, { agent });
  const toGroup = { is_bot: false, ...newUser("Gia") };
  const toChannel = { is_bot: false, ...newUser("Cai") };
  rig.emulator.pushUpdate({ chat_join_request: { chat: group, from: toGroup, user_chat_id: toGroup.id, date: DATE } } as never);
  rig.emulator.pushUpdate({ chat_join_request: { chat: channel, from: toChannel, user_chat_id: toChannel.id, date: DATE } } as never);
  const typedIn = () => rig.emulator.callsOf("sendChatAction").map((c) => Number(c.params.chat_id));
  // The group's applicant sees typing after about a second: the run works in their private chat.
  await waitFor(() => typedIn().includes(toGroup.id), "typing in the group applicant's private chat");
  // Both runs started together; give the channel's applicant the same time and a refresh more.
  await Bun.sleep(1_500);
  const seen = typedIn();
  slow.open();
  await waitFor(() => rig.emulator.sentTo(toChannel.id).length === 1 && rig.emulator.sentTo(toGroup.id).length === 1, "both welcomes");
  await service.outbox.whenIdle();
  expect({ groupApplicant: seen.includes(toGroup.id), channelApplicant: seen.includes(toChannel.id) }).toEqual({ groupApplicant: true, channelApplicant: true });
});
