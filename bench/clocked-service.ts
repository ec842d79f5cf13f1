/**
 * The service as `bun src/main.ts` runs it, but on a clock the benchmark moves, so retention
 * periods of hours and days pass in a few minutes (bench/memory.ts, prune cycles).
 *
 *   bun bench/clocked-service.ts <advance-ms>      (configured by the same environment as main.ts)
 *
 * Each SIGUSR2 moves the clock `advance-ms` forward and makes the same three prune calls the
 * service's janitor makes every 10 minutes (src/app.ts), then prints one line:
 *   {"msg":"clocked: pruned","cycle":N,"clock":ms,"payloads_dropped":..,"updates_deleted":..,"outbox_deleted":..,"runs_deleted":..,"prune_ms":..}
 * A benchmark-only entry point, so nothing test-only has to live in src/.
 */
import { startService } from "../src/app.ts";
import { loadConfig } from "../src/config.ts";
import { ShiftableClock } from "../test/runtime/support.ts";

const advanceMs = Number(process.argv[2]);
if (!Number.isFinite(advanceMs) || advanceMs <= 0) {
  console.error("usage: bun bench/clocked-service.ts <advance-ms>");
  process.exit(2);
}

const clock = new ShiftableClock();
const service = await startService(loadConfig(), { clock });
let cycle = 0;

process.on("SIGUSR2", () => {
  clock.advance(advanceMs);
  const started = performance.now();
  const updates = service.inbox.prune();
  const messages = service.outbox.prune();
  const runs = service.runtime.prune();
  cycle++;
  console.log(
    JSON.stringify({
      msg: "clocked: pruned",
      cycle,
      clock: clock.now(),
      payloads_dropped: updates.payloadsDropped,
      updates_deleted: updates.rowsDeleted,
      outbox_deleted: messages,
      runs_deleted: runs,
      prune_ms: +(performance.now() - started).toFixed(1),
    }),
  );
});
process.on("SIGTERM", () => void service.stop().then(() => process.exit(0)));
