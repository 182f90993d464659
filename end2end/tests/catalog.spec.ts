import { test, expect } from "@playwright/test";
import { hydrated } from "./support";

test.describe("catalog", () => {
  test("renders the catalog with items, paging and item pages", async ({ page, javaScriptEnabled }) => {
    await page.goto("/");
    await hydrated(page, javaScriptEnabled);
    // 45 seeded items, plus any an admin test created meanwhile.
    await expect(page.getByTestId("result-count")).toContainText(/\b4[5-9] items · page 1 of 3/);
    await expect(page.getByTestId("item-card")).toHaveCount(20);
    await expect(page.getByTestId("catalog-grid")).toContainText("Dragon Sword");

    await page.getByRole("link", { name: "Next →" }).click();
    await expect(page).toHaveURL(/page=2/);
    await expect(page.getByTestId("result-count")).toContainText("page 2 of 3");

    await page.goto("/");
    await hydrated(page, javaScriptEnabled);
    await page.getByRole("heading", { name: "Dragon Sword" }).getByRole("link").click();
    await expect(page).toHaveURL(/\/items\/1$/);
    await expect(page.getByRole("heading", { level: 1 })).toHaveText("Dragon Sword");
    await expect(page.getByTestId("item-price")).toHaveText("$999.99");
    await expect(page.getByText("A legendary sword forged in dragon fire")).toBeVisible();
    await expect(page.getByRole("img", { name: "Cover art for Dragon Sword" })).toBeVisible();
  });

  test("search, filter and open an item, all reflected in the URL", async ({ page, javaScriptEnabled }) => {
    await page.goto("/");
    await hydrated(page, javaScriptEnabled);
    await page.getByLabel("Search").fill("elixir");
    await page.getByRole("button", { name: "Apply" }).click();
    await expect(page).toHaveURL(/q=elixir/);
    await expect(page.getByTestId("result-count")).toContainText("2 items");

    await page.getByRole("navigation", { name: "Filter by tag" }).getByRole("link", { name: "legendary" }).click();
    await expect(page).toHaveURL(/tag=legendary/);
    await expect(page).toHaveURL(/q=elixir/);
    await expect(page.getByTestId("item-card")).toHaveCount(1);
    await page.getByRole("heading", { name: "Phoenix Elixir" }).getByRole("link").click();
    await expect(page.getByRole("heading", { level: 1 })).toHaveText("Phoenix Elixir");

    await page.goBack();
    await expect(page).toHaveURL(/tag=legendary/);
    await expect(page.getByTestId("item-card")).toHaveCount(1);
  });

  test("shows an empty state when nothing matches", async ({ page }) => {
    await page.goto("/?q=no-such-item-anywhere");
    await expect(page.getByTestId("empty-state")).toContainText("No items match");
    await page.getByRole("link", { name: "Clear filters" }).click();
    await expect(page.getByTestId("result-count")).toContainText(/\b4[5-9] items/);
  });
});
