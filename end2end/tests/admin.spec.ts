import { test, expect } from "@playwright/test";
import { hydrated, login, uniqueName } from "./support";
import { admin } from "../playwright.config";

test("an operator creates an item and it appears in the catalog", async ({ page, javaScriptEnabled }) => {
  await login(page, javaScriptEnabled, admin.username, admin.password);
  await page.getByRole("link", { name: "Admin", exact: true }).click();
  await expect(page.getByRole("heading", { name: "Dashboard" })).toBeVisible();
  await hydrated(page, javaScriptEnabled);
  await page.getByRole("navigation", { name: "Admin" }).getByRole("link", { name: "Items", exact: true }).click();
  await expect(page.getByTestId("admin-items")).toContainText("dragon-sword");
  await page.goto("/admin/items/new");
  await hydrated(page, javaScriptEnabled);

  const sku = uniqueName("sku").toLowerCase();
  const name = `Comet Spear ${sku.slice(-6)}`;
  const fill = async (price: string) => {
    await page.getByLabel("SKU").fill(sku);
    await page.getByLabel("Name").fill(name);
    await page.getByLabel("Description").fill("Falls from the sky, point first.");
    await page.getByLabel("Price").fill(price);
    await page.getByLabel("Tags").fill("weapon, sky");
    await page.getByRole("button", { name: "Save item" }).click();
  };
  await fill("abc");
  await expect(page.locator("#price-error")).toHaveText(/price must be a number/);
  // Without JavaScript the form comes back empty after an error; filling it again works both ways.
  await fill("12.34");
  await expect(page).toHaveURL(/\/admin\/items$/);
  await expect(page.getByTestId("admin-items")).toContainText(sku);

  await page.goto(`/?q=${encodeURIComponent(name)}`);
  await expect(page.getByTestId("item-card")).toHaveCount(1);
  await expect(page.getByTestId("item-card")).toContainText("$12.34");
});

test("anonymous visitors are sent to log in from the admin pages", async ({ page, javaScriptEnabled }) => {
  const response = await page.goto("/admin/items");
  expect(response?.status()).toBeLessThan(500);
  await expect(page).toHaveURL(/\/login/);
  void javaScriptEnabled;
});
