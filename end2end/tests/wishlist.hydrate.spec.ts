import { test, expect, request as playwrightRequest } from "@playwright/test";
import { hydrated, register, uniqueName } from "./support";
import { admin, baseURL } from "../playwright.config";

test("an item on the wishlist goes on sale: a toast says so, live", async ({ page }) => {
  const ops = await playwrightRequest.newContext({ baseURL, extraHTTPHeaders: { Origin: baseURL } });
  expect((await ops.post("/api/users/login", { data: admin })).status()).toBe(200);
  const sku = uniqueName("wish").toLowerCase();
  const item = await (await ops.post("/api/items", { data: { sku, name: `Wished Lantern ${sku.slice(-5)}`, price_cents: 2000 } })).json();

  await register(page, true, uniqueName("wisher"));
  await page.goto(`/items/${item.id}`);
  await hydrated(page, true);
  await page.getByTestId("wish").click();
  await expect(page.getByTestId("wish")).toHaveAttribute("aria-pressed", "true");
  await expect(page.getByTestId("live-indicator")).toHaveAttribute("data-state", "live");

  const now = Date.now();
  const sale = { percent_off: 25, starts_at: new Date(now - 1000).toISOString(), ends_at: new Date(now + 3_600_000).toISOString() };
  expect((await ops.patch(`/api/items/${item.id}`, { data: { sale } })).status()).toBe(200);
  await expect(page.getByTestId("toast")).toContainText(`On sale now: ${item.name}, $15.00`, { timeout: 15_000 });
  await ops.dispose();
});
