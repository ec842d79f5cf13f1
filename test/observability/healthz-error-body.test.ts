/**
 * SPEC "HTTP routes", after the table of every route (GET /healthz among them): "Every error
 * body is JSON `{"ok":false,"error":"..."}`" (README repeats it). GET /healthz's 503 answers
 * `{"status":"unavailable","mode":...,"error":...}`: no `ok:false`.
 */
import { expect, test } from "bun:test";
import { serviceEnv, startEmulator, startInProcess, tempDir } from "../helpers.ts";

test("GET /healthz's 503 body is {ok:false,error}", async () => {
  const { emulator, apiUrl } = startEmulator();
  const dir = tempDir();
  const broken = await startInProcess(serviceEnv(emulator, apiUrl, `${dir.path}/b.db`, { LOG_LEVEL: "error" }));
  try {
    broken.database.sqlite.close();
    const response = await fetch(`${broken.url}/healthz`);
    expect(response.status).toBe(503);
    const body = (await response.json()) as { ok?: unknown; error?: unknown };
    expect(typeof body.error).toBe("string");
    expect(body.ok).toBe(false);
  } finally {
    await broken.stop().catch(() => undefined);
    emulator.stop();
    dir.cleanup();
  }
});
