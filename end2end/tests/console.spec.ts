import { test, expect, type Page } from "@playwright/test";
import { hydrated, login, register, uniqueName } from "./support";
import { admin } from "../playwright.config";

async function ordersInChart(page: Page): Promise<number> {
  return Number(await page.getByTestId("orders-chart").getAttribute("data-total"));
}

test("an operator sees a purchase reach the dashboard, finds the order, replays its webhook and finds the refund in the audit log", async ({
  page,
  browser,
  javaScriptEnabled,
}) => {
  // The operator watches the dashboard.
  const operatorContext = await browser.newContext({ javaScriptEnabled });
  const operator = await operatorContext.newPage();
  await login(operator, javaScriptEnabled, admin.username, admin.password);
  await operator.goto("/admin?range=7");
  await hydrated(operator, javaScriptEnabled);
  await expect(operator.getByRole("heading", { name: "Dashboard" })).toBeVisible();
  await expect(operator.getByTestId("revenue-chart").locator("svg[role='img']")).toBeVisible();
  const before = await ordersInChart(operator);

  // A shopper, in another browser, buys Speed Boots.
  const shopper = uniqueName("watched");
  await register(page, javaScriptEnabled, shopper);
  await page.goto("/items/3");
  await hydrated(page, javaScriptEnabled);
  await page.getByTestId("buy-button").click();
  await page.getByTestId("confirm-buy").click();
  await expect(page).toHaveURL(/\/orders\/[0-9a-f-]{36}$/);
  const orderId = page.url().split("/").pop() as string;

  // The chart counts it: live when hydrated, on reload without JavaScript.
  if (javaScriptEnabled) {
    await expect.poll(() => ordersInChart(operator), { timeout: 15_000 }).toBeGreaterThan(before);
  } else {
    await expect(async () => {
      await operator.reload();
      expect(await ordersInChart(operator)).toBeGreaterThan(before);
    }).toPass({ timeout: 15_000 });
  }

  // The operator finds the order by its buyer.
  await operator.goto("/admin/orders");
  await hydrated(operator, javaScriptEnabled);
  await operator.getByLabel("Buyer").fill(shopper);
  await operator.getByTestId("search-orders").click();
  await expect(operator).toHaveURL(new RegExp(`username=${shopper}`));
  const row = operator.locator(`[data-order-id='${orderId}']`);
  await expect(row).toBeVisible();
  await expect(operator.getByTestId("admin-orders").locator("details.admin-order")).toHaveCount(1);
  await expect(async () => {
    await operator.reload();
    await expect(row.locator("summary [data-status='paid']")).toBeVisible({ timeout: 500 });
  }).toPass({ timeout: 15_000 });

  // Its payment webhook, replayed: already applied, nothing changes.
  await operator.goto("/admin/webhooks?show=verified");
  await hydrated(operator, javaScriptEnabled);
  const delivery = operator.locator(`tr[data-order-id='${orderId}']`).first();
  await expect(delivery).toContainText("applied");
  await delivery.getByRole("link").first().click();
  await expect(operator.getByTestId("delivery-outcome")).toHaveText("applied");
  await hydrated(operator, javaScriptEnabled);
  await operator.getByTestId("replay").click();
  await expect(operator.getByTestId("replay-result")).toContainText("Already applied");
  await expect(operator.getByTestId("delivery-outcome")).toHaveText("duplicate");

  // The operator refunds it; the audit log has the refund.
  await operator.goto(`/admin/orders?order_id=${orderId}`);
  await hydrated(operator, javaScriptEnabled);
  await operator.locator(`[data-order-id='${orderId}'] summary`).click();
  await operator.getByRole("button", { name: "Refund this line for Speed Boots" }).click();
  await expect(operator.getByTestId("refund-accepted")).toBeVisible();
  await operator.goto("/admin/audit?action=refund.request");
  await hydrated(operator, javaScriptEnabled);
  const entry = operator.locator(`tr[data-target='${orderId}']`);
  await expect(entry).toContainText("refund.request");
  await expect(entry).toContainText(admin.username);
  await operatorContext.close();
});

test("a customer is turned away from every operator page", async ({ page, javaScriptEnabled }) => {
  await register(page, javaScriptEnabled, uniqueName("nosy"));
  for (const path of ["/admin", "/admin/orders", "/admin/webhooks", "/admin/audit"]) {
    const response = await page.goto(path);
    expect(response?.status(), path).toBe(403);
    await expect(page.getByText("This area is for store operators.")).toBeVisible();
    await expect(page.getByTestId("kpis")).toHaveCount(0);
  }
});
