// The Worker of bench/send-worker-echo-floor-server.ts: one sendMessage per reply it is handed,
// and the answers of one turn reported back in one message as [reply id, message id] pairs.
import { echoSender } from "./echo-floor-parts.ts";

declare const self: Worker;
let send: ReturnType<typeof echoSender>;

self.onmessage = (event: MessageEvent) => {
  if (typeof event.data === "string") {
    send = echoSender(event.data, (answered) => self.postMessage(answered));
    return;
  }
  for (const [replyId, chatId, text] of event.data as [number, number, string][]) void send(replyId, chatId, text);
};
