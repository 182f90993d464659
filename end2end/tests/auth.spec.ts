import { test, expect } from "@playwright/test";
import { hydrated, login, logout, register, uniqueName, PASSWORD } from "./support";

test("register, log out, log in: the header shows who is logged in", async ({ page, javaScriptEnabled }) => {
  const username = uniqueName();
  await register(page, javaScriptEnabled, username);
  await expect(page.getByTestId("current-user")).toContainText("customer");
  await logout(page);
  await expect(page.getByTestId("current-user")).toHaveCount(0);
  await login(page, javaScriptEnabled, username);
  await expect(page.getByTestId("current-user")).toContainText(username);
});

test("registration errors are shown next to their field", async ({ page, javaScriptEnabled }) => {
  await page.goto("/register");
  await hydrated(page, javaScriptEnabled);
  await page.getByLabel("Username").fill("ab");
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.locator("#username-error")).toHaveText(/at least 3 characters/);

  await page.getByLabel("Username").fill(uniqueName());
  await page.getByLabel("Password").fill("short");
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.locator("#password-error")).toHaveText(/at least 8 characters/);
});

test("a wrong password is refused with a readable message", async ({ page, javaScriptEnabled }) => {
  await page.goto("/login");
  await hydrated(page, javaScriptEnabled);
  await page.getByLabel("Username").fill(uniqueName("nobody"));
  await page.getByLabel("Password").fill("not the password");
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page.getByTestId("form-error")).toHaveText(/wrong username or password/);
});

test("pages that need a login send you there and back", async ({ page, javaScriptEnabled }) => {
  const username = uniqueName();
  await register(page, javaScriptEnabled, username);
  await logout(page);
  await page.goto("/library");
  await expect(page).toHaveURL(/\/login\?next=\/library/);
  await hydrated(page, javaScriptEnabled);
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page).toHaveURL(/\/library$/);
  await expect(page.getByRole("heading", { name: "Your library", exact: true })).toBeVisible();
});
