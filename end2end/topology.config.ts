import { defineConfig } from "@playwright/test";
import base from "./playwright.config";

// The two-replica topology check (scripts/test-topology), kept out of the default suite: it
// needs the native topology of scripts/topology (nginx in front of two replicas on PostgreSQL +
// Redis, paysim), which scripts/test-topology starts and stops around this run.
export default defineConfig({
  testDir: "./topology",
  timeout: 90_000,
  expect: { timeout: 30_000 },
  fullyParallel: false,
  forbidOnly: !!process.env.CI,
  retries: 0,
  workers: 1,
  reporter: [["list"]],
  outputDir: "test-results/topology",
  use: {
    baseURL: process.env.TOPOLOGY_URL ?? "http://127.0.0.1:38080",
    javaScriptEnabled: true,
    trace: "retain-on-failure",
    // The same Debian Chromium and flags as the default suite.
    launchOptions: base.use?.launchOptions,
  },
});
