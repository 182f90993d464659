// Interoperability with the published Standard Webhooks library (npm `standardwebhooks`):
// it signs a delivery our server accepts, and verifies a delivery our simulator sent.
import { test, expect } from "@playwright/test";
import { spawn } from "node:child_process";
import { createServer, type IncomingHttpHeaders } from "node:http";
import { AddressInfo } from "node:net";
import { Webhook } from "standardwebhooks";
import { webhookSecret } from "../playwright.config";
import { apiRegister, uniqueName, PASSWORD } from "./support";

test("a delivery signed by the standardwebhooks library is accepted", async ({ request, baseURL }) => {
  const username = uniqueName("interop");
  await apiRegister(request, username);
  const login = await request.post("/api/users/login", { data: { username, password: PASSWORD } });
  expect(login.status()).toBe(200);
  const order = await request.post("/api/purchases", {
    headers: { origin: baseURL! },
    data: { item_id: 4 },
  });
  expect(order.status()).toBe(202);
  const { order_id, user_id, amount_cents, currency } = await order.json();

  const payload = JSON.stringify({
    type: "payment.succeeded",
    timestamp: new Date().toISOString(),
    data: { order_id, transaction_id: "tx_interop", amount_cents, currency, user_id },
  });
  const id = `msg_interop_${Date.now()}`;
  const now = new Date();
  const signature = new Webhook(webhookSecret).sign(id, now, payload);
  const response = await request.post("/api/webhooks/payment", {
    headers: {
      "content-type": "application/json",
      "webhook-id": id,
      "webhook-timestamp": Math.floor(now.getTime() / 1000).toString(),
      "webhook-signature": signature,
    },
    data: payload,
  });
  expect(response.status()).toBe(204);

  const tampered = await request.post("/api/webhooks/payment", {
    headers: {
      "content-type": "application/json",
      "webhook-id": id,
      "webhook-timestamp": Math.floor(now.getTime() / 1000).toString(),
      "webhook-signature": signature,
    },
    data: payload.replace("tx_interop", "tx_tampered"),
  });
  expect(tampered.status()).toBe(401);
});

test("the standardwebhooks library verifies what our simulator sends", async () => {
  const targetDir = process.env.CARGO_TARGET_DIR ?? "../target";
  const simBin = process.env.GAMESTORE_PAYSIM_BIN ?? `${targetDir}/release/paysim`;

  const received = new Promise<{ headers: IncomingHttpHeaders; body: string }>((resolve) => {
    const server = createServer((req, res) => {
      let body = "";
      req.on("data", (chunk) => (body += chunk));
      req.on("end", () => {
        res.statusCode = 204;
        res.end();
        server.close();
        resolve({ headers: req.headers, body });
      });
    });
    server.listen(0, "127.0.0.1", () => {
      callbackPort = (server.address() as AddressInfo).port;
      ready();
    });
  });
  let callbackPort = 0;
  let ready: () => void = () => {};
  await new Promise<void>((r) => (ready = r));

  const simPort = 20000 + Math.floor(Math.random() * 20000);
  const sim = spawn(simBin, [], {
    env: { ...process.env, SIM_ADDR: `127.0.0.1:${simPort}`, WEBHOOK_SECRETS: webhookSecret, SIM_DELAY_MS: "10" },
    stdio: "inherit",
  });
  try {
    await expect(async () => {
      const health = await fetch(`http://127.0.0.1:${simPort}/healthz`);
      expect(health.status).toBe(200);
    }).toPass({ timeout: 10_000 });
    const intent = await fetch(`http://127.0.0.1:${simPort}/payment-intents`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({
        order_id: "7f1c1f4e-8d2a-4b8e-9a53-0c5b1c9d2e11",
        user_id: "2a9d0f0e-3c4b-4f6a-8e1d-5b7c9a0d1e2f",
        amount_cents: 999,
        currency: "USD",
        items: [{ item_id: 1, sku: "dragon-sword", name: "Dragon Sword", amount_cents: 999 }],
        callback_url: `http://127.0.0.1:${callbackPort}/api/webhooks/payment`,
      }),
    });
    expect(intent.status).toBe(202);

    const delivery = await received;
    const headers = {
      "webhook-id": String(delivery.headers["webhook-id"]),
      "webhook-timestamp": String(delivery.headers["webhook-timestamp"]),
      "webhook-signature": String(delivery.headers["webhook-signature"]),
    };
    const event = new Webhook(webhookSecret).verify(delivery.body, headers) as { type: string; data: { amount_cents: number } };
    expect(event.type).toBe("payment.succeeded");
    expect(event.data.amount_cents).toBe(999);
    expect(() => new Webhook(webhookSecret).verify(delivery.body + " ", headers)).toThrow();
  } finally {
    sim.kill();
  }
});
