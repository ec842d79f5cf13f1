import { describe, expect, test } from "bun:test";
import { clientAddress, inRanges, ipv4Number, parseCidr, trustedSourceCheck } from "../../src/ingest/trusted-ips.ts";
import { serviceRig, postUpdate, serviceEnv, startInProcess, textUpdate, type Service } from "../helpers.ts";

const { emulator, apiUrl, dir, services } = serviceRig();

let dbCount = 0;
async function start(extra: Record<string, string>): Promise<Service> {
  const service = await startInProcess(serviceEnv(emulator, apiUrl, `${dir.path}/t${dbCount++}.db`, { AGENT: "echo", ...extra }));
  services.push(service);
  return service;
}

const TELEGRAM_ADDRESS = "149.154.167.99";
const user = { id: 801, first_name: "T" };
let nextId = 1;

describe("address matching", () => {
  test("IPv4, IPv4-mapped IPv6 in both notations; other IPv6 and junk are not IPv4", () => {
    expect(ipv4Number("127.0.0.1")).toBe(0x7f000001);
    expect(ipv4Number("::ffff:127.0.0.1")).toBe(0x7f000001);
    expect(ipv4Number("::FFFF:7f00:1")).toBe(0x7f000001);
    expect(ipv4Number("0:0:0:0:0:ffff:149.154.167.99")).toBe(ipv4Number("149.154.167.99"));
    expect(ipv4Number("[::ffff:10.0.0.1]")).toBe(0x0a000001);
    for (const bad of ["::1", "2001:db8::1", "::ffff:1.2.3", "1.2.3.256", "1.2.3", "01.2.3.4.5", "", "localhost", "::ffff:abcde:1"]) {
      expect(ipv4Number(bad)).toBeUndefined();
    }
  });

  test("CIDR ranges, Telegram's included, with their edges", () => {
    const telegram = ["149.154.160.0/20", "91.108.4.0/22"].map(parseCidr);
    expect(inRanges("149.154.160.0", telegram)).toBe(true);
    expect(inRanges("149.154.175.255", telegram)).toBe(true);
    expect(inRanges("149.154.176.0", telegram)).toBe(false);
    expect(inRanges("149.154.159.255", telegram)).toBe(false);
    expect(inRanges("91.108.4.1", telegram)).toBe(true);
    expect(inRanges("91.108.7.255", telegram)).toBe(true);
    expect(inRanges("91.108.8.0", telegram)).toBe(false);
    expect(inRanges("::ffff:91.108.5.5", telegram)).toBe(true);
    expect(inRanges("::1", telegram)).toBe(false);
    expect(inRanges("10.0.0.7", [parseCidr("10.0.0.7")])).toBe(true);
    expect(inRanges("10.0.0.8", [parseCidr("10.0.0.7/32")])).toBe(false);
    expect(inRanges("255.255.255.255", [parseCidr("0.0.0.0/0")])).toBe(true);
    expect(inRanges("200.1.2.3", [parseCidr("128.0.0.0/1")])).toBe(true);
    // A range written with host bits set still means its network.
    expect(inRanges("192.168.1.200", [parseCidr("192.168.1.77/24")])).toBe(true);
    expect(() => parseCidr("10.0.0.0/33")).toThrow();
    expect(() => parseCidr("banana")).toThrow();
  });

  test("X-Forwarded-For is read only with TRUST_PROXY, and then only its right-most entry", () => {
    const request = new Request("http://localhost/", { headers: { "x-forwarded-for": "6.6.6.6, 149.154.167.99" } });
    expect(clientAddress(request, "10.0.0.2", false)).toBe("10.0.0.2");
    expect(clientAddress(request, "10.0.0.2", true)).toBe("149.154.167.99");
    expect(clientAddress(new Request("http://localhost/"), "10.0.0.2", true)).toBe("10.0.0.2");
    expect(trustedSourceCheck([], true)).toBeUndefined();
    const check = trustedSourceCheck(["149.154.160.0/20"], true)!;
    expect(check(request, "10.0.0.2")).toBe(true);
    expect(check(new Request("http://localhost/", { headers: { "x-forwarded-for": "149.154.167.99, not-an-ip" } }), "10.0.0.2")).toBe(false);
    expect(check(new Request("http://localhost/"), undefined)).toBe(false);
  });
});

describe("the webhook with TRUSTED_IPS", () => {
  test("TRUSTED_IPS=on (Telegram's ranges) refuses 127.0.0.1 with 403 and stores nothing", async () => {
    const service = await start({ TRUSTED_IPS: "on" });
    const id = nextId++;
    const response = await postUpdate(service.url, textUpdate(user, "hi", id));
    expect(response.status).toBe(403);
    const body = (await response.json()) as { ok: boolean; error: string };
    expect(body.ok).toBe(false);
    expect(body.error).toContain("TRUSTED_IPS");
    expect(service.inbox.row(id)).toBeUndefined();
    expect(service.metrics.webhookRejected.get({ status: "403" })).toBe(1);
    // Other routes are not restricted.
    expect((await fetch(`${service.url}/healthz`)).status).toBe(200);
  });

  test("TRUSTED_IPS=127.0.0.0/8 lets 127.0.0.1 in; the secret is still required", async () => {
    const service = await start({ TRUSTED_IPS: "127.0.0.0/8" });
    const id = nextId++;
    expect((await postUpdate(service.url, textUpdate(user, "hi", id))).status).toBe(200);
    expect(service.inbox.row(id)).toBeDefined();
    expect((await postUpdate(service.url, textUpdate(user, "hi", nextId++), "wrong")).status).toBe(401);
  });

  test("on a dual-stack socket the IPv4 peer arrives as ::ffff:127.0.0.1 and matches; ::1 does not", async () => {
    const service = await start({ TRUSTED_IPS: "127.0.0.0/8", HOST: "::" });
    expect((await postUpdate(service.url, textUpdate(user, "v4", nextId++))).status).toBe(200);
    const v6 = service.url.replace("127.0.0.1", "[::1]");
    expect((await postUpdate(v6, textUpdate(user, "v6", nextId++))).status).toBe(403);
  });

  test("without TRUST_PROXY a forged X-Forwarded-For from Telegram's range is ignored", async () => {
    const service = await start({ TRUSTED_IPS: "on" });
    const id = nextId++;
    const response = await postUpdate(service.url, textUpdate(user, "forged", id), undefined, { headers: { "x-forwarded-for": TELEGRAM_ADDRESS } });
    expect(response.status).toBe(403);
    expect(service.inbox.row(id)).toBeUndefined();
  });

  test("with TRUST_PROXY the proxy's right-most X-Forwarded-For entry decides", async () => {
    const service = await start({ TRUSTED_IPS: "on", TRUST_PROXY: "on" });
    const post = (xff: string | undefined, id: number) =>
      postUpdate(service.url, textUpdate(user, "via proxy", id), undefined, xff === undefined ? {} : { headers: { "x-forwarded-for": xff } });
    const honoured = nextId++;
    expect((await post(TELEGRAM_ADDRESS, honoured)).status).toBe(200);
    expect(service.inbox.row(honoured)).toBeDefined();
    // The client wrote the left entry itself; the proxy appended the real peer on the right.
    expect((await post(`10.9.8.7, ${TELEGRAM_ADDRESS}`, nextId++)).status).toBe(200);
    const spoofed = nextId++;
    expect((await post(`${TELEGRAM_ADDRESS}, 10.9.8.7`, spoofed)).status).toBe(403);
    expect(service.inbox.row(spoofed)).toBeUndefined();
    // No header: the socket peer (127.0.0.1, the proxy itself) is not in Telegram's ranges.
    expect((await post(undefined, nextId++)).status).toBe(403);
  });
});
