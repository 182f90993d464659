import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test, expect, type Page } from "@playwright/test";
import { hydrated, register, uniqueName } from "./support";
import { outboxDir } from "../playwright.config";

/** The verification link the store wrote for `address` (an .eml file: no SMTP in these runs). */
async function verificationLink(address: string): Promise<string> {
  let link = "";
  await expect(async () => {
    for (const name of readdirSync(outboxDir).filter((n) => n.endsWith(".eml"))) {
      const raw = readFileSync(join(outboxDir, name), "utf8");
      if (!raw.includes(`To: ${address}`)) continue;
      // Quoted-printable soft line breaks, then the link.
      const body = raw.replace(/=\r?\n/g, "").replace(/=3D/g, "=");
      const match = body.match(/https?:\/\/[^\s"<]+\/verify-email\?token=[0-9a-f]{64}/);
      if (match) link = match[0];
    }
    expect(link).not.toBe("");
  }).toPass({ timeout: 15_000 });
  return new URL(link).pathname + new URL(link).search;
}

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

test("a shopper sets an email address and confirms it with the link it is sent", async ({ page, javaScriptEnabled }) => {
  const username = uniqueName("mail");
  await register(page, javaScriptEnabled, username);
  await page.getByTestId("current-user").getByRole("link", { name: username }).click();
  await expect(page).toHaveURL(/\/account$/);
  await hydrated(page, javaScriptEnabled);
  await expect(page.getByTestId("email-state")).toHaveAttribute("data-state", "none");

  // A bad address is refused next to the field.
  await page.getByLabel("Email address").fill("not-an-address@localhost");
  await page.getByRole("button", { name: "Save and send a confirmation link" }).click();
  await expect(page.locator("#email-error")).toContainText("domain");

  const address = `${username}@example.com`;
  await page.getByLabel("Email address").fill(address);
  await page.getByRole("button", { name: "Save and send a confirmation link" }).click();
  await expect(page.getByTestId("email-state")).toHaveAttribute("data-state", "unverified");
  await expect(page.getByTestId("email-state")).toContainText(address);

  await page.goto(await verificationLink(address));
  await hydrated(page, javaScriptEnabled);
  await page.getByTestId("confirm-email").click();
  await expect(page).toHaveURL(/\/account\?verified=1$/);
  await expect(page.getByTestId("email-verified-notice")).toBeVisible();
  await expect(page.getByTestId("email-state")).toHaveAttribute("data-state", "verified");
});

test("a buyer asks for an item back from the order page; it leaves the library", async ({ page, javaScriptEnabled }) => {
  await register(page, javaScriptEnabled, uniqueName("selfref"));
  await page.goto("/items/7");
  await hydrated(page, javaScriptEnabled);
  const name = (await page.getByRole("heading", { level: 1 }).textContent())?.trim() ?? "";
  await page.getByTestId("add-to-cart").first().click();
  await expect(page).toHaveURL(/\/cart$/);
  await page.getByTestId("to-checkout").click();
  await hydrated(page, javaScriptEnabled);
  await page.getByTestId("place-order").click();
  await expect(page).toHaveURL(/\/orders\/[0-9a-f-]{36}$/);
  await waitForStatus(page, javaScriptEnabled, "paid");
  await hydrated(page, javaScriptEnabled);
  await expect(page.getByTestId("refundable-until")).toBeVisible();

  await page.getByRole("button", { name: `Ask for a refund of ${name}` }).click();
  await expect(page.getByTestId("refund-asked")).toBeVisible();
  await waitForStatus(page, javaScriptEnabled, "refunded");
  await expect(page.getByTestId("order-lines").locator("tr", { hasText: name })).toHaveAttribute("data-refunded", "true");
  await page.goto("/library");
  await hydrated(page, javaScriptEnabled);
  await expect(page.getByTestId("library-grid").getByText(name)).toHaveCount(0);
});
