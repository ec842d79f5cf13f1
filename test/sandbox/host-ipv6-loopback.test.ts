/**
 * SPEC "Configuration": "`HOST` / `PORT` | `0.0.0.0` / `8080` | listen address".
 * README "Configuration": "`HOST` / `PORT` | `0.0.0.0` / `8080` | listen address (`PORT=0` picks a free
 * port); the sandbox's default `HOST` is `127.0.0.1`", and SPEC "Sandbox mode": the sandbox bot answers
 * the user through its built-in emulator.
 *
 * HOST=::1 (IPv6 loopback, which src/app.ts itself counts as loopback) is a valid listen address, and the
 * server does listen there. But src/http-app.ts listen() builds the service's own URL as
 * `${scheme}://${host}:${port}` without brackets, "http://::1:PORT", which is no URL. In sandbox mode
 * src/app.ts uses it for the emulator's Bot API root (`${url}/sandbox/api`) and for the emulator's
 * webhook (`${url}/telegram/webhook`), so the bot never gets the user's message and never answers.
 */
import { afterAll, expect, test } from "bun:test";
import { startInProcess, tempDir, waitFor } from "../helpers.ts";

const dir = tempDir();
afterAll(() => dir.cleanup());

test("a sandbox listening on HOST=::1 still answers its user", async () => {
  const service = await startInProcess({ DATABASE_PATH: `${dir.path}/v6.db`, PORT: "0", HOST: "::1", AGENT: "echo", SEND_RATE_PER_CHAT: "1000" });
  try {
    // The server itself is up on [::1].
    expect((await fetch(`http://[::1]:${service.port}/healthz`)).status).toBe(200);
    const user = { id: 6161, first_name: "Six" };
    service.emulator!.sendText(user, "hello over ipv6");
    const echo = await waitFor(() => service.emulator!.sentTo(user.id)[0], "the echo agent's reply", 8_000);
    expect(echo.text).toBe("hello over ipv6");
    // Its own URL must be one a client can use.
    expect(() => new URL(`${service.url}/healthz`)).not.toThrow();
  } finally {
    await service.stop();
  }
});
