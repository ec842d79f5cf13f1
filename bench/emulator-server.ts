// The Bot API emulator in its own process, so the service under test shares no CPU with it.
import { BotApiEmulator } from "../src/sandbox/emulator.ts";

const emulator = new BotApiEmulator({ token: process.argv[2] });
const url = emulator.listen();
// Recording every call would grow without bound during a benchmark.
setInterval(() => {
  emulator.messages.length = 0;
  emulator.calls.length = 0;
}, 1000);
console.log(`listening ${url}`);
