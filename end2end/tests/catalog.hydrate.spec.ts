import { test, expect } from "@playwright/test";
import { hydrated, register, uniqueName } from "./support";

test("changing the sort re-sorts at once after hydration", async ({ page }) => {
  await page.goto("/");
  await hydrated(page, true);
  await page.getByLabel("Sort by").selectOption("-price");
  await expect(page).toHaveURL(/sort=-price/);
  await expect(page.getByTestId("item-card").first()).toHaveAttribute("data-sku", "dragon-sword");
  await page.getByLabel("Max price").selectOption("1000");
  await expect(page).toHaveURL(/max_price=1000/);
  await expect(page.getByTestId("item-card").first()).toHaveAttribute("data-sku", "gold-pouch");
});

test("a customer's catalog page, served from the customers' shared copy, is theirs and hydrates", async ({ page }) => {
  const name = uniqueName("shared");
  await register(page, true, name);
  await page.goto("/items/4"); // Health Potion
  await hydrated(page, true);
  await page.getByTestId("add-to-cart").first().click();
  await expect(page).toHaveURL(/\/cart$/);
  // Full page loads: the first may make the copy, the second is served from it.
  for (let load = 0; load < 2; load++) {
    const response = await page.goto("/?sort=-price");
    expect(response?.headers()["x-page-cache"]).toBe("shared");
    await hydrated(page, true);
    await expect(page.getByTestId("current-user")).toContainText(name);
    await expect(page.getByTestId("cart-count")).toHaveAttribute("data-count", "1");
  }
  // Hydrated: changing the sort submits the filters at once, still as this customer.
  await page.getByLabel("Sort by").selectOption("name");
  await expect(page).toHaveURL(/sort=name/);
  await expect(page.getByTestId("item-card").first()).toBeVisible();
  await expect(page.getByTestId("current-user")).toContainText(name);
});

test("an anonymous visitor's page never fetches the bundle, a customer's hydrates at once", async ({ page }) => {
  const bundles: string[] = [];
  page.on("request", (request) => {
    if (request.url().endsWith(".wasm")) {
      bundles.push(request.url());
    }
  });
  await page.goto("/items/4");
  // Loaded and idle, untouched: nothing downloaded, nothing hydrated, and the page works.
  await page.waitForTimeout(2_000);
  expect(bundles).toEqual([]);
  await expect(page.locator("body[data-hydrated]")).toHaveCount(0);
  await expect(page.getByTestId("item-detail")).toBeVisible();
  // A pointer moving over the page is intent; an anonymous visitor's page has no island, so
  // it is marked hydrated without fetching the bundle at all.
  await page.mouse.move(40, 40);
  await page.mouse.move(80, 90);
  await expect(page.locator("body[data-hydrated='true']")).toBeAttached({ timeout: 20_000 });
  await expect(page.locator("leptos-island")).toHaveCount(0);
  expect(bundles).toEqual([]);

  // Logged in, a page has live updates to receive: it hydrates with nobody touching it.
  await register(page, true, uniqueName("eager"));
  await page.goto("/items/4");
  await expect(page.locator("body[data-hydrated='true']")).toBeAttached({ timeout: 20_000 });
  await expect(page.getByTestId("live-indicator")).toHaveAttribute("data-state", "live");
  expect(bundles.length).toBeGreaterThanOrEqual(1);
});
