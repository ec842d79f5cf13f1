/**
 * `timbre healthcheck`, the container image's HEALTHCHECK: exit 0 when the server HOST/PORT
 * describe answers /healthz with 200 (over HTTPS with TLS_CERT_PATH, self-signed), 1 with the
 * reason when it answers otherwise, is not there or does not answer, 2 on wrong usage.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { healthzUrl, runHealthcheck } from "../../src/cli/healthcheck.ts";
import { loadConfig } from "../../src/config.ts";
import { ROOT, startInProcess, tempDir, type Service } from "../helpers.ts";

const dir = tempDir("timbre-healthcheck-");
const servers: { stop(): unknown }[] = [];
afterAll(async () => {
  for (const server of servers) await server.stop();
  dir.cleanup();
});

/** `bun src/main.ts healthcheck ...` with exactly `env`. */
async function healthcheck(env: Record<string, string>, args: string[] = []): Promise<{ code: number; stdout: string; stderr: string }> {
  const proc = Bun.spawn([process.execPath, join(ROOT, "src/main.ts"), "healthcheck", ...args], {
    cwd: dir.path,
    env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/tmp", ...env },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, stdout, stderr };
}

const portOf = (url: string) => new URL(url).port;

describe("against a running timbre", () => {
  let service: Service;
  beforeAll(async () => {
    service = await startInProcess({ DATABASE_PATH: join(dir.path, "plain.db"), HOST: "127.0.0.1", PORT: "0" });
    servers.push(service);
  });

  test("HOST left at its default (0.0.0.0) is reached on loopback: exit 0, /healthz's answer on stdout", async () => {
    const run = await healthcheck({ PORT: portOf(service.url) });
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ status: "ok" });
  });

  test("nothing listening on PORT: exit 1 naming the address", async () => {
    const gone = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
    const port = String(gone.port);
    await gone.stop(true);
    const run = await healthcheck({ PORT: port });
    expect(run.code).toBe(1);
    expect(run.stdout).toBe("");
    expect(run.stderr).toStartWith(`timbre healthcheck: could not reach http://127.0.0.1:${port}/healthz: `);
    expect(run.stderr.trim().split("\n")).toHaveLength(1);
  });
});

test("a /healthz answering 503 (the database does not answer): exit 1 with the status and the body", async () => {
  const unwell = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => Response.json({ status: "unavailable", error: "disk I/O error" }, { status: 503 }) });
  servers.push(unwell);
  const run = await healthcheck({ PORT: String(unwell.port), HOST: "127.0.0.1" });
  expect(run.code).toBe(1);
  expect(run.stderr.trim()).toBe(`timbre healthcheck: http://127.0.0.1:${unwell.port}/healthz answered 503: {"status":"unavailable","error":"disk I/O error"}`);
});

test("a server that never answers: exit 1 once the timeout passes, saying so", async () => {
  const stuck = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Promise<Response>(() => {}) });
  servers.push(stuck);
  const err: string[] = [];
  const code = await runHealthcheck(loadConfig({ PORT: String(stuck.port) }), { out: () => {}, err: (t) => err.push(t) }, 200);
  expect(code).toBe(1);
  expect(err.join("")).toBe(`timbre healthcheck: could not reach http://127.0.0.1:${stuck.port}/healthz: no answer within 200 ms\n`);
});

test("with TLS_CERT_PATH it checks over HTTPS, accepting the self-signed certificate", async () => {
  const cert = join(dir.path, "cert.pem");
  const key = join(dir.path, "key.pem");
  const openssl = Bun.spawnSync(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=bot.example.com"], { stdout: "pipe", stderr: "pipe" });
  expect(openssl.exitCode).toBe(0);
  const env = { DATABASE_PATH: join(dir.path, "tls.db"), HOST: "127.0.0.1", PORT: "0", TLS_CERT_PATH: cert, TLS_KEY_PATH: key };
  const service = await startInProcess(env);
  servers.push(service);
  expect(service.url).toStartWith("https://");
  const run = await healthcheck({ ...env, PORT: portOf(service.url) });
  expect(run.stderr).toBe("");
  expect(run.code).toBe(0);
  // Without the certificate settings the same port is asked over plain HTTP, which a TLS server does not answer.
  const plain = await healthcheck({ PORT: portOf(service.url), HOST: "127.0.0.1" });
  expect(plain.code).toBe(1);
});

test("the address comes from HOST and PORT: wildcards become loopback, IPv6 gets brackets", () => {
  const url = (host: string, tls?: string) => healthzUrl({ host, port: 8080, tlsCertPath: tls });
  expect(url("0.0.0.0")).toBe("http://127.0.0.1:8080/healthz");
  expect(url("::")).toBe("http://[::1]:8080/healthz");
  expect(url("::1")).toBe("http://[::1]:8080/healthz");
  expect(url("10.0.0.5", "/etc/timbre/cert.pem")).toBe("https://10.0.0.5:8080/healthz");
});

describe("usage", () => {
  test("PORT=0 has no fixed address: exit 1 saying to set PORT", async () => {
    const run = await healthcheck({ PORT: "0" });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("PORT=0");
  });

  test("arguments are refused with exit 2; --help answers with exit 0; timbre --help lists it", async () => {
    const wrong = await healthcheck({}, ["--port", "8080"]);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr.trim().split("\n")).toHaveLength(1);
    expect(wrong.stderr).toContain("takes no arguments");
    const help = await healthcheck({}, ["--help"]);
    expect(help.code).toBe(0);
    expect(help.stdout).toStartWith("usage: timbre healthcheck");
    const top = Bun.spawnSync([process.execPath, join(ROOT, "src/main.ts"), "--help"], { stdout: "pipe" });
    expect(top.stdout.toString()).toContain("timbre healthcheck");
  });
});
