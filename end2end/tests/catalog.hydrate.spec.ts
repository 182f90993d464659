import { test, expect } from "@playwright/test";
import { hydrated } from "./support";

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
