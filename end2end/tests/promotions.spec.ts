import { test, expect, request as playwrightRequest, type APIRequestContext } from "@playwright/test";
import { hydrated, register, uniqueName } from "./support";
import { admin, baseURL } from "../playwright.config";

async function operator(): Promise<APIRequestContext> {
  const context = await playwrightRequest.newContext({ baseURL, extraHTTPHeaders: { Origin: baseURL } });
  expect((await context.post("/api/users/login", { data: admin })).status()).toBe(200);
  return context;
}

test("a promo code applied in the cart lowers the total", async ({ page, javaScriptEnabled }) => {
  const ops = await operator();
  const code = uniqueName("SAVE").replace(/[^A-Za-z0-9]/g, "").slice(0, 20).toUpperCase();
  expect((await ops.post("/api/admin/promo-codes", { data: { code, percent_off: 10 } })).status()).toBe(201);
  await ops.dispose();

  await register(page, javaScriptEnabled, uniqueName("promo"));
  await page.goto("/items/4"); // Health Potion, $49.99
  await hydrated(page, javaScriptEnabled);
  await page.getByTestId("add-to-cart").first().click();
  await expect(page).toHaveURL(/\/cart$/);
  await expect(page.getByTestId("cart-total")).toHaveText("$49.99");
  await hydrated(page, javaScriptEnabled);
  await page.getByLabel("Promo code").fill(code.toLowerCase());
  await page.getByTestId("apply-promo").click();
  await expect(page.getByTestId("promo-applied")).toContainText(code);
  await expect(page.getByTestId("cart-total")).toHaveText("$44.99"); // 4999 − 500 (half-even)
});

test("a bundle costs less once you own one of its items", async ({ page, javaScriptEnabled }) => {
  const ops = await operator();
  const parts = [];
  for (const id of [6, 7]) {
    parts.push(await (await ops.get(`/api/items/${id}`)).json());
  }
  const sku = uniqueName("bundle").toLowerCase();
  const created = await ops.post("/api/items", {
    data: { sku, name: `Starter Pair ${sku.slice(-5)}`, price_cents: 1, bundle_item_ids: [6, 7], bundle_discount_percent: 50 },
  });
  expect(created.status()).toBe(201);
  const bundle = await created.json();
  await ops.dispose();

  await register(page, javaScriptEnabled, uniqueName("set"));
  // Own the first item already.
  const bought = await page.request.post("/api/purchases", { data: { item_id: 6 }, headers: { Origin: baseURL } });
  expect(bought.status()).toBe(202);
  const firstOrder = (await bought.json()).order_id as string;
  await expect(async () => {
    const order = await (await page.request.get(`/api/purchases/${firstOrder}`)).json();
    expect(order.status).toBe("paid");
  }).toPass({ timeout: 15_000 });

  const forYou = Math.round(parts[1].price_cents / 2);
  const money = (cents: number) => `$${(cents / 100).toFixed(2)}`;
  await page.goto(`/items/${bundle.id}`);
  await hydrated(page, javaScriptEnabled);
  await expect(page.getByTestId("price-for-you")).toContainText(money(forYou));
  await page.getByTestId("buy-button").click();
  await page.getByTestId("confirm-buy").click();
  await expect(page).toHaveURL(/\/orders\/[0-9a-f-]{36}$/);
  await expect(page.getByTestId("order")).toContainText(money(forYou));
});
