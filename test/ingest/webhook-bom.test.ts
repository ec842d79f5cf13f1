/**
 * README, The webhook contract: "The body is parsed as JSON whatever its Content-Type". A JSON
 * update that starts with a UTF-8 byte order mark gets the same answer however the client frames
 * it (Content-Length or chunked): the mark is dropped in both, as JSON parsers may.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { connect } from "node:net";
import { serviceEnv, startEmulator, startInProcess, tempDir, TEST_SECRET, type Service } from "../helpers.ts";

const { emulator, apiUrl } = startEmulator();
const dir = tempDir();
let service: Service;
beforeAll(async () => {
  service = await startInProcess(serviceEnv(emulator, apiUrl, `${dir.path}/timbre.db`, { AGENT: "echo" }));
});
afterAll(async () => {
  await service.stop();
  emulator.stop();
  dir.cleanup();
});

/** One raw POST of `body`, framed by Content-Length or chunked; resolves with the status code. */
function post(port: number, body: Buffer, chunked: boolean): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, "127.0.0.1", () => {
      const framing = chunked ? "Transfer-Encoding: chunked\r\n" : `Content-Length: ${body.length}\r\n`;
      socket.write(`POST /telegram/webhook HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nX-Telegram-Bot-Api-Secret-Token: ${TEST_SECRET}\r\n${framing}Connection: close\r\n\r\n`);
      if (chunked) socket.write(Buffer.concat([Buffer.from(`${body.length.toString(16)}\r\n`), body, Buffer.from("\r\n0\r\n\r\n")]));
      else socket.write(body);
    });
    let out = "";
    socket.on("data", (d) => (out += d.toString()));
    socket.on("end", () => resolve(Number(out.split(" ")[1])));
    socket.on("error", (e) => (out ? resolve(Number(out.split(" ")[1])) : reject(e)));
  });
}

const withBom = (json: string) => Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(json)]);

test("a body starting with a UTF-8 BOM gets the same answer with Content-Length and chunked", async () => {
  const byLength = await post(service.port, withBom('{"update_id":6101}'), false);
  const chunked = await post(service.port, withBom('{"update_id":6102}'), true);
  expect({ chunked, stored: service.inbox.row(6102) !== undefined }).toEqual({ chunked: byLength, stored: service.inbox.row(6101) !== undefined });
});
