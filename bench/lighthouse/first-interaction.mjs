// What an anonymous visitor's first interaction costs: pages without live updates hydrate at the
// visitor's first sign of intent (docs/architecture.md, "Hydration"), which Lighthouse's
// navigation run never shows, since it does not interact. This loads the page, then records a
// Lighthouse timespan from a pointer moving over it until the page has hydrated, with
// Lighthouse's devtools throttling (mobile, 4x CPU slowdown), and writes the timespan's report.
//
//   node first-interaction.mjs URL OUT.json
//
// Run from a directory whose node_modules holds lighthouse (and its puppeteer-core);
// scripts/bench copies it into the Lighthouse install.
import fs from "node:fs";
import puppeteer from "puppeteer-core";
import { startFlow } from "lighthouse";

const [url, out] = process.argv.slice(2);
if (!url || !out) {
  console.error("usage: node first-interaction.mjs URL OUT.json");
  process.exit(2);
}
const browser = await puppeteer.launch({
  executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
  args: ["--headless=new", "--no-sandbox", "--disable-gpu"],
});
try {
  const page = await browser.newPage();
  const flow = await startFlow(page, {
    config: {
      extends: "lighthouse:default",
      settings: { onlyCategories: ["performance"], throttlingMethod: "devtools" },
    },
  });
  await flow.navigate(url);
  const before = await page.$("body[data-hydrated]");
  if (before) {
    throw new Error("the page hydrated before any interaction");
  }
  await flow.startTimespan();
  await page.mouse.move(40, 40);
  await page.mouse.move(80, 90);
  await page.waitForSelector("body[data-hydrated='true']", { timeout: 60_000 });
  // Let the tasks hydration queued finish inside the span.
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  await flow.endTimespan();
  const result = await flow.createFlowResult();
  const span = result.steps.find((step) => step.lhr.gatherMode === "timespan");
  fs.writeFileSync(out, JSON.stringify(span.lhr));
} finally {
  await browser.close();
}
