// Opens an `affect compare --html` report in headless Debian Chromium (never a downloaded
// browser) and checks what a person would see: no console errors, no network requests,
// a heatmap with exactly runs x labels cells (n/a ones grey), colours that follow the
// documented scale, ROC curves and the size chart, and a layout that holds at 390 px (the
// page itself never scrolls sideways; the heatmap scrolls inside its own box). Saves a
// desktop and a phone screenshot.
//
// usage: node report_check.mjs REPORT.html SHOT_DIR RUNS LABELS NA_CELLS
// Prints one JSON line with what it measured; exits 1 with the failures listed otherwise.
import { chromium } from 'playwright-core';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const [file, shotDir, runsArg, labelsArg, naArg] = process.argv.slice(2);
if (!file || !shotDir || !runsArg || !labelsArg || naArg === undefined) {
  console.error('usage: node report_check.mjs REPORT.html SHOT_DIR RUNS LABELS NA_CELLS');
  process.exit(2);
}
const RUNS = Number(runsArg), LABELS = Number(labelsArg), NA = Number(naArg);
const failures = [];
const check = (cond, msg) => { if (!cond) failures.push(msg); return cond; };

const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'affect-chromium-'));
const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath: '/usr/bin/chromium',
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
         '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  viewport: { width: 1280, height: 900 },
});
const consoleErrors = [], requests = [];
context.on('request', (r) => {
  const u = r.url();
  if (!u.startsWith('file:') && !u.startsWith('data:')) requests.push(u);
});
const result = {};
try {
  const page = context.pages()[0] || await context.newPage();
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()); });
  page.on('pageerror', (e) => consoleErrors.push(String(e)));
  await page.goto(pathToFileURL(path.resolve(file)).href, { waitUntil: 'load' });

  for (const [name, width, height] of [['desktop', 1280, 900], ['phone', 390, 844]]) {
    await page.setViewportSize({ width, height });
    await page.waitForTimeout(100);
    const m = await page.evaluate(() => {
      const cells = [...document.querySelectorAll('[data-cell]')];
      const rgb = (hex) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
      const colourErrors = [];
      for (const g of cells) {
        const fill = g.querySelector('rect').getAttribute('fill');
        const text = g.querySelector('text').textContent;
        const [r, , b] = rgb(fill);
        if (g.dataset.cell === 'na') {
          if (text !== 'n/a' || fill !== '#d0d0d0') colourErrors.push(`n/a cell ${text} ${fill}`);
        } else {
          const v = Number(text);
          if (!(v >= 0 && v <= 1)) colourErrors.push(`cell text ${text}`);
          if (v >= 0.8 && !(b > r)) colourErrors.push(`AUC ${v} should be blue, is ${fill}`);
          if (v <= 0.7 && !(r > b)) colourErrors.push(`AUC ${v} should be red, is ${fill}`);
        }
      }
      const hm = document.querySelector('svg.heatmap');
      const box = hm.parentElement;
      const visible = (sel) => { const e = document.querySelector(sel); if (!e) return false; const r = e.getBoundingClientRect(); return r.width > 0 && r.height > 0; };
      return {
        cells: cells.length,
        na: cells.filter((g) => g.dataset.cell === 'na').length,
        distinctPairs: new Set(cells.map((g) => g.dataset.run + ',' + g.dataset.label)).size,
        svgRuns: Number(hm.dataset.runs), svgLabels: Number(hm.dataset.labels),
        colourErrors,
        pageScrollWidth: document.documentElement.scrollWidth,
        viewport: window.innerWidth,
        heatmapBoxScrolls: box.scrollWidth > box.clientWidth,
        heatmapOverflow: getComputedStyle(box).overflowX,
        bodyFontPx: parseFloat(getComputedStyle(document.body).fontSize),
        rocCurves: document.querySelectorAll('polyline.roc-curve').length,
        rocPoints: [...document.querySelectorAll('polyline.roc-curve')].map((p) => p.getAttribute('points').trim().split(/\s+/).length),
        scatterPoints: document.querySelectorAll('g.point').length,
        paretoPoints: document.querySelectorAll('g.point[data-pareto="1"]').length,
        tableRows: document.querySelectorAll('table.runs tbody tr').length,
        visible: ['#summary', 'table.runs', 'svg.heatmap', 'svg.roc', 'svg.scatter'].every(visible),
        viewportMeta: !!document.querySelector('meta[name=viewport]'),
        scripts: document.scripts.length,
        external: [...document.querySelectorAll('[src],[href],link')].length,
      };
    });
    result[name] = m;
    check(m.cells === RUNS * LABELS, `${name}: ${m.cells} heatmap cells, expected ${RUNS}x${LABELS}`);
    check(m.distinctPairs === RUNS * LABELS, `${name}: ${m.distinctPairs} distinct (run,label) cells`);
    check(m.svgRuns === RUNS && m.svgLabels === LABELS, `${name}: heatmap says ${m.svgRuns}x${m.svgLabels}`);
    check(m.na === NA, `${name}: ${m.na} n/a cells, expected ${NA}`);
    check(m.colourErrors.length === 0, `${name}: colour scale: ${m.colourErrors.slice(0, 5).join('; ')}`);
    check(m.pageScrollWidth <= m.viewport + 1, `${name}: the page scrolls sideways (${m.pageScrollWidth} > ${m.viewport})`);
    check(m.heatmapOverflow === 'auto', `${name}: heatmap box overflow-x is ${m.heatmapOverflow}`);
    check(m.bodyFontPx >= 14, `${name}: body font ${m.bodyFontPx}px`);
    check(m.rocCurves >= 1 && m.rocPoints.every((n) => n >= 3), `${name}: ROC curves ${m.rocCurves} ${m.rocPoints}`);
    check(m.scatterPoints === RUNS && m.paretoPoints >= 1, `${name}: scatter ${m.scatterPoints} points, ${m.paretoPoints} on the front`);
    check(m.tableRows === RUNS, `${name}: ${m.tableRows} table rows`);
    check(m.visible, `${name}: a section is not rendered`);
    check(m.viewportMeta && m.scripts === 0 && m.external === 0, `${name}: viewport/scripts/external refs ${m.viewportMeta} ${m.scripts} ${m.external}`);
    if (name === 'phone') check(m.heatmapBoxScrolls, 'phone: the heatmap should scroll inside its box at 390 px');
    fs.mkdirSync(shotDir, { recursive: true });
    await page.screenshot({ path: path.join(shotDir, `report-${name}.png`), fullPage: true });
  }
  // a phone user scrolls the heatmap to its right end: the last column must be reachable
  await page.evaluate(() => { const b = document.querySelector('svg.heatmap').parentElement; b.scrollLeft = b.scrollWidth; });
  const lastVisible = await page.evaluate(() => {
    const cells = document.querySelectorAll('[data-cell]');
    const r = cells[cells.length - 1].getBoundingClientRect();
    return r.right <= window.innerWidth + 1 && r.left >= 0;
  });
  check(lastVisible, 'phone: the last heatmap column cannot be scrolled into view');
  await page.locator('svg.heatmap').screenshot({ path: path.join(shotDir, 'heatmap-phone-scrolled.png') });
} catch (e) {
  failures.push(`browser run failed: ${e && e.stack ? e.stack : e}`);
} finally {
  await context.close();
  fs.rmSync(userDataDir, { recursive: true, force: true });
}
check(consoleErrors.length === 0, `console errors: ${consoleErrors.join(' | ')}`);
check(requests.length === 0, `network requests: ${requests.join(' ')}`);
result.consoleErrors = consoleErrors;
result.requests = requests;
console.log(JSON.stringify(result));
if (failures.length) {
  for (const f of failures) console.error('FAIL:', f);
  process.exit(1);
}
