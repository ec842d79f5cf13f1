/**
 * Sandbox mode's guards: it listens on this machine only unless HOST is set, and it keeps its
 * webhook (the admin API cannot point the emulator elsewhere and leave the sandbox deaf).
 */
import { afterAll, expect, test } from "bun:test";
import { networkInterfaces } from "node:os";
import { spawnService, startInProcess, tempDir, waitFor, type SpawnedService } from "../helpers.ts";

const dir = tempDir();
const children: SpawnedService[] = [];
afterAll(async () => {
  for (const child of children) if (child.proc.exitCode === null) await child.kill9();
  dir.cleanup();
});

/** An IPv4 address of this machine other than loopback, when it has one. */
const outsideAddress = Object.values(networkInterfaces())
  .flat()
  .find((a) => a !== undefined && a.family === "IPv4" && !a.internal)?.address;

async function answers(url: string): Promise<boolean> {
  try {
    return (await fetch(url, { signal: AbortSignal.timeout(5_000) })).ok;
  } catch {
    return false;
  }
}

function sandboxLine(child: SpawnedService): string {
  const line = child.output().split("\n").find((l) => l.includes("sandbox mode: open"));
  if (!line) throw new Error(`no sandbox start line in: ${child.output()}`);
  return (JSON.parse(line) as { msg: string }).msg;
}

test("without HOST the sandbox listens on 127.0.0.1 only and says so in its start line", async () => {
  const child = await spawnService({ DATABASE_PATH: `${dir.path}/local.db`, PORT: "0", AGENT: "echo" });
  children.push(child);
  const port = new URL(child.url).port;
  expect(sandboxLine(child)).toContain("listening on 127.0.0.1 only (set HOST=0.0.0.0 to share it)");
  expect(await answers(`http://127.0.0.1:${port}/healthz`)).toBe(true);
  if (outsideAddress) expect(await answers(`http://${outsideAddress}:${port}/healthz`)).toBe(false);
  expect(await child.terminate()).toBe(0);
});

test("HOST=0.0.0.0 shares the sandbox, and the start line says anyone who reaches it can chat", async () => {
  const child = await spawnService({ DATABASE_PATH: `${dir.path}/shared.db`, HOST: "0.0.0.0", PORT: "0", AGENT: "echo" });
  children.push(child);
  const port = new URL(child.url).port;
  expect(sandboxLine(child)).toContain(`listening on HOST=0.0.0.0: anyone who reaches port ${port} can chat with the bot`);
  if (outsideAddress) expect(await answers(`http://${outsideAddress}:${port}/healthz`)).toBe(true);
  expect(await child.terminate()).toBe(0);
});

test("every /admin/webhook route answers 409 in the sandbox (SPEC: the sandbox owns its webhook); the sandbox still answers", async () => {
  const service = await startInProcess({ DATABASE_PATH: `${dir.path}/admin.db`, PORT: "0", ADMIN_TOKEN: "sandbox-admin", AGENT: "echo", SEND_RATE_PER_CHAT: "1000" });
  try {
    const admin = (method: string, path: string, body?: unknown) =>
      fetch(`${service.url}${path}`, {
        method,
        headers: { authorization: "Bearer sandbox-admin", "content-type": "application/json" },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
      });
    const routes = [["GET", "/admin/webhook", undefined], ["PUT", "/admin/webhook", { url: "https://elsewhere.example.com/hook" }], ["DELETE", "/admin/webhook?drop_pending_updates=true", undefined]] as const;
    for (const [method, path, body] of routes) {
      const response = await admin(method, path, body);
      expect(response.status).toBe(409);
      const answer = (await response.json()) as { ok: boolean; error: string };
      expect(answer.ok).toBe(false);
      expect(answer.error).toStartWith("the sandbox owns its webhook");
    }
    expect(service.emulator!.callsOf("getWebhookInfo")).toHaveLength(0);
    expect(service.emulator!.callsOf("setWebhook")).toHaveLength(1);
    expect(service.emulator!.callsOf("deleteWebhook")).toHaveLength(0);

    const user = { id: 5151, first_name: "Still" };
    service.emulator!.sendText(user, "still here?");
    const echo = await waitFor(() => service.emulator!.sentTo(user.id)[0], "the echo after the refused webhook changes");
    expect(echo.text).toBe("still here?");
  } finally {
    await service.stop();
  }
});
