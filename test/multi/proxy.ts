/**
 * A round-robin HTTP reverse proxy for tests with several instances: the load balancer in front
 * of them. Each request goes to the next backend in turn with its method, path, query, headers
 * and body, and gets the backend's status, headers and body back. A backend that refuses the
 * connection (a killed instance, or a slot with no instance) is skipped and the next one tried,
 * as a load balancer marks an upstream down; a backend that fails after taking the request (a
 * reset mid-answer) is not retried, since it may have acted on it: the client gets a 502, as
 * nginx answers by default for a POST.
 */

/** One request a backend answered, for tests that check where requests went. */
export interface ProxiedRequest {
  /** The backend's index. */
  backend: number;
  method: string;
  /** Path and query. */
  path: string;
  status: number;
  /** The request's body as the client sent it. */
  body: Uint8Array;
}

export interface ProxyOptions {
  /** Called for every request a backend answered (not for refused connections or 502s of the proxy's own). */
  onAnswer?: (request: ProxiedRequest) => void;
}

/** Headers that belong to one connection, not to the request (RFC 9110 §7.6.1), and those fetch sets itself. */
const HOP_BY_HOP = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "te", "trailer", "upgrade", "host", "content-length"]);

function forwardedHeaders(headers: Headers): Headers {
  const out = new Headers();
  headers.forEach((value, name) => {
    if (!HOP_BY_HOP.has(name)) out.append(name, value);
  });
  return out;
}

function refused(error: unknown): boolean {
  return typeof error === "object" && error !== null && (error as { code?: unknown }).code === "ECONNREFUSED";
}

function proxyError(status: number, error: string): Response {
  return Response.json({ ok: false, error }, { status });
}

export class RoundRobinProxy {
  /** The proxy's base URL (http://127.0.0.1:PORT). */
  readonly url: string;
  /** Requests each backend answered, by index (any status). */
  readonly answered: number[];
  /** Connections each backend refused, by index. */
  readonly refused: number[];
  private readonly backends: (string | undefined)[];
  private next = 0;
  private readonly server: ReturnType<typeof Bun.serve>;

  constructor(
    backends: readonly (string | undefined)[],
    private readonly options: ProxyOptions = {},
  ) {
    if (backends.length === 0) throw new Error("a proxy needs at least one backend slot");
    this.backends = [...backends];
    this.answered = backends.map(() => 0);
    this.refused = backends.map(() => 0);
    this.server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: (request) => this.forward(request) });
    this.url = `http://127.0.0.1:${this.server.port}`;
  }

  /** Points slot `index` at a new URL (a restarted instance), or at nothing (`undefined`: skipped). */
  setBackend(index: number, url: string | undefined): void {
    if (index < 0 || index >= this.backends.length) throw new RangeError(`no backend slot ${index} (the proxy has ${this.backends.length})`);
    this.backends[index] = url;
  }

  backend(index: number): string | undefined {
    return this.backends[index];
  }

  stop(): void {
    this.server.stop(true);
  }

  private async forward(request: Request): Promise<Response> {
    const incoming = new URL(request.url);
    const path = `${incoming.pathname}${incoming.search}`;
    const hasBody = request.method !== "GET" && request.method !== "HEAD";
    const body = hasBody ? new Uint8Array(await request.arrayBuffer()) : new Uint8Array();
    const headers = forwardedHeaders(request.headers);
    const first = this.next;
    this.next = (this.next + 1) % this.backends.length;
    for (let step = 0; step < this.backends.length; step++) {
      const index = (first + step) % this.backends.length;
      const base = this.backends[index];
      if (base === undefined) continue;
      let answer: Response;
      let answerBody: ArrayBuffer;
      try {
        // decompress: false passes an encoded body through as it came, with its content-encoding.
        answer = await fetch(`${base}${path}`, { method: request.method, headers, redirect: "manual", decompress: false, ...(hasBody ? { body } : {}) });
        answerBody = await answer.arrayBuffer();
      } catch (error) {
        if (refused(error)) {
          this.refused[index]!++;
          continue;
        }
        return proxyError(502, `backend ${index} (${base}) failed after taking the request: ${error instanceof Error ? error.message : String(error)}`);
      }
      this.answered[index]!++;
      this.options.onAnswer?.({ backend: index, method: request.method, path, status: answer.status, body });
      const responseHeaders = forwardedHeaders(answer.headers);
      return new Response(answerBody, { status: answer.status, statusText: answer.statusText, headers: responseHeaders });
    }
    return proxyError(502, `no backend accepted the connection (${this.backends.length} slots)`);
  }
}
