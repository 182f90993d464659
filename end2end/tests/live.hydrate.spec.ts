import { test, expect, type Browser, type Page } from "@playwright/test";
import { hydrated, register, uniqueName } from "./support";
import { metricsURL } from "../playwright.config";

async function shopper(browser: Browser): Promise<{ page: Page; username: string }> {
  const context = await browser.newContext();
  const page = await context.newPage();
  const username = uniqueName("live");
  await register(page, true, username);
  await expect(page.getByTestId("live-indicator")).toHaveAttribute("data-state", "live");
  return { page, username };
}

test("only the buyer sees the confirmation, on every tab, without reloading", async ({ browser }) => {
  const alice = await shopper(browser);
  const bob = await shopper(browser);
  // Alice's second tab, on her library.
  const aliceTab2 = await alice.page.context().newPage();
  await aliceTab2.goto("/library");
  await hydrated(aliceTab2, true);
  await expect(aliceTab2.getByTestId("empty-state")).toBeVisible();
  await expect(aliceTab2.getByTestId("live-indicator")).toHaveAttribute("data-state", "live");

  await alice.page.goto("/items/5");
  await hydrated(alice.page, true);
  await alice.page.getByTestId("buy-button").click();
  await alice.page.getByTestId("confirm-buy").click();
  await expect(alice.page).toHaveURL(/\/orders\//);
  await expect(alice.page.getByTestId("order")).toHaveAttribute("data-status", "pending");

  await expect(alice.page.getByTestId("toast")).toContainText("Payment confirmed: Wizard Hat", { timeout: 15_000 });
  await expect(alice.page.getByTestId("order")).toHaveAttribute("data-status", "paid");
  await expect(aliceTab2.getByTestId("toast")).toContainText("Payment confirmed: Wizard Hat");
  await expect(aliceTab2.getByTestId("library-grid")).toContainText("Wizard Hat");

  // Bob saw nothing.
  await bob.page.waitForTimeout(500);
  await expect(bob.page.getByTestId("toast")).toHaveCount(0);

  const metrics = await (await alice.page.request.get(metricsURL)).text().catch(() => "");
  const sum = /gamestore_webhook_to_socket_seconds_sum (\S+)/.exec(metrics)?.[1];
  const count = /gamestore_webhook_to_socket_seconds_count (\S+)/.exec(metrics)?.[1];
  if (sum && count) {
    console.log(`webhook received → message on socket: mean ${((Number(sum) / Number(count)) * 1000).toFixed(2)} ms over ${count} sends`);
  }
});

test("the cart badge follows a change made in another tab, live", async ({ browser }) => {
  const { page } = await shopper(browser);
  await expect(page.getByTestId("cart-count")).toHaveAttribute("data-count", "0");
  const other = await page.context().newPage();
  await other.goto("/items/4");
  await other.getByTestId("add-to-cart").first().click();
  await expect(other).toHaveURL(/\/cart$/);
  await expect(page.getByTestId("cart-count")).toHaveAttribute("data-count", "1");
  await expect(page.getByTestId("cart-count")).toContainText("1 item in your cart");
});
