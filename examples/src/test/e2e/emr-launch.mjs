// Drives the sandbox web EMR in headless Chromium: sign in, Launch the growth chart app (real
// redirects, real PKCE), check the app's banner and context, record a weight, and check that the
// write-back reaches the EMR page. Usage: node emr-launch.mjs <baseUrl> <screenshotDir>
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';

const [base, shots] = process.argv.slice(2);
if (!base || !shots) {
  console.error('usage: node emr-launch.mjs <baseUrl> <screenshotDir>');
  process.exit(2);
}
mkdirSync(shots, { recursive: true });
const fail = (msg) => { console.error('E2E FAIL: ' + msg); process.exitCode = 1; };

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});
try {
  const page = await (await browser.newContext()).newPage();
  page.setDefaultTimeout(20000);
  await page.goto(base + '/emr/');
  // the jurisdictional IdP's sign-in form
  await page.fill('#username', 'clinician');
  await page.fill('#password', 'halo-sandbox');
  await page.click('#sign-in');
  await page.waitForSelector('#patient-name');
  const patient = (await page.textContent('#patient-name')).trim();
  if (patient !== 'Élodie Bouchard') fail('EMR shows patient ' + patient);
  await page.screenshot({ path: shots + '/1-emr-chart.png', fullPage: true });

  await page.click('#launch-growth-chart');
  await page.waitForSelector('#patient-banner');
  const banner = (await page.textContent('#patient-banner')).trim();
  if (!banner.includes('Élodie Bouchard')) fail('app banner is ' + banner);
  const iss = (await page.textContent('#iss')).trim();
  if (!iss.startsWith(base) || !iss.endsWith('/fhir')) fail('app iss is ' + iss);
  const encounter = (await page.textContent('#ctx-encounter')).trim();
  if (encounter === '-' || encounter === '') fail('app has no encounter in context');
  const rows = await page.locator('#observations tr').count();
  if (rows < 2) fail('app shows no observation');
  await page.screenshot({ path: shots + '/2-app-launched.png', fullPage: true });

  await page.fill('#weight', '18.7');
  await page.click('#record-weight');
  await page.waitForSelector('#saved');
  const saved = (await page.textContent('#saved')).trim();
  if (!saved.includes('Observation/')) fail('app did not save: ' + saved);
  await page.screenshot({ path: shots + '/3-app-saved.png', fullPage: true });

  await page.click('#back-to-emr');
  await page.waitForFunction(() =>
    [...document.querySelectorAll('#write-backs li')].some(li => li.textContent.includes('18.7')));
  const wb = (await page.textContent('#write-backs')).trim();
  if (!wb.includes('Patient/emr-pat-1001')) fail('write-back not mapped to the local patient: ' + wb);
  await page.screenshot({ path: shots + '/4-emr-write-back.png', fullPage: true });
  console.log('E2E OK: ' + JSON.stringify({ patient, banner, iss, encounter, saved, writeBack: wb }));
} catch (e) {
  fail(e.stack || String(e));
} finally {
  await browser.close();
}
