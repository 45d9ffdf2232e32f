// browser.mjs drives Debian's Chromium through playwright-core against a
// running maillon. internal/web's TestBrowser starts the daemon with the
// demo's data, runs `node e2e/browser.mjs` with the environment below and
// fails on a non-zero exit. Each step prints "ok - name" or
// "not ok - name: why"; the first failure stops the run (later steps
// depend on earlier ones). Screenshots of every page go to $ARTIFACTS.
//
// Environment:
//   BASE_URL                    http://127.0.0.1:PORT
//   CHROMIUM                    /usr/bin/chromium
//   ARTIFACTS                   directory for screenshots
//   ADMIN_LOGIN ADMIN_PASSWORD  an admin with a local password
//   MEMBER_LOGIN MEMBER_PASSWORD  a line's credentials (the demo's demo1@DEMO)
//   MEMBER_NAME                 that line's member's name
//   OTHER_LINE_ID OTHER_MEMBER_ID  a line and a member that are not theirs
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";

const env = (name) => {
  const v = process.env[name];
  if (!v) {
    console.error(`browser.mjs: ${name} is not set`);
    process.exit(2);
  }
  return v;
};
const base = env("BASE_URL");
const artifacts = env("ARTIFACTS");
mkdirSync(artifacts, { recursive: true });

let shot = 0;
async function screenshot(page, name) {
  shot++;
  const file = join(artifacts, `${String(shot).padStart(2, "0")}-${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}

function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}

let failed = false;
async function step(name, fn) {
  if (failed) return;
  const t0 = Date.now();
  try {
    await fn();
    console.log(`ok - ${name} (${Date.now() - t0} ms)`);
  } catch (e) {
    failed = true;
    console.log(`not ok - ${name}: ${e && e.message ? e.message.split("\n")[0] : e}`);
  }
}

// expectStatus loads a URL and checks the HTTP status of the answer.
async function expectStatus(page, path, status) {
  const resp = await page.goto(base + path);
  assert(resp, `no response for ${path}`);
  assert(resp.status() === status, `${path} answered ${resp.status()}, want ${status}`);
  return resp;
}

// chartPixels counts the pixels of the usage chart's canvas painted in the
// download series' blue: bars, not axes or grid, which are grey.
async function chartPixels(page) {
  return page.evaluate(() => {
    const c = document.querySelector("figure[data-usage-chart] canvas");
    if (!c) return -1;
    const px = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 0; i < px.length; i += 4) {
      const [r, g, b, a] = [px[i], px[i + 1], px[i + 2], px[i + 3]];
      if (a > 40 && b > r + 60 && b > g + 20) n++;
    }
    return n;
  });
}

const browser = await chromium.launch({
  executablePath: env("CHROMIUM"),
  // The tests run as root in a container: Chromium's sandbox needs user
  // namespaces it may not have there.
  args: ["--no-sandbox", "--disable-dev-shm-usage"],
});
const fail = [];
try {
  // ------------------------------------------------------------- admin
  const admin = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: "en-GB" });
  const ap = await admin.newPage();
  ap.on("pageerror", (e) => fail.push(`admin page error: ${e.message}`));
  await step("an admin logs in", async () => {
    await ap.goto(base + "/admin/");
    assert(new URL(ap.url()).pathname === "/login", `landed on ${ap.url()}`);
    await ap.fill("#login", env("ADMIN_LOGIN"));
    await ap.fill("#password", env("ADMIN_PASSWORD"));
    await Promise.all([ap.waitForURL(base + "/admin/"), ap.click("form[action='/login'] button[type=submit]")]);
    await screenshot(ap, "admin-home");
  });

  let adminLine = "";
  await step("the admin creates a member", async () => {
    await ap.goto(base + "/admin/members/new");
    await ap.fill("#f-name", "Grace Hopper");
    await ap.fill("#f-email", "grace@example.org");
    await ap.fill("#f-periods", "2026-01-01:");
    await Promise.all([ap.waitForURL(/\/admin\/members\/\d+$/), ap.click("form.form button.primary")]);
    assert((await ap.textContent("h1")).includes("Grace Hopper"), "the member's page is not Grace's");
    await screenshot(ap, "admin-member-created");
  });

  await step("the admin adds a line and sees its addresses", async () => {
    await Promise.all([ap.waitForLoadState(), ap.click("a[href^='/admin/subscriptions/new?member_id=']")]);
    await ap.selectOption("#f-kind", "ppp");
    await ap.fill("#f-login", "grace@DEMO");
    await ap.fill("#f-password", "grace-password");
    await Promise.all([ap.waitForURL(/\/admin\/subscriptions\/\d+$/), ap.click("form.form button.primary")]);
    adminLine = ap.url();
    const text = await ap.textContent("main");
    assert(text.includes("grace@DEMO"), "the line's page does not name it");
    assert(/\d+\.\d+\.\d+\.\d+\/32/.test(text), "no IPv4 /32 allocated");
    assert(/[0-9a-f:]+::\/64/.test(text), "no IPv6 /64 allocated");
    assert(/[0-9a-f:]+::\/5[0-9]/.test(text), "no delegated prefix allocated");
    await screenshot(ap, "admin-line-created");
  });

  await step("the admin suspends the line", async () => {
    await Promise.all([ap.waitForURL(adminLine), ap.click("form[action$='/suspend'] button")]);
    assert((await ap.textContent("h1")).includes("suspended"), `h1 is ${await ap.textContent("h1")}`);
    assert(await ap.locator("form[action$='/resume']").count() === 1, "no resume button");
    await screenshot(ap, "admin-line-suspended");
  });

  await step("the admin finds the demo line by its login and sees its usage chart", async () => {
    await ap.goto(base + "/admin/search?q=" + encodeURIComponent(env("MEMBER_LOGIN")));
    assert(/\/admin\/subscriptions\/\d+$/.test(new URL(ap.url()).pathname), `the search landed on ${ap.url()}`);
    await ap.waitForFunction(() => document.querySelector("figure[data-usage-chart]")?.getAttribute("data-drawn"));
    const drawn = Number(await ap.locator("figure[data-usage-chart]").getAttribute("data-drawn"));
    assert(drawn === 90, `the chart plots ${drawn} days`);
    const px = await chartPixels(ap);
    assert(px > 2000, `the canvas has ${px} bar pixels`);
    await screenshot(ap, "admin-line-usage");
  });
  await admin.close();

  // ------------------------------------------------------------ member
  const member = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: "en-GB" });
  const mp = await member.newPage();
  mp.on("pageerror", (e) => fail.push(`member page error: ${e.message}`));
  // A script error or a CSP refusal fails the run; the 401, 404 and 422
  // the steps ask for on purpose are logged by Chromium too, and do not.
  mp.on("console", (m) => {
    if (m.type() === "error" && !m.text().startsWith("Failed to load resource: the server responded with a status of")) {
      fail.push(`member console error: ${m.text()}`);
    }
  });

  await step("member pages need a login", async () => {
    await mp.goto(base + "/member/");
    assert(new URL(mp.url()).pathname === "/member/login", `landed on ${mp.url()}`);
    await screenshot(mp, "member-login");
  });

  await step("a wrong password is refused", async () => {
    await mp.fill("#login", env("MEMBER_LOGIN"));
    await mp.fill("#password", "not-the-password");
    await Promise.all([mp.waitForLoadState(), mp.click("form[action='/member/login'] button[type=submit]")]);
    assert((await mp.locator("[role=alert]").count()) === 1, "no error message");
    assert(new URL(mp.url()).pathname === "/member/login", `landed on ${mp.url()}`);
  });

  await step("the member logs in with their line's credentials", async () => {
    await mp.fill("#login", env("MEMBER_LOGIN"));
    await mp.fill("#password", env("MEMBER_PASSWORD"));
    await Promise.all([mp.waitForURL(base + "/member/"), mp.click("form[action='/member/login'] button[type=submit]")]);
    const h1 = await mp.textContent("h1");
    assert(h1.includes(env("MEMBER_NAME")), `h1 is ${JSON.stringify(h1)}`);
    assert(await mp.getByRole("link", { name: env("MEMBER_LOGIN") }).isVisible(), "their line is not listed");
  });

  await step("the usage chart is drawn with 90 days of data", async () => {
    const fig = mp.locator("figure[data-usage-chart]");
    await fig.waitFor();
    await mp.waitForFunction(() => document.querySelector("figure[data-usage-chart]")?.getAttribute("data-drawn"));
    const drawn = Number(await fig.getAttribute("data-drawn"));
    assert(drawn === 90, `the chart plots ${drawn} days, want 90`);
    const points = await mp.evaluate(() => {
      const d = JSON.parse(document.getElementById(document.querySelector("figure[data-usage-chart]").dataset.usageChart).textContent);
      return d.download.filter((v) => v > 0).length;
    });
    assert(points >= 80, `only ${points} days with traffic in the chart's data`);
    const px = await chartPixels(mp);
    assert(px > 2000, `the canvas has ${px} bar pixels`);
    // The chart replaces the table, which stays one click away.
    assert(!(await mp.locator("details.usage-table").evaluate((d) => d.open)), "the table is still unfolded");
    await screenshot(mp, "member-home");
  });

  let lineURL = "";
  await step("the line page shows its addresses and sessions", async () => {
    await Promise.all([mp.waitForLoadState(), mp.getByRole("link", { name: env("MEMBER_LOGIN") }).click()]);
    lineURL = mp.url();
    assert(/\/member\/lines\/\d+$/.test(new URL(lineURL).pathname), `landed on ${lineURL}`);
    const text = await mp.textContent("main");
    assert(/\d+\.\d+\.\d+\.\d+\/32/.test(text), "no IPv4 /32 on the line page");
    assert(/[0-9a-f:]+\/64/.test(text), "no IPv6 /64 on the line page");
    await mp.waitForFunction(() => document.querySelector("figure[data-usage-chart]")?.getAttribute("data-drawn"));
    await screenshot(mp, "member-line");
  });

  await step("a bad reverse name gets a clear error, a good one is kept", async () => {
    const input = mp.locator("form[action$='/reverse'] input[name=name]").first();
    await input.fill("not a name!");
    await Promise.all([mp.waitForLoadState(), mp.locator("form[action$='/reverse'] button").first().click()]);
    assert((await mp.locator(".error-summary").count()) === 1, "no error summary");
    await screenshot(mp, "member-reverse-error");
    await mp.locator("form[action$='/reverse'] input[name=name]").first().fill("home.demo1.example.org");
    await Promise.all([mp.waitForURL(lineURL), mp.locator("form[action$='/reverse'] button").first().click()]);
    const v = await mp.locator("form[action$='/reverse'] input[name=name]").first().inputValue();
    assert(v === "home.demo1.example.org.", `reverse name is ${JSON.stringify(v)}`);
  });

  await step("another member's line and member pages are not found (404, not 403)", async () => {
    const other = env("OTHER_LINE_ID");
    await expectStatus(mp, `/member/lines/${other}`, 404);
    await screenshot(mp, "member-other-line-404");
    await expectStatus(mp, `/member/lines/999999999`, 404);
    // Forms too: a POST on another member's line changes nothing.
    const status = await mp.evaluate(async (id) => {
      const csrf = document.querySelector("input[name=csrf]")?.value || "";
      const body = new URLSearchParams({ csrf, password: "hijacked-pass", confirm: "hijacked-pass" });
      const r = await fetch(`/member/lines/${id}/password`, { method: "POST", body });
      return r.status;
    }, other);
    assert(status === 404, `password change on another member's line answered ${status}`);
    // The admin API is not theirs either.
    await expectStatus(mp, `/api/v1/members/${env("OTHER_MEMBER_ID")}`, 401);
  });

  await step("without JavaScript the usage is a table", async () => {
    const nojs = await browser.newContext({ javaScriptEnabled: false, viewport: { width: 390, height: 844 }, locale: "fr-FR" });
    await nojs.addCookies(await member.cookies());
    const p = await nojs.newPage();
    await p.goto(base + "/member/");
    const rows = await p.locator("details.usage-table tbody tr").count();
    assert(rows >= 80, `${rows} rows in the table`);
    assert(await p.locator("details.usage-table").evaluate((d) => d.open), "the table is folded without JavaScript");
    await screenshot(p, "member-home-phone-nojs");
    await nojs.close();
  });

  await step("the member logs out", async () => {
    await mp.goto(base + "/member/");
    await Promise.all([mp.waitForLoadState(), mp.locator("form[action='/logout'] button").click()]);
    await expectStatus(mp, "/member/lines/1", 200); // the login page, after a redirect
    assert(new URL(mp.url()).pathname === "/member/login", `landed on ${mp.url()}`);
  });
  await member.close();

  await step("the member the admin created sees their line suspended", async () => {
    const ctx = await browser.newContext({ viewport: { width: 390, height: 844 }, locale: "en-GB" });
    const p = await ctx.newPage();
    await p.goto(base + "/member/login");
    await p.fill("#login", "grace@DEMO");
    await p.fill("#password", "grace-password");
    await Promise.all([p.waitForURL(base + "/member/"), p.click("form[action='/member/login'] button[type=submit]")]);
    assert((await p.textContent("h1")).includes("Grace Hopper"), "not Grace's page");
    assert((await p.textContent(".lines")).includes("suspended"), "the line is not shown suspended");
    await screenshot(p, "member-suspended-phone");
    await ctx.close();
  });
} finally {
  await browser.close();
}

if (!failed && fail.length) {
  failed = true;
  for (const f of fail) console.log(`not ok - ${f}`);
}
console.log(failed ? "browser tests: FAILED" : "browser tests: all steps passed");
process.exit(failed ? 1 : 0);
