/** Load and measurements the multi-instance scenarios share: webhook posts through the rig, echoes as the emulator saw them. */
import type { BotMessage } from "../../src/sandbox/emulator.ts";
import { postUpdate, textUpdate } from "../helpers.ts";
import type { Rig } from "./instances.ts";

/** POSTs one text update through the proxy; resolves to the HTTP status (0 when the proxy could not be reached). */
export async function postText(url: string, chatId: number, text: string, updateId: number): Promise<number> {
  try {
    const response = await postUpdate(url, textUpdate({ id: chatId, first_name: `U${chatId}` }, text, updateId));
    await response.arrayBuffer();
    return response.status;
  } catch {
    return 0;
  }
}

/** The bot's messages to chats firstChat .. firstChat+count-1, by chat, in the order the emulator got them. */
export function messagesByChat(rig: Rig, firstChat: number, count: number): Map<number, BotMessage[]> {
  const byChat = new Map<number, BotMessage[]>();
  for (const message of rig.emulator.messages) {
    if (message.chat_id < firstChat || message.chat_id >= firstChat + count) continue;
    const list = byChat.get(message.chat_id);
    if (list) list.push(message);
    else byChat.set(message.chat_id, [message]);
  }
  return byChat;
}

/** How many of these chats' sendMessage calls the emulator recorded (any answer), and when each came in. */
export function sendTimes(rig: Rig, firstChat: number, count: number): number[] {
  return rig.emulator
    .callsOf("sendMessage")
    .filter((call) => {
      const chat = Number(call.params.chat_id);
      return chat >= firstChat && chat < firstChat + count;
    })
    .map((call) => call.at)
    .sort((a, b) => a - b);
}

/** The most timestamps in any half-open window [t, t + windowMs) that starts at one of them. */
export function maxInWindow(sortedTimes: readonly number[], windowMs: number): number {
  let most = 0;
  let end = 0;
  for (let start = 0; start < sortedTimes.length; start++) {
    while (end < sortedTimes.length && sortedTimes[end]! < sortedTimes[start]! + windowMs) end++;
    most = Math.max(most, end - start);
  }
  return most;
}

/**
 * Webhook load for kill tests: `clients` loops, each posting its own chat's updates in order
 * (the next only after the previous was answered, as Telegram delivers a chat), ids ascending from
 * one counter, until stopped. A post the proxy did not answer 200 is simply not acknowledged (Telegram
 * would send it again; this load moves on), after a short pause so a load with no instance up does not spin.
 */
export function chatLoad(rig: Rig, options: { clients: number; tag: string }) {
  const firstChat = rig.takeChatIds(options.clients);
  const firstId = rig.takeUpdateIds(10_000_000);
  let nextId = firstId;
  let stopped = false;
  /** Acknowledged ids in the order their 200 came, with the chat of each. */
  const acknowledged: { id: number; chat: number }[] = [];
  let failed = 0;
  const text = (id: number) => `${options.tag} ${id}`;
  const loops = Array.from({ length: options.clients }, async (_, client) => {
    const chat = firstChat + client;
    while (!stopped) {
      const id = nextId++;
      const status = await postText(rig.url, chat, text(id), id);
      if (status === 200) acknowledged.push({ id, chat });
      else {
        failed++;
        await Bun.sleep(20);
      }
    }
  });
  return {
    firstChat,
    chats: options.clients,
    acknowledged,
    text,
    /** The id a text names (undefined for a text this load did not send). */
    idOf(messageText: string): number | undefined {
      const match = new RegExp(`^${options.tag} (\\d+)$`).exec(messageText);
      return match ? Number(match[1]) : undefined;
    },
    failed: () => failed,
    async stop(): Promise<void> {
      stopped = true;
      await Promise.all(loops);
    },
  };
}
