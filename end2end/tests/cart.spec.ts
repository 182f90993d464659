import { test, expect, type Page } from "@playwright/test";
import { hydrated, register, uniqueName } from "./support";

async function addFrom(page: Page, js: boolean, path: string): Promise<void> {
  await page.goto(path);
  await hydrated(page, js);
  await page.getByTestId("add-to-cart").first().click();
  await expect(page).toHaveURL(/\/cart$/);
}

test("add two items from two pages, change a quantity, check out, see it paid, both in the library", async ({
  page,
  javaScriptEnabled,
}) => {
  await register(page, javaScriptEnabled, uniqueName("cart"));
  await addFrom(page, javaScriptEnabled, "/items/4"); // Health Potion (consumable)
  await addFrom(page, javaScriptEnabled, "/items/5"); // Wizard Hat
  const lines = page.getByTestId("cart-lines");
  await expect(lines.locator("tbody tr")).toHaveCount(2);
  await expect(page.getByTestId("cart-count")).toHaveAttribute("data-count", "2");

  await hydrated(page, javaScriptEnabled);
  await page.getByRole("button", { name: "One more Health Potion" }).click();
  await expect(lines.locator("tr", { hasText: "Health Potion" }).getByTestId("line-quantity")).toHaveText("2");
  await expect(page.getByTestId("cart-total")).toHaveText("$299.97"); // 2 × 49.99 + 199.99

  await page.getByTestId("to-checkout").click();
  await expect(page).toHaveURL(/\/checkout$/);
  await hydrated(page, javaScriptEnabled);
  await page.getByTestId("place-order").click();
  await expect(page).toHaveURL(/\/orders\/[0-9a-f-]{36}$/);
  await expect(page.getByTestId("order-lines")).toContainText("Health Potion");
  await expect(page.getByTestId("order-lines")).toContainText("Wizard Hat");
  if (javaScriptEnabled) {
    await expect(page.getByTestId("order")).toHaveAttribute("data-status", "paid", { timeout: 15_000 });
  } else {
    await expect(async () => {
      await page.reload();
      await expect(page.getByTestId("order")).toHaveAttribute("data-status", "paid", { timeout: 500 });
    }).toPass({ timeout: 15_000 });
  }
  await expect(page.getByTestId("cart-count")).toHaveAttribute("data-count", "0");

  await page.goto("/library");
  const library = page.getByTestId("library-grid");
  await expect(library).toContainText("Wizard Hat");
  await expect(library.locator("[data-sku='health-potion']")).toContainText("×2");
});

test("an empty cart says so and offers the catalog", async ({ page, javaScriptEnabled }) => {
  await register(page, javaScriptEnabled, uniqueName("empty"));
  await page.goto("/cart");
  await expect(page.getByTestId("empty-cart")).toContainText("Your cart is empty");
  await page.goto("/checkout");
  await expect(page.getByTestId("empty-cart")).toContainText("Nothing to check out");
});
