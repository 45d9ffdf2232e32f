// status.mjs checks the public status page in Debian's Chromium, with
// JavaScript off: landmarks and headings, the language switch, keyboard
// access, labelled form fields, and the contrast of every piece of text
// in the light and dark colour schemes (WCAG AA: 4.5:1). internal/status's
// TestStatusPageInChromium serves the page and runs it; each step prints
// "ok - name" or "not ok - name: why".
//
// Environment: BASE_URL (http://127.0.0.1:PORT), CHROMIUM, ARTIFACTS.
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";

const env = (name) => {
  const v = process.env[name];
  if (!v) {
    console.error(`status.mjs: ${name} is not set`);
    process.exit(2);
  }
  return v;
};
const base = env("BASE_URL");
const artifacts = env("ARTIFACTS");
mkdirSync(artifacts, { recursive: true });

function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}

let failed = false;
async function step(name, fn) {
  if (failed) return;
  try {
    await fn();
    console.log(`ok - ${name}`);
  } catch (e) {
    failed = true;
    console.log(`not ok - ${name}: ${e && e.message ? e.message.split("\n")[0] : e}`);
  }
}

// lowContrast returns the text elements whose colour against the
// background behind them is under 4.5:1.
function lowContrast() {
  const rgb = (s) => (s.match(/[\d.]+/g) || []).map(Number);
  const lum = ([r, g, b]) => {
    const c = [r, g, b].map((v) => {
      v /= 255;
      return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
  };
  const background = (el) => {
    for (let e = el; e; e = e.parentElement) {
      const c = rgb(getComputedStyle(e).backgroundColor);
      if (c.length >= 3 && (c.length < 4 || c[3] > 0.9)) return c;
    }
    return [255, 255, 255];
  };
  const bad = [];
  for (const el of document.querySelectorAll("body *")) {
    const own = [...el.childNodes].some((n) => n.nodeType === 3 && n.textContent.trim());
    if (!own || el.closest("[aria-hidden=true]") || el.classList.contains("skip")) continue;
    const fg = lum(rgb(getComputedStyle(el).color));
    const bg = lum(background(el));
    const ratio = (Math.max(fg, bg) + 0.05) / (Math.min(fg, bg) + 0.05);
    if (ratio < 4.5) bad.push(`${el.tagName.toLowerCase()}.${el.className} "${el.textContent.trim().slice(0, 30)}" ${ratio.toFixed(2)}`);
  }
  return bad;
}

const browser = await chromium.launch({ executablePath: env("CHROMIUM"), args: ["--no-sandbox"] });
try {
  for (const scheme of ["light", "dark"]) {
    const ctx = await browser.newContext({ javaScriptEnabled: false, locale: "fr-FR", colorScheme: scheme, viewport: { width: 1000, height: 900 } });
    const page = await ctx.newPage();

    await step(`${scheme}: the page reads without JavaScript, with its landmarks and headings`, async () => {
      const resp = await page.goto(base + "/status");
      assert(resp && resp.status() === 200, `status ${resp && resp.status()}`);
      assert((await page.getAttribute("html", "lang")) === "fr", "not French");
      for (const role of ["banner", "main", "contentinfo"]) {
        assert((await page.getByRole(role).count()) === 1, `no single ${role} landmark`);
      }
      assert((await page.getByRole("navigation", { name: "Langue" }).count()) === 1, "no language navigation");
      assert((await page.getByRole("heading", { level: 1 }).count()) === 1, "not one h1");
      const h2 = await page.getByRole("heading", { level: 2 }).allTextContents();
      for (const want of ["Incidents en cours", "Services", "Maintenances prévues et en cours", "Incidents des 14 derniers jours"]) {
        assert(h2.includes(want), `no h2 "${want}" in ${JSON.stringify(h2)}`);
      }
      assert((await page.getByRole("status").first().textContent()).includes("Panne majeure"), "the overall state is not said");
      assert((await page.locator("script").count()) === 0, "the page has a script");
      await page.screenshot({ path: join(artifacts, `status-${scheme}.png`), fullPage: true });
    });

    await step(`${scheme}: every text has a 4.5:1 contrast`, async () => {
      const bad = await page.evaluate(lowContrast);
      assert(bad.length === 0, `${bad.length} low: ${bad.slice(0, 3).join("; ")}`);
    });

    await step(`${scheme}: the keyboard reaches the skip link first, and it leads to the content`, async () => {
      await page.keyboard.press("Tab");
      const focused = await page.evaluate(() => [document.activeElement.textContent, document.activeElement.getAttribute("href")]);
      assert(focused[0] === "Aller au contenu" && focused[1] === "#main", `first Tab on ${JSON.stringify(focused)}`);
      await page.evaluate(() => document.activeElement.blur());
    });

    await step(`${scheme}: the language link switches to English`, async () => {
      const link = page.getByRole("link", { name: "English" });
      assert((await link.getAttribute("href")) === "?lang=en", `href ${await link.getAttribute("href")}`);
      await link.click();
      await page.waitForLoadState();
      assert((await page.getAttribute("html", "lang")) === "en", `not English at ${page.url()}`);
      assert((await page.getByRole("heading", { level: 1 }).textContent()).includes("Service status"), "h1 not English");
      const bad = await page.evaluate(lowContrast);
      assert(bad.length === 0, `${bad.length} low in English: ${bad.slice(0, 3).join("; ")}`);
    });

    await step(`${scheme}: the subscription form's fields have labels`, async () => {
      await page.goto(base + "/status/subscribe?lang=en");
      assert((await page.getByLabel("Email address").count()) === 1, "no labelled email field");
      assert((await page.getByLabel("VPN").count()) === 1, "no labelled VPN box");
      assert((await page.getByRole("button", { name: "Subscribe" }).count()) === 1, "no button");
      const bad = await page.evaluate(lowContrast);
      assert(bad.length === 0, `${bad.length} low on the form: ${bad.slice(0, 3).join("; ")}`);
      await page.screenshot({ path: join(artifacts, `subscribe-${scheme}.png`), fullPage: true });
    });
    await ctx.close();
  }
} finally {
  await browser.close();
}
console.log(failed ? "status page browser tests: FAILED" : "status page browser tests: all steps passed");
process.exit(failed ? 1 : 0);
