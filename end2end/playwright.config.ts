import { defineConfig } from "@playwright/test";

// The store under test: the release build, on its own port, with a fresh SQLite database.
const port = Number(process.env.E2E_PORT ?? 3100);
export const baseURL = `http://127.0.0.1:${port}`;
// /metrics is served on its own listener, never the public one.
export const metricsURL = `http://127.0.0.1:${port + 90}/metrics`;
export const webhookSecret = "whsec_ZTJlLXRlc3Qtc2VjcmV0LWUyZS10ZXN0LXNlY3JldA==";
export const admin = { username: "e2e-admin", password: "e2e-admin-password" };

const targetDir = process.env.CARGO_TARGET_DIR ?? "../target";
const serverBin = process.env.GAMESTORE_SERVER_BIN ?? `${targetDir}/release/server`;
const dataDir = process.env.E2E_DATA_DIR ?? "../target/e2e";
// Without SMTP the store writes its email here as .eml files; specs read them.
export const outboxDir = `${dataDir}/outbox`;

export default defineConfig({
  testDir: "./tests",
  timeout: 60_000,
  expect: { timeout: 10_000 },
  fullyParallel: true,
  forbidOnly: !!process.env.CI,
  retries: 0,
  workers: 2,
  reporter: [["list"], ["html", { open: "never", outputFolder: "playwright-report" }]],
  use: {
    baseURL,
    trace: "retain-on-failure",
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    },
  },
  projects: [
    {
      // Server-rendered only: every page and form must work without JavaScript.
      name: "ssr",
      use: { javaScriptEnabled: false },
      testIgnore: /\.(hydrate|node)\.spec\.ts$/,
    },
    {
      name: "hydrated",
      use: { javaScriptEnabled: true },
    },
  ],
  webServer: {
    command: `rm -rf ${dataDir} && mkdir -p ${dataDir} && exec ${serverBin}`,
    url: `${baseURL}/readyz`,
    reuseExistingServer: false,
    timeout: 60_000,
    stdout: "pipe",
    stderr: "pipe",
    env: {
      LEPTOS_SITE_ADDR: `127.0.0.1:${port}`,
      LEPTOS_SITE_ROOT: process.env.LEPTOS_SITE_ROOT ?? "../target/site",
      LEPTOS_OUTPUT_NAME: "gamestore",
      LEPTOS_ENV: "PROD",
      DATABASE_URL: `sqlite://${dataDir}/store.db?mode=rwc`,
      MAIL_OUTBOX_DIR: outboxDir,
      OUTBOX_POLL_MS: "200",
      WEBHOOK_SECRETS: webhookSecret,
      KEYS_ENCRYPTION_KEY: "e2e0".repeat(16),
      // LEPTOS_ENV=PROD is a production deployment, which runs the simulator only when asked.
      PAYMENT_PROVIDER_URL: "builtin",
      METRICS_ADDR: `127.0.0.1:${port + 90}`,
      // Every spec registers its own shoppers from this one address.
      REGISTRATIONS_PER_ADDRESS: "100000",
      ADMIN_USERNAME: admin.username,
      ADMIN_PASSWORD: admin.password,
      // Long enough for a page to load and its socket to connect before the payment lands,
      // also on a loaded CI machine (live.hydrate.spec.ts watches the order go pending → paid;
      // 2 s was once not enough, with the page taking longer than that to load under load).
      SIM_DELAY_MS: "3500",
      RUST_LOG: "info,store=debug",
    },
  },
});
