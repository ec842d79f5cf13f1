/**
 * The latency a user feels: a steady, paced load (open loop: one update every 1000/rate ms,
 * whatever the answers) over 1000 private chats, webhook post -> the echo recorded by the Bot API
 * emulator, p50/p99/max, and the webhook's own answer time.
 *
 *   bun bench/latency.ts [--rate 200] [--seconds 20] [--global-rate 30]
 *
 * The service is `bun src/main.ts` with AGENT=echo in a child process (WAL + synchronous=FULL,
 * default per-chat and per-group send rates); the emulator and the paced client run in this
 * process. SEND_RATE_GLOBAL defaults to Telegram's 30/s, which a load above 30 updates/s outruns
 * by design (the queue then grows): pass --global-rate to lift it for higher rates.
 */
import { parseArgs } from "node:util";
import { BotApiEmulator } from "../src/sandbox/emulator.ts";
import { postUpdate, serviceEnv, spawnService, tempDir, textUpdate } from "../test/helpers.ts";

const { values } = parseArgs({
  options: { rate: { type: "string", default: "200" }, seconds: { type: "string", default: "20" }, "global-rate": { type: "string", default: "30" } },
});
const RATE = Number(values.rate);
const SECONDS = Number(values.seconds);
const CHATS = 1000;

const emulator = new BotApiEmulator({ seed: 7 });
const apiUrl = emulator.listen();
const posted = new Map<string, number>();
const latencies: number[] = [];
emulator.subscribe((event) => {
  if (event.type !== "bot_message") return;
  const at = posted.get(event.message.text);
  if (at !== undefined) latencies.push(performance.now() - at);
});

const dir = tempDir("timbre-bench-latency-");
const service = await spawnService(serviceEnv(emulator, apiUrl, `${dir.path}/timbre.db`, { AGENT: "echo", SEND_RATE_GLOBAL: values["global-rate"]! }));
const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
try {
  const ackTimes: number[] = [];
  let id = 1;
  const total = RATE * SECONDS;
  const started = performance.now();
  const inFlight: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const due = started + (i * 1000) / RATE;
    const wait = due - performance.now();
    if (wait > 1) await Bun.sleep(wait);
    const updateId = id++;
    const chat = 2_000_000 + (updateId % CHATS);
    const text = `ping ${updateId}`;
    const at = performance.now();
    posted.set(text, at);
    inFlight.push(
      postUpdate(service.url, textUpdate({ id: chat, first_name: "Paced" }, text, updateId)).then(async (response) => {
        await response.arrayBuffer();
        ackTimes.push(performance.now() - at);
      }),
    );
  }
  await Promise.all(inFlight);
  const deadline = Date.now() + 30_000;
  while (latencies.length < total && Date.now() < deadline) await Bun.sleep(50);
  const sorted = [...latencies].sort((a, b) => a - b);
  const acks = [...ackTimes].sort((a, b) => a - b);
  const fmt = (n: number) => n.toFixed(1);
  console.log(`\nlatency: ${RATE} updates/s for ${SECONDS} s over ${CHATS} chats, AGENT=echo, SEND_RATE_GLOBAL=${values["global-rate"]}, other send rates default\n`);
  console.log("| measure | p50 ms | p99 ms | max ms | count |");
  console.log("| --- | --- | --- | --- | --- |");
  console.log(`| webhook answer (200 after the durable commit) | ${fmt(percentile(acks, 50))} | ${fmt(percentile(acks, 99))} | ${fmt(acks.at(-1) ?? NaN)} | ${acks.length} |`);
  console.log(`| webhook post -> echo at the Bot API | ${fmt(percentile(sorted, 50))} | ${fmt(percentile(sorted, 99))} | ${fmt(sorted.at(-1) ?? NaN)} | ${sorted.length} of ${total} |`);
} finally {
  await service.kill9();
  emulator.stop();
  dir.cleanup();
}
