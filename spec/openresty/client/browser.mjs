// The example page in headless Chromium (Debian's /usr/bin/chromium through playwright-core):
// type a message, watch the streamed answer appear, save a screenshot.
//   node browser.mjs <base url> <prompt> <expected answer substring> <screenshot path>
import { chromium } from 'playwright-core';
import { bound, done } from './common.mjs';

bound(90);
const [base, prompt, expected, shot] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
});
try {
  const page = await browser.newPage({ viewport: { width: 900, height: 640 } });
  const consoleErrors = [];
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => consoleErrors.push(e.message));
  await page.goto(base + '/', { waitUntil: 'load' });
  // Record every distinct assistant text the page renders, to see it grow while streaming.
  await page.evaluate(() => {
    window.__snapshots = [];
    const seen = new Set();
    const obs = new MutationObserver(() => {
      const a = document.querySelectorAll('.msg.assistant');
      const t = a.length ? a[a.length - 1].textContent : '';
      if (t && !seen.has(t)) { seen.add(t); window.__snapshots.push({ t: performance.now(), len: t.length }); }
    });
    obs.observe(document.getElementById('messages'), { childList: true, subtree: true, characterData: true });
  });
  const t0 = Date.now();
  await page.fill('#prompt', prompt);
  await page.click('#send');
  await page.waitForFunction((exp) => {
    const a = document.querySelectorAll('.msg.assistant');
    return a.length > 0 && a[a.length - 1].textContent.includes(exp) && document.body.dataset.loading === 'false';
  }, expected, { timeout: 60000 });
  const ms = Date.now() - t0;
  const assistant = await page.evaluate(() => {
    const a = document.querySelectorAll('.msg.assistant');
    return a[a.length - 1].textContent;
  });
  const user = await page.evaluate(() => document.querySelector('.msg.user')?.textContent);
  const snapshots = await page.evaluate(() => window.__snapshots);
  await page.screenshot({ path: shot, fullPage: true });
  done({ assistant, user, ms, renders: snapshots.length, screenshot: shot, consoleErrors,
    status: await page.textContent('#status') });
} finally {
  await browser.close();
}
