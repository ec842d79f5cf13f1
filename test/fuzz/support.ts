/** What the fuzz tests share: the checks that follow every batch (the log they read is capturingLogger's). */
import { expect } from "bun:test";
import type { Service } from "../helpers.ts";
import { postUpdate, textUpdate, waitFor } from "../helpers.ts";
import type { BotApiEmulator } from "../../src/sandbox/emulator.ts";
import type { LogLine } from "../runtime/support.ts";

export function updateRowCount(service: Service): number {
  return (service.database.sqlite.query("SELECT count(*) AS n FROM updates").get() as { n: number }).n;
}

let probeId = 8_000_000_000;
/** The service still stores and handles an ordinary update end to end. */
export async function stillServes(service: Service, emulator: BotApiEmulator): Promise<void> {
  const chat = 9_999;
  const before = emulator.sentTo(chat).length;
  const id = probeId++;
  const response = await postUpdate(service.url, textUpdate({ id: chat, first_name: "Probe" }, `probe ${id}`, id));
  expect(response.status).toBe(200);
  await waitFor(() => emulator.sentTo(chat).length === before + 1, "the probe's echo");
  expect(emulator.sentTo(chat).at(-1)!.text).toBe(`probe ${id}`);
}

/** Every stored update gets handled: nothing stuck in received or processing, nothing failed. */
export async function allHandled(service: Service, timeoutMs = 15_000): Promise<void> {
  await waitFor(
    () => {
      const counts = service.inbox.counts();
      return counts.received === 0 && counts.processing === 0;
    },
    `every stored update to be handled (now ${JSON.stringify(service.inbox.counts())})`,
    timeoutMs,
  );
  const failed = service.inbox.list({ status: "failed", limit: 5 });
  expect(failed.map((row) => ({ id: row.updateId, error: row.error, payload: row.payload?.slice(0, 300) }))).toEqual([]);
}

/** No line says a request or an update blew up inside timbre. */
export function noInternalErrors(lines: LogLine[]): void {
  const bad = lines.filter((e) => e.msg === "http: unhandled error" || e.msg === "update failed" || e.msg.startsWith("run failed") || e.msg === "could not mark update failed");
  expect(bad).toEqual([]);
}
