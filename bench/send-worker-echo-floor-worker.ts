// The Worker of bench/send-worker-echo-floor-server.ts: one sendMessage per reply it is handed,
// and the answers of one turn reported back in one message as [reply id, message id] pairs.
import { sendEcho } from "./echo-floor-parts.ts";

declare const self: Worker;
let sendMessage = "";
let answered: [number, number][] = [];

function report(): void {
  self.postMessage(answered);
  answered = [];
}

async function send(replyId: number, chatId: number, text: string): Promise<void> {
  const messageId = await sendEcho(sendMessage, chatId, text);
  if (messageId === undefined) return;
  if (answered.length === 0) setImmediate(report);
  answered.push([replyId, messageId]);
}

self.onmessage = (event: MessageEvent) => {
  if (typeof event.data === "string") {
    sendMessage = event.data;
    return;
  }
  for (const [replyId, chatId, text] of event.data as [number, number, string][]) void send(replyId, chatId, text);
};
