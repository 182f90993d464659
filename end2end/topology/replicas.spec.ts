import { test, expect, type Page } from "@playwright/test";
import { readFileSync } from "node:fs";

// Runs against the native topology (scripts/topology up): nginx on TOPOLOGY_URL balancing two
// store replicas that share PostgreSQL and Redis, and paysim posting its webhooks through nginx.
// `?replica=N` pins a request to replica N (deploy/nginx/gamestore.conf.template).

const accessLog = process.env.TOPOLOGY_ACCESS_LOG;
const replicaAddr: Record<string, string | undefined> = {
  "1": process.env.TOPOLOGY_STORE1_ADDR,
  "2": process.env.TOPOLOGY_STORE2_ADDR,
};
const PASSWORD = "correct horse battery staple";

type LiveMessage = { type: string; order_id: string; user_id: string; items: { id: number; name: string }[] };

/** One parsed line of the balancer's access log (log_format gamestore). */
type Access = { method: string; uri: string; status: number; upstream: string };

function readAccessLog(): Access[] {
  if (!accessLog) return [];
  return readFileSync(accessLog, "utf8")
    .split("\n")
    .map((line) => /"(\S+) (\S+) [^"]*" (\d{3}) .* upstream=(\S+)/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => ({ method: m[1], uri: m[2], status: Number(m[3]), upstream: m[4] }));
}

function replicaOf(upstream: string): string {
  const hit = Object.entries(replicaAddr).find(([, addr]) => addr === upstream);
  return hit ? `replica ${hit[0]} (${upstream})` : upstream;
}

/** Same-origin JSON request from inside the page: the browser adds Origin and the cookie. */
async function call(page: Page, method: string, path: string, body?: unknown) {
  return page.evaluate(
    async ({ method, path, body }) => {
      const response = await fetch(path, {
        method,
        headers: body === undefined ? {} : { "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await response.text();
      let json: unknown = null;
      try {
        json = JSON.parse(text);
      } catch {
        json = text;
      }
      return { status: response.status, json: json as any };
    },
    { method, path, body },
  );
}

test("a purchase confirmed on one replica reaches the buyer's sockets on both replicas", async ({ page }) => {
  expect(accessLog && replicaAddr["1"] && replicaAddr["2"], "TOPOLOGY_* variables (set by scripts/test-topology)").toBeTruthy();

  // Both replicas answer through the balancer, ready, on the shared database and Redis.
  for (const replica of ["1", "2"]) {
    const ready = await page.request.get(`/readyz?replica=${replica}`);
    expect(ready.status(), `replica ${replica} /readyz`).toBe(200);
    expect(await ready.json(), `replica ${replica} /readyz`).toMatchObject({
      status: "ok",
      database: "ok",
      cache: "ok",
      cache_backend: "redis",
    });
  }

  // A shopper registers and logs in through the balancer (a page on the balancer's origin, so
  // the session cookie and the Origin header are the ones a real browser sends).
  const home = await page.goto("/");
  expect(home?.status()).toBe(200);
  const username = `topo-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
  const registered = await call(page, "POST", "/api/users", { username, password: PASSWORD });
  expect(registered.status, JSON.stringify(registered.json)).toBe(201);
  const login = await call(page, "POST", "/api/users/login", { username, password: PASSWORD });
  expect(login.status, JSON.stringify(login.json)).toBe(200);
  const userId: string = login.json.user_id;
  expect(userId).toMatch(/^[0-9a-f-]{36}$/);

  // One socket pinned to each replica, through the balancer.
  await page.evaluate(async () => {
    const w = window as any;
    w.__topology = { messages: { "1": [], "2": [] }, sockets: {}, closed: { "1": false, "2": false } };
    const open = (replica: string) =>
      new Promise<void>((resolve, reject) => {
        const url = `${location.origin.replace(/^http/, "ws")}/ws?replica=${replica}`;
        const socket = new WebSocket(url);
        w.__topology.sockets[replica] = socket;
        socket.onmessage = (event: MessageEvent) => w.__topology.messages[replica].push(JSON.parse(event.data));
        socket.onopen = () => resolve();
        socket.onerror = () => reject(new Error(`the socket to replica ${replica} failed to open`));
        socket.onclose = () => {
          w.__topology.closed[replica] = true;
        };
      });
    await Promise.all([open("1"), open("2")]);
  });

  // Buy through the balancer; paysim confirms it with a webhook, also through the balancer.
  const catalog = await call(page, "GET", "/api/items?per_page=5");
  expect(catalog.status).toBe(200);
  const item = catalog.json[0];
  expect(item?.id, "the seeded catalog has items").toBeTruthy();
  const purchase = await call(page, "POST", "/api/purchases", { item_id: item.id });
  expect(purchase.status, JSON.stringify(purchase.json)).toBe(202);
  const orderId: string = purchase.json.order_id;
  expect(purchase.json.status).toBe("pending");

  // BOTH sockets receive the confirmation, whichever replica processed the webhook.
  const confirmationsPerSocket = () =>
    page.evaluate((orderId) => {
      const messages = (window as any).__topology.messages;
      const count = (r: string) =>
        messages[r].filter((m: LiveMessage) => m.type === "purchase_success" && m.order_id === orderId).length;
      return { "replica 1": count("1"), "replica 2": count("2") };
    }, orderId);
  await expect
    .poll(confirmationsPerSocket, {
      message: `purchase_success for order ${orderId} on the socket held by each replica`,
      timeout: 30_000,
      intervals: [100],
    })
    .toEqual({ "replica 1": 1, "replica 2": 1 });
  // Settle, then check again: exactly one confirmation per socket, for this buyer and item.
  await page.waitForTimeout(1_000);
  expect(await confirmationsPerSocket()).toEqual({ "replica 1": 1, "replica 2": 1 });
  const received: Record<string, LiveMessage[]> = await page.evaluate(() => (window as any).__topology.messages);
  for (const replica of ["1", "2"]) {
    const confirmations = received[replica].filter((m) => m.type === "purchase_success" && m.order_id === orderId);
    expect(confirmations, `socket on replica ${replica}`).toHaveLength(1);
    expect(confirmations[0].user_id).toBe(userId);
    expect(confirmations[0].items.map((i) => i.id)).toContain(item.id);
  }
  const order = await call(page, "GET", `/api/purchases/${orderId}`);
  expect(order.status).toBe(200);
  expect(order.json.status).toBe("paid");

  // Close the sockets (nginx logs a websocket when it ends), then check from the balancer's
  // access log that each socket really was on its own replica, and report which replica
  // processed the webhook.
  await page.evaluate(() => {
    const w = window as any;
    for (const socket of Object.values(w.__topology.sockets) as WebSocket[]) socket.close(1000, "done");
  });
  await page.waitForFunction(() => {
    const closed = (window as any).__topology.closed;
    return closed["1"] && closed["2"];
  });

  let entries: Access[] = [];
  await expect(async () => {
    entries = readAccessLog();
    for (const replica of ["1", "2"]) {
      expect(entries.some((e) => e.uri === `/ws?replica=${replica}` && e.status === 101)).toBe(true);
    }
  }).toPass({ timeout: 10_000 });

  for (const replica of ["1", "2"]) {
    const sockets = entries.filter((e) => e.uri === `/ws?replica=${replica}` && e.status === 101);
    for (const socket of sockets) {
      expect(socket.upstream, `the /ws?replica=${replica} socket's upstream`).toBe(replicaAddr[replica]);
    }
  }
  const webhooks = entries.filter((e) => e.method === "POST" && e.uri === "/api/webhooks/payment");
  expect(webhooks.length, "paysim's webhook went through the balancer").toBeGreaterThan(0);
  expect(webhooks.some((e) => e.status >= 200 && e.status < 300), "a webhook delivery was accepted").toBe(true);
  // Requests without ?replica= are balanced over both replicas.
  const known = new Set(Object.values(replicaAddr));
  const balanced = new Set(
    entries.filter((e) => !e.uri.includes("replica=") && known.has(e.upstream)).map((e) => e.upstream),
  );
  expect([...balanced].sort(), "round robin used both replicas").toEqual(
    [replicaAddr["1"], replicaAddr["2"]].sort(),
  );

  const processedBy = webhooks.map((e) => `${replicaOf(e.upstream)} -> ${e.status}`).join(", ");
  console.log(`order ${orderId}: webhook processed by ${processedBy}; confirmed on sockets held by replica 1 and replica 2`);
});
