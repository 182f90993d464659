import { test, expect } from "@playwright/test";
import { hydrated, login, register, uniqueName } from "./support";
import { admin } from "../playwright.config";

test("an operator adds license keys; a buyer sees their key in the library after payment", async ({
  page,
  browser,
  javaScriptEnabled,
}) => {
  // The operator pastes three keys (a CSV with a header) into Archmage Staff's key pool.
  const batch = uniqueName("k").replace(/[^a-z0-9]/gi, "").slice(-10).toUpperCase();
  const operatorContext = await browser.newContext({ javaScriptEnabled });
  const operator = await operatorContext.newPage();
  await login(operator, javaScriptEnabled, admin.username, admin.password);
  await operator.goto("/admin/items/10");
  await hydrated(operator, javaScriptEnabled);
  const pool = operator.getByTestId("key-pool");
  await expect(pool.getByTestId("keys-available")).toBeVisible();
  await pool.getByLabel("Add keys").fill(`key,note\nE2E-${batch}-1,a\nE2E-${batch}-2,b\nE2E-${batch}-1,again\n`);
  await pool.getByRole("button", { name: "Add keys" }).click();
  await expect(pool.getByTestId("keys-added")).toContainText("Keys added.");
  await expect(pool.getByTestId("keys-available")).not.toHaveText("0");
  await expect(pool.locator("code", { hasText: `••••••${batch.slice(-2)}-1` }).first()).toBeVisible();
  await expect(pool).not.toContainText(`E2E-${batch}-1`);
  await operatorContext.close();

  // A shopper buys it; once paid, the library shows a key from the pool.
  await register(page, javaScriptEnabled, uniqueName("keys"));
  await page.goto("/items/10");
  await hydrated(page, javaScriptEnabled);
  await page.getByTestId("buy-button").click();
  await page.getByTestId("confirm-buy").click();
  await expect(page).toHaveURL(/\/orders\/[0-9a-f-]{36}$/);
  if (javaScriptEnabled) {
    await expect(page.getByTestId("order")).toHaveAttribute("data-status", "paid", { timeout: 15_000 });
  } else {
    await expect(async () => {
      await page.reload();
      await expect(page.getByTestId("order")).toHaveAttribute("data-status", "paid", { timeout: 500 });
    }).toPass({ timeout: 15_000 });
  }
  await page.goto("/library");
  await hydrated(page, javaScriptEnabled);
  const card = page.getByTestId("library-grid").locator("[data-sku='archmage-staff']");
  await expect(card.getByTestId("license-key")).toHaveText(/^E2E-[A-Z0-9]+-[12]$/);
  if (javaScriptEnabled) {
    await expect(card.getByRole("button", { name: /Copy/ })).toBeVisible();
  } else {
    await expect(card.getByRole("button", { name: /Copy/ })).toHaveCount(0);
  }
});
