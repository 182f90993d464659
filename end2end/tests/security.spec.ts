import { test, expect, request as playwrightRequest } from "@playwright/test";
import { hydrated, uniqueName } from "./support";
import { admin, baseURL } from "../playwright.config";

// An item name full of markup is text everywhere: in the tab title, the heading and the head,
// with JavaScript off and hydrated (the hardening issue, item 1).
test("markup in an item name stays text in the page title", async ({ page, javaScriptEnabled }) => {
  const operator = await playwrightRequest.newContext({ baseURL, extraHTTPHeaders: { Origin: baseURL } });
  const loggedIn = await operator.post("/api/users/login", { data: admin });
  expect(loggedIn.status()).toBe(200);
  const sku = uniqueName("markup").toLowerCase();
  const name = `x</title><script>alert(1)</script> & "q" ${sku.slice(-6)}`;
  const created = await operator.post("/api/items", {
    data: {
      sku,
      name,
      description: `"><meta http-equiv="refresh" content="0;url=/login">`,
      price_cents: 150,
    },
  });
  expect(created.status()).toBe(201);
  const id = (await created.json()).id as number;

  let dialogs = 0;
  page.on("dialog", (dialog) => {
    dialogs += 1;
    void dialog.dismiss();
  });
  await page.goto(`/items/${id}`);
  await hydrated(page, javaScriptEnabled);
  await expect(page.getByRole("heading", { level: 1 })).toHaveText(name);
  await expect(page).toHaveTitle(`${name} · Game Store`);
  // Still here: no refresh to /login, no script ran.
  await page.waitForTimeout(500);
  await expect(page).toHaveURL(new RegExp(`/items/${id}$`));
  expect(dialogs).toBe(0);
  expect(await page.locator("head script:not([src]):not([nonce])").count()).toBe(0);
  expect(await page.locator('head meta[http-equiv="refresh"]').count()).toBe(0);
  await operator.dispose();
});
