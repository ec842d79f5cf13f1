/**
 * Converts money with a public exchange-rate API (Frankfurter, the European Central Bank's
 * reference rates; no key needed): "100 EUR to USD". The HTTP call is a step: its result is
 * journaled, so a restart while the run waits never calls the API again or answers from a
 * different rate, and a failing call is retried with backoff before the user is told.
 *
 *   timbre types > timbre.d.ts
 *   timbre ./exchange-rate.ts
 */
import { StepFailedError, type Agent } from "timbre";

export interface ExchangeRateOptions {
  /** The API root: `${apiUrl}/latest?base=EUR&symbols=USD` answers {"date": ..., "rates": {"USD": 1.08}}. */
  apiUrl: string;
}

interface Conversion {
  amount: number;
  from: string;
  to: string;
}

/** "100 EUR to USD", "12.5 usd eur". */
function parseConversion(text: string): Conversion | undefined {
  const match = /^\s*(\d+(?:[.,]\d+)?)\s*([a-z]{3})\s+(?:to\s+|in\s+)?([a-z]{3})\s*$/i.exec(text);
  if (!match) return undefined;
  return { amount: Number(match[1]!.replace(",", ".")), from: match[2]!.toUpperCase(), to: match[3]!.toUpperCase() };
}

export function exchangeRate({ apiUrl }: ExchangeRateOptions): Agent {
  return async (ctx) => {
    if (ctx.text === undefined) return;
    let conversion = parseConversion(ctx.text);
    while (conversion === undefined) conversion = parseConversion(await ctx.ask("How much, from which currency to which? For example: 100 EUR to USD"));
    const { amount, from, to } = conversion;
    try {
      const quote = await ctx.step(
        "exchange rate",
        async () => {
          const response = await fetch(`${apiUrl}/latest?base=${from}&symbols=${to}`, { signal: ctx.signal });
          if (!response.ok) throw new Error(`the rate service answered ${response.status}`);
          const body = (await response.json()) as { date: string; rates: Record<string, number> };
          const rate = body.rates[to];
          if (rate === undefined) throw new Error(`no rate from ${from} to ${to}`);
          return { rate, date: body.date };
        },
        { retries: 2, backoffSeconds: 1 },
      );
      await ctx.reply(`${amount} ${from} = ${(amount * quote.rate).toFixed(2)} ${to} (rate of ${quote.date})`);
    } catch (error) {
      if (!(error instanceof StepFailedError)) throw error;
      await ctx.reply(`Sorry, I could not get the ${from} to ${to} rate: ${error.message}`);
    }
  };
}

export default exchangeRate({ apiUrl: "https://api.frankfurter.dev/v1" });
