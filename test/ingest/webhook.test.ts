import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Database } from "bun:sqlite";
import { connect } from "node:net";
import { postUpdate, serviceEnv, startEmulator, startInProcess, tempDir, TEST_SECRET, textUpdate, waitFor, type Service } from "../helpers.ts";

const { emulator, apiUrl } = startEmulator();
const dir = tempDir();
let service: Service;

beforeAll(async () => {
  service = await startInProcess(serviceEnv(emulator, apiUrl, `${dir.path}/timbre.db`, { AGENT: "echo", SEND_RATE_PER_CHAT: "1000" }));
});
afterAll(async () => {
  await service.stop();
  emulator.stop();
  dir.cleanup();
});

function storedCount(): number {
  return (service.database.sqlite.query("SELECT count(*) AS n FROM updates").get() as { n: number }).n;
}

async function expectRefused(response: Response, status: number, pattern: RegExp) {
  expect(response.status).toBe(status);
  expect(response.headers.get("content-type")).toContain("application/json");
  const body = (await response.json()) as { ok: boolean; error: string };
  expect(body.ok).toBe(false);
  expect(body.error).toMatch(pattern);
}

/** Sends raw HTTP so the body can be chunked (no Content-Length). */
function rawChunkedPost(port: number, secret: string, chunks: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1", () => {
      socket.write(
        `POST /telegram/webhook HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nX-Telegram-Bot-Api-Secret-Token: ${secret}\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n`,
      );
      for (const chunk of chunks) socket.write(`${Buffer.byteLength(chunk).toString(16)}\r\n${chunk}\r\n`);
      socket.write("0\r\n\r\n");
    });
    let out = "";
    socket.on("data", (d) => (out += d.toString()));
    socket.on("end", () => resolve(out));
    socket.on("error", (e) => (out ? resolve(out) : reject(e)));
  });
}

describe("refused requests store nothing", () => {
  test("missing or wrong secret: 401", async () => {
    const before = storedCount();
    await expectRefused(await postUpdate(service.url, textUpdate({ id: 1, first_name: "A" }, "x"), null), 401, /X-Telegram-Bot-Api-Secret-Token/);
    await expectRefused(await postUpdate(service.url, textUpdate({ id: 1, first_name: "A" }, "x"), "wrong"), 401, /secret/);
    await expectRefused(await postUpdate(service.url, textUpdate({ id: 1, first_name: "A" }, "x"), TEST_SECRET + "x"), 401, /secret/);
    expect(storedCount()).toBe(before);
  });

  test("the secret is checked before anything else: a huge body with a wrong secret is 401", async () => {
    const response = await postUpdate(service.url, "x".repeat(2 * 1024 * 1024), "wrong");
    await expectRefused(response, 401, /secret/);
  });

  const badBodies: [string, string][] = [
    ["not JSON", "{update_id: 1"],
    ["empty", ""],
    ["a JSON array", "[1,2]"],
    ["a JSON string", '"update"'],
    ["null", "null"],
    ["no update_id", '{"message":{"text":"x"}}'],
    ["a string update_id", '{"update_id":"5"}'],
    ["a fractional update_id", '{"update_id":1.5}'],
    ["a negative update_id", '{"update_id":-1}'],
    ["an update_id over 2^53-1", '{"update_id":9007199254740992}'],
    ["a boolean update_id", '{"update_id":true}'],
  ];
  for (const [name, body] of badBodies) {
    test(`${name}: 400`, async () => {
      const before = storedCount();
      await expectRefused(await postUpdate(service.url, body), 400, /JSON|Update/);
      expect(storedCount()).toBe(before);
    });
  }

  test("a body over 1 MiB by Content-Length: 413", async () => {
    const before = storedCount();
    const big = JSON.stringify({ update_id: 777, message: { text: "x".repeat(1024 * 1024) } });
    await expectRefused(await postUpdate(service.url, big), 413, /1 MiB/);
    expect(storedCount()).toBe(before);
  });

  test("a chunked body that grows past 1 MiB while reading: 413", async () => {
    const before = storedCount();
    const chunk = "x".repeat(64 * 1024);
    const answer = await rawChunkedPost(service.port, TEST_SECRET, ['{"update_id":778,"pad":"', ...Array(20).fill(chunk), '"}']);
    expect(answer).toStartWith("HTTP/1.1 413");
    expect(storedCount()).toBe(before);
  });

  test("a chunked body under the limit is accepted", async () => {
    const answer = await rawChunkedPost(service.port, TEST_SECRET, ['{"update_id":779,', '"poll":{"id":"1"}}']);
    expect(answer).toStartWith("HTTP/1.1 200");
    expect(service.inbox.row(779)?.kind).toBe("poll");
  });
});

describe("accepted updates", () => {
  test("4.0 and 1e3 are integers once parsed; the content type does not matter", async () => {
    const a = await postUpdate(service.url, '{"update_id":4.0,"channel_post":{"message_id":1,"chat":{"id":-100,"type":"channel"},"date":1,"text":"x"}}', TEST_SECRET, {
      headers: { "content-type": "text/plain" },
    });
    expect(a.status).toBe(200);
    expect(await a.json()).toEqual({ ok: true });
    const b = await postUpdate(service.url, '{"update_id":1e3,"unknown_future_type":{"x":1}}');
    expect(b.status).toBe(200);
    expect(service.inbox.row(4)?.kind).toBe("channel_post");
    expect(service.inbox.row(4)?.chatId).toBe(-100);
    expect(service.inbox.row(1000)?.kind).toBe("unknown_future_type");
  });

  test("the payload is kept byte for byte, unknown fields included", async () => {
    const raw = '{"update_id":2001,"message":{"message_id":1,"from":{"id":9,"first_name":"Z"},"chat":{"id":9,"type":"private"},"date":1,"text":"hi","future_field":{"big":12345678901234567890}}}';
    expect((await postUpdate(service.url, raw)).status).toBe(200);
    const row = service.database.sqlite.query("SELECT payload FROM updates WHERE update_id = 2001").get() as { payload: string } | null;
    expect(row?.payload).toBe(raw);
  });

  test("a duplicate update_id answers 200 and is not processed again", async () => {
    const user = { id: 4242, first_name: "Dup" };
    const update = textUpdate(user, "only once", 3001);
    const answers = await Promise.all([postUpdate(service.url, update), postUpdate(service.url, update)]);
    expect(answers.map((r) => r.status)).toEqual([200, 200]);
    await waitFor(() => emulator.sentTo(user.id).length === 1, "the echo");
    expect((await postUpdate(service.url, update)).status).toBe(200);
    await waitFor(() => service.inbox.row(3001)?.status === "done", "done");
    await service.dispatcher.whenIdle();
    await service.outbox.whenIdle();
    expect(emulator.sentTo(user.id).map((m) => m.text)).toEqual(["only once"]);
    expect(service.metrics.updatesDuplicate.get()).toBeGreaterThanOrEqual(2);
  });

  test("an acknowledged update is on disk: another connection sees it at once", async () => {
    const response = await postUpdate(service.url, textUpdate({ id: 55, first_name: "D" }, "durable", 4001));
    expect(response.status).toBe(200);
    const other = new Database(service.config.databasePath, { readonly: true });
    expect(other.query("SELECT update_id FROM updates WHERE update_id = 4001").get()).toEqual({ update_id: 4001 });
    other.close();
  });
});

test("healthz answers ok with the mode", async () => {
  const response = await fetch(`${service.url}/healthz`);
  expect(response.status).toBe(200);
  expect(await response.json()).toEqual({ status: "ok", mode: "webhook" });
});

test("polling mode: the webhook answers 409 and stores nothing", async () => {
  const pollDir = tempDir();
  const polling = await startInProcess(serviceEnv(emulator, apiUrl, `${pollDir.path}/p.db`, { BOT_MODE: "polling" }));
  try {
    await expectRefused(await postUpdate(polling.url, textUpdate({ id: 1, first_name: "P" }, "x", 5001)), 409, /polling/);
    await expectRefused(await postUpdate(polling.url, textUpdate({ id: 1, first_name: "P" }, "x", 5001), "bad"), 401, /secret/);
    expect(polling.inbox.row(5001)).toBeUndefined();
    expect(await (await fetch(`${polling.url}/healthz`)).json()).toEqual({ status: "ok", mode: "polling" });
  } finally {
    await polling.stop();
    pollDir.cleanup();
  }
});

test("shutting down: 503 after a good secret, 401 before", async () => {
  const stopDir = tempDir();
  // A run that works for a while keeps stop() busy, so requests arrive while it shuts down.
  const stopping = await startInProcess(serviceEnv(emulator, apiUrl, `${stopDir.path}/s.db`), {
    agent: async (ctx) => {
      await Bun.sleep(800);
      await ctx.reply("slow");
    },
  });
  try {
    expect((await postUpdate(stopping.url, textUpdate({ id: 77, first_name: "S" }, "go", 6000))).status).toBe(200);
    await waitFor(() => stopping.runtime.counts().running === 1, "the slow run to start");
    const stopped = stopping.stop();
    await expectRefused(await postUpdate(stopping.url, textUpdate({ id: 1, first_name: "S" }, "x", 6001)), 503, /shutting down/);
    const wrongSecret = await postUpdate(stopping.url, textUpdate({ id: 1, first_name: "S" }, "x", 6002), "bad");
    await expectRefused(wrongSecret, 401, /secret/);
    await stopped;
    const check = new Database(`${stopDir.path}/s.db`, { readonly: true });
    expect(check.query("SELECT update_id FROM updates ORDER BY update_id").all()).toEqual([{ update_id: 6000 }]);
    check.close();
  } finally {
    await stopping.stop();
    stopDir.cleanup();
  }
});

test("healthz is 503 when the database does not answer", async () => {
  const brokenDir = tempDir();
  const broken = await startInProcess(serviceEnv(emulator, apiUrl, `${brokenDir.path}/b.db`));
  try {
    broken.database.sqlite.close();
    const response = await fetch(`${broken.url}/healthz`);
    expect(response.status).toBe(503);
    expect(((await response.json()) as { status: string }).status).toBe("unavailable");
    // And an update it cannot store is never answered 200.
    const refused = await postUpdate(broken.url, textUpdate({ id: 1, first_name: "B" }, "x", 7001));
    expect(refused.status).toBe(503);
  } finally {
    await broken.stop().catch(() => undefined);
    brokenDir.cleanup();
  }
});

test("without WEBHOOK_SECRET a secret is generated once, kept in the database and reused on every start", async () => {
  const secretDir = tempDir();
  const env = serviceEnv(emulator, apiUrl, `${secretDir.path}/secret.db`);
  delete (env as Record<string, string | undefined>).WEBHOOK_SECRET;
  try {
    const first = await startInProcess(env);
    const generated = first.secret;
    expect(generated).toMatch(/^[A-Za-z0-9_-]{32,256}$/);
    expect((await postUpdate(first.url, textUpdate({ id: 91, first_name: "G" }, "x", 8001), generated)).status).toBe(200);
    expect((await postUpdate(first.url, textUpdate({ id: 91, first_name: "G" }, "x", 8002), TEST_SECRET)).status).toBe(401);
    await first.stop();

    const second = await startInProcess(env);
    expect(second.secret).toBe(generated);
    expect((await postUpdate(second.url, textUpdate({ id: 91, first_name: "G" }, "y", 8003), generated)).status).toBe(200);
    await second.stop();

    // WEBHOOK_SECRET, when set, wins over the stored one.
    const third = await startInProcess({ ...env, WEBHOOK_SECRET: "configured_secret-1" });
    expect(third.secret).toBe("configured_secret-1");
    await third.stop();
  } finally {
    secretDir.cleanup();
  }
});
