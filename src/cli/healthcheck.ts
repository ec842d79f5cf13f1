import type { Config } from "../config.ts";
import type { CliOutput } from "./webhook.ts";
import { thrownMessage } from "../observability/log.ts";

/**
 * `timbre healthcheck`: GET /healthz of the server this environment describes (HOST, PORT,
 * TLS_CERT_PATH) and exit 0 on 200, 1 otherwise. It is the container image's HEALTHCHECK:
 * the runtime image has no curl or shell, so the binary checks itself.
 */

export const HEALTHCHECK_USAGE = `usage: timbre healthcheck   GET /healthz on this machine's timbre (HOST, PORT, TLS_CERT_PATH); exit 0 if it answers 200, else 1\n`;

/** Under the image's HEALTHCHECK --timeout=5s, so the reason is printed before the runtime gives up. */
export const HEALTHCHECK_TIMEOUT_MS = 3_000;

/** Where the server listens, seen from the same machine: a wildcard address is reached on loopback. */
export function healthzUrl(config: Pick<Config, "host" | "port" | "tlsCertPath">): string {
  const host = config.host === "0.0.0.0" || config.host === "" ? "127.0.0.1" : config.host === "::" ? "[::1]" : config.host.includes(":") ? `[${config.host}]` : config.host;
  return `${config.tlsCertPath ? "https" : "http"}://${host}:${config.port}/healthz`;
}

/** Returns the exit code; prints /healthz's answer (stdout on success, stderr with the reason otherwise). */
export async function runHealthcheck(config: Config, io: CliOutput, timeoutMs = HEALTHCHECK_TIMEOUT_MS): Promise<number> {
  if (config.port === 0) {
    io.err("timbre healthcheck: PORT=0 picks a random port, so there is no fixed address to check; set PORT\n");
    return 1;
  }
  const url = healthzUrl(config);
  try {
    // The certificate names the public host, not loopback: this check is about liveness, not identity.
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), ...(config.tlsCertPath ? { tls: { rejectUnauthorized: false } } : {}) });
    const body = (await response.text()).trim();
    if (response.status === 200) {
      io.out(`${body}\n`);
      return 0;
    }
    io.err(`timbre healthcheck: ${url} answered ${response.status}: ${body}\n`);
    return 1;
  } catch (error) {
    const reason = error instanceof Error && error.name === "TimeoutError" ? `no answer within ${timeoutMs} ms` : thrownMessage(error);
    io.err(`timbre healthcheck: could not reach ${url}: ${reason}\n`);
    return 1;
  }
}
