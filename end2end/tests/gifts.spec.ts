import { test, expect } from "@playwright/test";
import { hydrated, register, uniqueName } from "./support";

test("a shopper checks out a gift; the friend finds it on their orders page and in their library", async ({
  page,
  browser,
  javaScriptEnabled,
}) => {
  // The friend has an account (registered in another browser).
  const friend = uniqueName("friend");
  const friendContext = await browser.newContext({ javaScriptEnabled });
  const friendPage = await friendContext.newPage();
  await register(friendPage, javaScriptEnabled, friend);

  await register(page, javaScriptEnabled, uniqueName("giver"));
  await page.goto("/items/3"); // Speed Boots
  await hydrated(page, javaScriptEnabled);
  await page.getByTestId("add-to-cart").first().click();
  await expect(page).toHaveURL(/\/cart$/);
  await page.getByTestId("to-checkout").click();
  await hydrated(page, javaScriptEnabled);
  await page.getByTestId("gift-box").locator("summary").click();
  await page.getByLabel("Send to (username)").fill(friend);
  await page.getByLabel("Message (optional)").fill("Run faster!");
  await page.getByTestId("place-order").click();
  await expect(page).toHaveURL(/\/orders\/[0-9a-f-]{36}$/);
  await expect(page.getByTestId("order-gift")).toContainText(`A gift for ${friend}`);
  await expect(page.getByTestId("order-gift")).toContainText("Run faster!");

  if (javaScriptEnabled) {
    // The friend's open page hears it live.
    await friendPage.goto("/orders");
    await hydrated(friendPage, javaScriptEnabled);
    await expect(friendPage.getByTestId("gifts-received")).toContainText("Speed Boots", { timeout: 15_000 });
  } else {
    await expect(async () => {
      await friendPage.goto("/orders");
      await expect(friendPage.getByTestId("gifts-received")).toContainText("Speed Boots", { timeout: 500 });
    }).toPass({ timeout: 15_000 });
  }
  await expect(friendPage.getByTestId("gifts-received")).toContainText("Run faster!");
  await friendPage.goto("/library");
  await expect(friendPage.getByTestId("library-grid")).toContainText("Speed Boots");

  // The giver's own library does not get it.
  await page.goto("/library");
  await expect(page.getByTestId("empty-state")).toBeVisible();
  await friendContext.close();
});
