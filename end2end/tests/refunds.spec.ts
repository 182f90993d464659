import { test, expect, type Page } from "@playwright/test";
import { hydrated, login, register, uniqueName } from "./support";
import { admin } from "../playwright.config";

async function addFrom(page: Page, js: boolean, path: string): Promise<void> {
  await page.goto(path);
  await hydrated(page, js);
  await page.getByTestId("add-to-cart").first().click();
  await expect(page).toHaveURL(/\/cart$/);
}

/** Waits for the order page to show `status`: live when hydrated, by reloading without JavaScript. */
async function waitForStatus(page: Page, js: boolean, status: string): Promise<void> {
  if (js) {
    await expect(page.getByTestId("order")).toHaveAttribute("data-status", status, { timeout: 15_000 });
  } else {
    await expect(async () => {
      await page.reload();
      await expect(page.getByTestId("order")).toHaveAttribute("data-status", status, { timeout: 500 });
    }).toPass({ timeout: 15_000 });
  }
}

test("an operator refunds one line of a two-line order; the buyer sees it live and the item leaves the library", async ({
  page,
  browser,
  javaScriptEnabled,
}) => {
  const buyer = uniqueName("refund");
  await register(page, javaScriptEnabled, buyer);
  await addFrom(page, javaScriptEnabled, "/items/6"); // Frost Dagger
  await addFrom(page, javaScriptEnabled, "/items/9"); // Oak Staff
  await page.getByTestId("to-checkout").click();
  await hydrated(page, javaScriptEnabled);
  await page.getByTestId("place-order").click();
  await expect(page).toHaveURL(/\/orders\/[0-9a-f-]{36}$/);
  const orderId = page.url().split("/").pop() as string;
  await waitForStatus(page, javaScriptEnabled, "paid");
  await hydrated(page, javaScriptEnabled);

  // The operator, in another browser, refunds the Oak Staff line.
  const operatorContext = await browser.newContext({ javaScriptEnabled });
  const operator = await operatorContext.newPage();
  await login(operator, javaScriptEnabled, admin.username, admin.password);
  await operator.goto("/admin/orders?status=paid");
  await hydrated(operator, javaScriptEnabled);
  const row = operator.locator(`[data-order-id='${orderId}']`);
  await row.locator("summary").click();
  await expect(row.getByTestId("refund-lines")).toContainText("Oak Staff");
  await row.getByRole("button", { name: "Refund this line for Oak Staff" }).click();
  await expect(operator.getByTestId("refund-accepted")).toContainText("Refund asked of the payment provider");

  // The buyer's page follows: partly refunded, the Oak Staff line marked, the dagger kept.
  await waitForStatus(page, javaScriptEnabled, "partially_refunded");
  const lines = page.getByTestId("order-lines");
  await expect(lines.locator("tr", { hasText: "Oak Staff" })).toHaveAttribute("data-refunded", "true");
  await expect(lines.locator("tr", { hasText: "Frost Dagger" })).toHaveAttribute("data-refunded", "false");
  await expect(page.getByTestId("order-refunded")).toContainText("$69.99");

  await page.goto("/library");
  const library = page.getByTestId("library-grid");
  await expect(library).toContainText("Frost Dagger");
  await expect(library).not.toContainText("Oak Staff");

  // The operator's view records the refund as the provider confirmed it.
  await operator.goto("/admin/orders?status=partially_refunded");
  const refunded = operator.locator(`[data-order-id='${orderId}']`);
  await refunded.locator("summary").click();
  await expect(refunded.getByTestId("refunds").locator("tr[data-refund-status='succeeded']")).toContainText("Oak Staff");
  await operatorContext.close();
});
