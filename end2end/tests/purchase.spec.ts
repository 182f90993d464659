import { test, expect } from "@playwright/test";
import { hydrated, register, uniqueName } from "./support";

test("log in, buy, the order is paid and the item is in the library", async ({ page, javaScriptEnabled }) => {
  await register(page, javaScriptEnabled, uniqueName("buyer"));
  await page.goto("/items/2");
  await hydrated(page, javaScriptEnabled);
  await page.getByTestId("buy-button").click();
  await expect(page.getByTestId("confirm-purchase")).toContainText("Buy Magic Shield for $499.99?");
  await page.getByTestId("confirm-buy").click();

  await expect(page).toHaveURL(/\/orders\/[0-9a-f-]{36}$/);
  if (javaScriptEnabled) {
    // The live socket flips the status in place.
    await expect(page.getByTestId("order")).toHaveAttribute("data-status", "paid", { timeout: 15_000 });
  } else {
    await expect(async () => {
      await page.reload();
      await expect(page.getByTestId("order")).toHaveAttribute("data-status", "paid", { timeout: 500 });
    }).toPass({ timeout: 15_000 });
  }
  await expect(page.getByTestId("order-message")).toContainText("Payment confirmed");

  await page.getByRole("link", { name: "Go to your library" }).click();
  await expect(page.getByTestId("library-grid")).toContainText("Magic Shield");
  await page.goto("/orders");
  await expect(page.getByTestId("orders-table")).toContainText("Magic Shield");
  await expect(page.getByTestId("orders-table")).toContainText("Paid");
});
