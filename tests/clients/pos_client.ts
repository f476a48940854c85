/**
 * A small typed POS client written against the types openapi-typescript generates from
 * openapi.json (`inventory-api.d.ts`, generated next to this file by devtools/openapi_clients.py;
 * never committed). tests/contract/test_generated_clients.py type-checks it with
 * `tsc --strict --noEmit`, then compiles it and runs `demo` against the local API.
 *
 * What a till does: poll availability with If-None-Match (a 304 keeps what it has), block the
 * packages that are sold out, and validate the whole cart before selling it.
 */
import type { components, operations } from "./inventory-api";

type Schemas = components["schemas"];
export type AvailabilityItem = Schemas["AvailabilityItem"];
export type CartLine = Schemas["CartRequest"]["items"][number];
export type CartValidation = Schemas["CartValidation"];
export type CheckData = Schemas["NotificationCheckEnvelope"]["data"];

type ListOperation = operations["listPackageAvailability"];
type ListHeaders = NonNullable<ListOperation["parameters"]["header"]>;
type ListBody = ListOperation["responses"][200]["content"]["application/json"];
type CartOperation = operations["validateCart"];
type CartBody = CartOperation["requestBody"]["content"]["application/json"];
type CartAnswer = CartOperation["responses"][200]["content"]["application/json"];
type ErrorBody = Schemas["ErrorEnvelope"];
type ThrottledBody = Schemas["GatewayThrottled"];

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly retryAfterSeconds: number | null,
  ) {
    super(`${status} ${code}: ${message}`);
  }
}

async function apiError(response: Response): Promise<ApiError> {
  const retryAfter = response.headers.get("Retry-After");
  const seconds = retryAfter === null ? null : Number(retryAfter);
  if (response.status === 429) {
    const body = (await response.json()) as ThrottledBody;
    return new ApiError(429, "throttled", body.message, seconds);
  }
  const body = (await response.json()) as ErrorBody;
  return new ApiError(response.status, body.error.code, body.error.message, seconds);
}

/** Why a package cannot be sold now, or null when it can. */
export function blockReason(item: AvailabilityItem): string | null {
  switch (item.status) {
    case "unavailable":
      return item.bottleneck === null
        ? "sold out"
        : `sold out: ${item.bottleneck.product_name} has ${item.bottleneck.usable_stock} left`;
    case "inactive":
      return "switched off";
    case "no_components":
      return "no recipe";
    case "low_stock":
    case "available":
      return null;
  }
}

/** The till's copy of every package's availability, refreshed with conditional GETs. */
export class AvailabilityBoard {
  private etag: string | null = null;
  private readonly items = new Map<string, AvailabilityItem>();

  constructor(
    private readonly baseUrl: string,
    private readonly token: string,
  ) {}

  /** One poll: "changed" after a 200, "unchanged" after a 304 (nothing downloaded). */
  async poll(): Promise<"changed" | "unchanged"> {
    const headers: ListHeaders = this.etag === null ? {} : { "if-none-match": this.etag };
    const response = await fetch(`${this.baseUrl}/api/packages/availability`, {
      headers: { ...withoutNulls(headers), Authorization: `Bearer ${this.token}` },
    });
    if (response.status === 304) {
      return "unchanged";
    }
    if (response.status !== 200) {
      throw await apiError(response);
    }
    const body = (await response.json()) as ListBody;
    this.etag = response.headers.get("ETag");
    this.items.clear();
    for (const item of body.data) {
      this.items.set(item.package_id, item);
    }
    return "changed";
  }

  get size(): number {
    return this.items.size;
  }

  /** The packages the till greys out, with the reason shown on the button. */
  blocked(): Map<string, string> {
    const blocked = new Map<string, string>();
    for (const item of this.items.values()) {
      const reason = blockReason(item);
      if (reason !== null) {
        blocked.set(item.package_id, reason);
      }
    }
    return blocked;
  }

  sellable(): AvailabilityItem[] {
    return [...this.items.values()].filter((item) => blockReason(item) === null);
  }
}

function withoutNulls(headers: Record<string, string | null | undefined>): Record<string, string> {
  const sent: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (typeof value === "string") {
      sent[name] = value;
    }
  }
  return sent;
}

/**
 * The terminal's access token: the OAuth 2.0 client-credentials grant at the token endpoint
 * (the stack's TokenEndpoint output in AWS; the local issuer's /oauth2/token under make run).
 */
export async function fetchToken(
  tokenUrl: string,
  clientId: string,
  clientSecret: string,
): Promise<string> {
  const response = await fetch(tokenUrl, {
    method: "POST",
    headers: {
      "Content-Type": "application/x-www-form-urlencoded",
      Authorization: `Basic ${btoa(`${clientId}:${clientSecret}`)}`,
    },
    body: new URLSearchParams({
      grant_type: "client_credentials",
      scope: "inventory/availability.read",
    }).toString(),
  });
  if (response.status !== 200) {
    throw new Error(`the token endpoint answered ${response.status}`);
  }
  const answer = (await response.json()) as { access_token: string; token_type: string };
  return answer.access_token;
}

/** Whether the whole cart can be sold at once (shared components summed). */
export async function validateCart(
  baseUrl: string,
  token: string,
  items: CartLine[],
): Promise<CartValidation> {
  const body: CartBody = { items };
  const response = await fetch(`${baseUrl}/api/pos/cart/validate`, {
    method: "POST",
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${token}` },
    body: JSON.stringify(body),
  });
  if (response.status !== 200) {
    throw await apiError(response);
  }
  const answer = (await response.json()) as CartAnswer;
  return answer.data;
}

/** A manual check's answer in one line: `type` tells the three shapes apart. */
export function describeCheck(data: CheckData): string {
  switch (data.type) {
    case "package_check":
      return data.result.triggered ? "notified" : (data.result.reason ?? "nothing to send");
    case "bottleneck_check":
      return `${data.results.filter((result) => result.triggered).length} bottleneck alert(s)`;
    case "full_check":
      return `${data.summary.notifications_sent} sent at ${data.timestamp}`;
  }
}

/** What the test runs against the local API (demo bar): returns what it saw, line by line. */
export async function demo(
  baseUrl: string,
  clientId: string,
  clientSecret: string,
): Promise<string[]> {
  const seen: string[] = [];
  const token = await fetchToken(`${baseUrl}/oauth2/token`, clientId, clientSecret);
  const board = new AvailabilityBoard(baseUrl, token);
  seen.push(`first poll: ${await board.poll()} (${board.size} packages)`);
  const again = await board.poll();
  if (again !== "unchanged") {
    throw new Error(`If-None-Match did not get a 304: ${again}`);
  }
  seen.push(`second poll: ${again}`);

  const blocked = board.blocked();
  const [soldOutId, reason] = [...blocked.entries()][0] ?? [];
  if (soldOutId === undefined || reason === undefined) {
    throw new Error("the demo bar has no sold-out package to block");
  }
  seen.push(`blocked ${soldOutId}: ${reason}`);

  const refused = await validateCart(baseUrl, token, [{ package_id: soldOutId, quantity: 1 }]);
  if (refused.valid || refused.shortages.length === 0) {
    throw new Error("a cart with a sold-out package was accepted");
  }
  seen.push(`sold-out cart refused, short of ${refused.shortages[0]?.product_name ?? "?"}`);

  const [first] = board.sellable();
  if (first === undefined) {
    throw new Error("the demo bar has nothing to sell");
  }
  const cart = await validateCart(baseUrl, token, [{ package_id: first.package_id, quantity: 1 }]);
  if (!cart.valid) {
    throw new Error(`a sellable package was refused: ${JSON.stringify(cart.shortages)}`);
  }
  seen.push(`cart of one ${first.package_name} is valid`);
  return seen;
}
