/**
 * TRUSTED_IPS: webhooks accepted only from given IPv4 ranges (by default Telegram's,
 * 149.154.160.0/20 and 91.108.4.0/22). The source is the socket's peer address; only with
 * TRUST_PROXY is X-Forwarded-For read, and then only its right-most entry: the address your
 * own proxy appended (the one that connected to it). Entries left of it were written by
 * whoever sent the request and prove nothing.
 */

export interface Ipv4Range {
  /** Network address as an unsigned 32-bit number. */
  network: number;
  mask: number;
}

/** "a.b.c.d" -> unsigned 32-bit number; undefined for anything else. */
function parseDottedQuad(text: string): number | undefined {
  const parts = text.split(".");
  if (parts.length !== 4) return undefined;
  let value = 0;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part)) return undefined;
    const octet = Number(part);
    if (octet > 255) return undefined;
    value = value * 256 + octet;
  }
  return value;
}

/**
 * An IPv4 address, also written as IPv4-mapped IPv6 (`::ffff:1.2.3.4`, `::ffff:102:304`,
 * as a dual-stack socket reports IPv4 peers), as a number; undefined for anything else
 * (other IPv6 addresses are never inside an IPv4 range).
 */
export function ipv4Number(address: string): number | undefined {
  let text = address.trim().toLowerCase();
  if (text.startsWith("[") && text.endsWith("]")) text = text.slice(1, -1);
  if (text.includes(":")) {
    const mapped = /^(?:::|(?:0{1,4}:){5})ffff:(.+)$/.exec(text);
    if (!mapped) return undefined;
    const rest = mapped[1]!;
    const hex = /^([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(rest);
    if (hex) return parseInt(hex[1]!, 16) * 65_536 + parseInt(hex[2]!, 16);
    return parseDottedQuad(rest);
  }
  return parseDottedQuad(text);
}

/** "a.b.c.d/n" (or a bare address, /32) -> range; throws on anything else (config validated it already). */
export function parseCidr(cidr: string): Ipv4Range {
  const [address, bitsText] = cidr.trim().split("/");
  const base = address === undefined ? undefined : parseDottedQuad(address);
  const bits = bitsText === undefined ? 32 : /^\d{1,2}$/.test(bitsText) ? Number(bitsText) : NaN;
  if (base === undefined || !(bits >= 0 && bits <= 32)) throw new Error(`not an IPv4 CIDR range: ${JSON.stringify(cidr)}`);
  // >>> 0 keeps the numbers unsigned; a /0 mask is 0 (everything matches).
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  return { network: (base & mask) >>> 0, mask };
}

export function inRanges(address: string, ranges: readonly Ipv4Range[]): boolean {
  const value = ipv4Number(address);
  if (value === undefined) return false;
  return ranges.some((range) => ((value & range.mask) >>> 0) === range.network);
}

/**
 * The address a request came from: the socket peer, or with `trustProxy` the right-most
 * X-Forwarded-For entry (when there is one). Undefined when it cannot be told.
 */
export function clientAddress(request: Request, peer: string | undefined, trustProxy: boolean): string | undefined {
  if (trustProxy) {
    // Several X-Forwarded-For headers arrive joined with ", "; the last entry is the nearest hop.
    const forwarded = request.headers.get("x-forwarded-for");
    const last = forwarded?.split(",").at(-1)?.trim();
    if (last) return last;
  }
  return peer;
}

/**
 * The check for WebhookState.sourceAllowed, or undefined when TRUSTED_IPS is off (empty list).
 * A source that cannot be determined or parsed is refused.
 */
export function trustedSourceCheck(cidrs: readonly string[], trustProxy: boolean): ((request: Request, peer: string | undefined) => boolean) | undefined {
  if (cidrs.length === 0) return undefined;
  const ranges = cidrs.map(parseCidr);
  return (request, peer) => {
    const address = clientAddress(request, peer, trustProxy);
    return address !== undefined && inRanges(address, ranges);
  };
}
