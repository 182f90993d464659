import { expect, type Page, type APIRequestContext } from "@playwright/test";

let counter = 0;

/** A username no other test (or run) uses. */
export function uniqueName(prefix = "shopper"): string {
  counter += 1;
  const random = Math.random().toString(36).slice(2, 8);
  return `${prefix}-${Date.now().toString(36)}-${counter}${random}`.slice(0, 32);
}

export const PASSWORD = "correct horse battery";

/** Waits until the WASM has hydrated the page (no-op with JavaScript off). */
export async function hydrated(page: Page, javaScriptEnabled: boolean): Promise<void> {
  if (!javaScriptEnabled) {
    return;
  }
  // A page without live updates (an anonymous visitor's) hydrates at the visitor's first sign
  // of intent (app/src/lib.rs, HydrationLoader): a key press is one.
  await page.keyboard.press("Shift");
  // Hydrated, or failed with a panic the WASM wrote on the page (frontend/src/lib.rs).
  await expect(page.locator("body[data-hydrated='true'], body[data-hydration-error]")).toBeAttached({ timeout: 20_000 });
  const error = await page.locator("body").getAttribute("data-hydration-error");
  expect(error, `hydration of ${page.url()} panicked`).toBeNull();
}

export async function register(page: Page, js: boolean, username: string, password = PASSWORD): Promise<void> {
  await page.goto("/register");
  await hydrated(page, js);
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Create account" }).click();
  await expect(page.getByTestId("current-user")).toContainText(username);
}

export async function login(page: Page, js: boolean, username: string, password = PASSWORD, path = "/login"): Promise<void> {
  await page.goto(path);
  await hydrated(page, js);
  await page.getByLabel("Username").fill(username);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Log in" }).click();
  await expect(page.getByTestId("current-user")).toContainText(username);
}

export async function logout(page: Page): Promise<void> {
  await page.getByRole("button", { name: "Log out" }).click();
  await expect(page.getByRole("link", { name: "Log in" })).toBeVisible();
}

/** Registers through the REST API (faster than the form when the form is not under test). */
export async function apiRegister(request: APIRequestContext, username: string, password = PASSWORD): Promise<string> {
  const response = await request.post("/api/users", { data: { username, password } });
  expect(response.status()).toBe(201);
  return (await response.json()).user_id as string;
}
