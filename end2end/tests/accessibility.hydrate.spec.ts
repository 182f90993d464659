import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test, expect, type Page } from "@playwright/test";
import { login } from "./support";
import { admin } from "../playwright.config";

// axe-core from npm, injected into each page (the context bypasses the store's CSP only so the
// test can inject it; the pages themselves are served as usual).
const axeSource = readFileSync(join(process.cwd(), "node_modules", "axe-core", "axe.min.js"), "utf8");

async function violations(page: Page): Promise<string[]> {
  await page.addScriptTag({ content: axeSource });
  const result = await page.evaluate(async () => {
    // @ts-expect-error axe is injected above
    const r = await window.axe.run(document, { resultTypes: ["violations"] });
    return r.violations.map(
      (v: { id: string; impact: string; nodes: { target: string[] }[] }) =>
        `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`,
    );
  });
  return result as string[];
}

test("every operator page passes axe with no violations", async ({ browser }) => {
  // Nine pages, each hydrated and scanned: 52 s on a loaded CI machine against the default 60 s.
  test.setTimeout(180_000);
  const context = await browser.newContext({ bypassCSP: true });
  const page = await context.newPage();
  await login(page, true, admin.username, admin.password);
  const pages = [
    "/admin",
    "/admin?range=90",
    "/admin/orders",
    "/admin/items",
    "/admin/items/new",
    "/admin/items/1",
    "/admin/promo-codes",
    "/admin/webhooks",
    "/admin/audit",
  ];
  // One delivery's page too, when the log has one.
  await page.goto("/admin/webhooks");
  const first = page.locator("table[data-testid='webhook-events'] tbody tr a").first();
  if (await first.count()) {
    pages.push((await first.getAttribute("href")) as string);
  }
  for (const path of pages) {
    await page.goto(path);
    await expect(page.locator("body[data-hydrated='true']")).toBeAttached({ timeout: 20_000 });
    await page.locator("main h1").first().waitFor();
    expect(await violations(page), path).toEqual([]);
  }
  await context.close();
});
