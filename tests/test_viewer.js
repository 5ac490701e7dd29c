// SPDX-License-Identifier: BSD-2-Clause
//
// The viewer in headless Chromium through puppeteer-core (run by
// test_viewer.py: PPTR_DIR where puppeteer-core is installed, XBT_URL the
// xbtd on tests/worlds/viewer.xml, XE the built xe, SHOTS where the
// screenshots go; SCREENSHOT, when set, where the README's goes).
// Prints PASS/FAIL lines and `N passed, N failed`.
'use strict'

const path = require('path')
const { execFile } = require('child_process')
const puppeteer = require(path.join(process.env.PPTR_DIR, 'node_modules', 'puppeteer-core'))

const URL = process.env.XBT_URL
const SHOTS = process.env.SHOTS
const XSS = '<img src=x onerror=alert(1)>'
let passed = 0
let failed = 0
const consoleErrors = []

function check(name, ok, detail) {
  if (ok) {
    passed++
    console.log('PASS ' + name)
  } else {
    failed++
    console.log('FAIL ' + name + (detail === undefined ? '' : ': ' + String(detail).slice(0, 3000)))
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms))

function xe(...args) {
  return new Promise((resolve) => {
    execFile(process.env.XE, [...args, '-p', process.env.XBT_PORT, '-pw', 'xbt'],
      { timeout: 60000 }, (err, stdout, stderr) =>
        resolve({ status: err ? err.code : 0, stdout, stderr }))
  })
}

async function rpc(method, params) {
  const r = await fetch(URL + '/jsonrpc', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', method, params, id: 1 }),
  })
  return r.json()
}

// Clicks in the page in one step: rows are redrawn on every event, so an
// element handle may be gone between finding and clicking it.
function click(page, selector) {
  return page.$eval(selector, (e) => e.click())
}

async function shot(page, name) {
  await page.screenshot({ path: path.join(SHOTS, name + '.png') })
}

async function login(page) {
  await page.waitForSelector('#password', { visible: true })
  await page.type('#password', 'xbt')
  await page.click('#login-button')
  await page.waitForSelector('#vm-table tr[data-vm="demo-fail"]', { visible: true, timeout: 10000 })
}

// The uuids of the task rows with this status.
function rows(page, status) {
  return page.$$eval('#task-table tbody tr[data-status="' + status + '"]',
    (trs) => trs.map((tr) => tr.dataset.uuid))
}

async function openTask(page, uuid) {
  await click(page, '#task-table tr[data-uuid="' + uuid + '"] a')
  await page.waitForFunction((u) => !document.getElementById('detail').hidden &&
    document.querySelector('#detail-fields dd') &&
    document.querySelector('#detail-fields dd').textContent === u, { timeout: 5000 }, uuid)
}

async function main() {
  const browser = await puppeteer.launch({
    executablePath: process.env.CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run'],
  })
  const page = await browser.newPage()
  await page.setViewport({ width: 1280, height: 800 })
  let dialogs = 0
  let sessionRef = null
  page.on('console', (m) => { if (m.type() === 'error') consoleErrors.push(m.text()) })
  page.on('pageerror', (e) => consoleErrors.push(String(e)))
  page.on('dialog', async (d) => { dialogs++; await d.dismiss() })
  page.on('request', (r) => {
    if (!r.url().endsWith('/jsonrpc') || !r.postData()) return
    try {
      const b = JSON.parse(r.postData())
      if (b.method === 'event.from') sessionRef = b.params[0]
      if (b.method === 'session.login_with_password') {
        check('logs in with the originator xbt-viewer',
          b.params.length === 4 && b.params[3] === 'xbt-viewer', JSON.stringify(b.params.slice(2)))
      }
    } catch (e) {}
  })

  try {
    // ---- log-in
    await page.goto(URL + '/', { waitUntil: 'load' })
    check('the log-in form is shown first', await page.$eval('#login', (e) => !e.hidden))
    await login(page)
    const vmNames = await page.$$eval('#vm-table tbody tr', (trs) => trs.map((t) => t.dataset.vm))
    check('logged in: the VMs are listed', vmNames.includes('demo-fail') && vmNames.includes('slow'),
      JSON.stringify(vmNames))
    await page.evaluate(() => { window.xbtNoReload = true })

    // ---- demo-fail from the page: the failed task within 2 s, no reload
    const before = await rows(page, 'failure')
    const t0 = Date.now()
    await click(page, '#vm-table tr[data-vm="demo-fail"] button[data-action="start"]')
    let failUuid = null
    try {
      await page.waitForFunction((n) =>
        document.querySelectorAll('#task-table tbody tr[data-status="failure"]').length > n,
      { timeout: 10000, polling: 20 }, before.length)
      failUuid = (await rows(page, 'failure')).find((u) => !before.includes(u))
    } catch (e) {}
    const took = Date.now() - t0
    check('demo-fail started from the page fails, shown within 2 s', failUuid && took <= 2000,
      took + ' ms')
    check('no reload while following', await page.evaluate(() => window.xbtNoReload === true))
    if (failUuid) {
      await openTask(page, failUuid)
      const bands = await page.$$eval('#trace-table tbody.band', (b) => b.map((x) => x.dataset.process))
      check('trace bands: the plugin first, xbt-opsd, then xbtd last',
        bands.length === 3 && bands[0] === 'FAIL @ h1' && bands[1] === 'xbt-opsd @ h1' &&
        bands[2] === 'xbtd @ h1', JSON.stringify(bands))
      const marks = await page.evaluate(() => ({
        raise: document.querySelectorAll('#trace-table tr.raise').length,
        reraise: document.querySelectorAll('#trace-table tr.reraise').length,
        crossings: document.querySelectorAll('#trace-table .crossing').length,
        files: [...document.querySelectorAll('#trace-table tr.raise td')].map((td) => td.textContent),
        code: document.getElementById('error-code').textContent,
      }))
      check('one raise, re-raises and two crossings marked, files and lines shown',
        marks.raise === 1 && marks.reraise >= 2 && marks.crossings === 2 &&
        /FAILSR$/.test(marks.files[3]) && /^[0-9]+$/.test(marks.files[4]), JSON.stringify(marks))
      check('the error code is shown', marks.code === 'SR_BACKEND_FAILURE_46', marks.code)
      await shot(page, 'demo-fail')
      if (process.env.SCREENSHOT) {
        await page.setViewport({ width: 1280, height: 900 })
        await page.screenshot({ path: process.env.SCREENSHOT })
        await page.setViewport({ width: 1280, height: 800 })
      }

      // ---- "copy as text" is xe --trace's report, byte for byte
      const text = await page.$eval('#trace-text', (e) => e.textContent)
      await click(page, '#copy')
      await page.waitForFunction(() => document.getElementById('copy-note').textContent !== '')
      const r = await xe('vm-start', 'vm=demo-fail', '--trace')
      const xeText = r.stderr.includes('Error code: ') ? r.stderr : r.stdout
      check('"copy as text" equals xe vm-start --trace for the same failure, byte for byte',
        r.status !== 0 && text === xeText && text.startsWith('Error code: SR_BACKEND_FAILURE_46\n'),
        JSON.stringify({ status: r.status, page: text, xe: xeText }))
    }

    // ---- a pending task's progress bar moves
    const seen = []
    await click(page, '#vm-table tr[data-vm="slow"] button[data-action="start"]')
    const until = Date.now() + 20000
    let slowUuid = null
    while (Date.now() < until) {
      const v = await page.evaluate(() => {
        const tr = document.querySelector('#task-table tbody tr[data-status="pending"]')
        const bar = tr && tr.querySelector('progress')
        return bar ? { uuid: tr.dataset.uuid, value: bar.value } : null
      })
      if (v) {
        slowUuid = v.uuid
        if (!seen.includes(v.value)) seen.push(v.value)
        if (seen.length === 2) await shot(page, 'progress')
      } else if (slowUuid) {
        break
      }
      await sleep(50)
    }
    const inner = seen.filter((v) => v > 0 && v < 1)
    check('a pending task\'s progress bar moves without a reload',
      inner.length >= 2 && seen.every((v, i) => i === 0 || v > seen[i - 1]), JSON.stringify(seen))
    const slowState = await page.$$eval('#vm-table tr[data-vm="slow"] .power', (t) => t[0].textContent)
    check('the VM list follows: slow is Running', slowState === 'Running', slowState)

    // ---- the XSS payload is text
    const beforeX = await rows(page, 'failure')
    await click(page, '#vm-table tr[data-vm="xss"] button[data-action="start"]')
    await page.waitForFunction((n) =>
      document.querySelectorAll('#task-table tbody tr[data-status="failure"]').length > n,
    { timeout: 10000 }, beforeX.length)
    await page.type('#filter-text', 'onerror')
    const xssRows = await rows(page, 'failure')
    check('the text filter finds the task by its error', xssRows.length === 1, JSON.stringify(xssRows))
    await openTask(page, xssRows[0])
    await sleep(300)
    const xss = await page.evaluate(() => ({
      params: [...document.querySelectorAll('#error-params li')].map((li) => li.textContent),
      imgs: document.querySelectorAll('main img').length,
      text: document.getElementById('trace-text').textContent,
    }))
    check('a plugin\'s HTML error text is shown literally, no element made',
      xss.params.includes(XSS) && xss.imgs === 0 && xss.text.includes(XSS), JSON.stringify(xss))
    check('no dialog was raised', dialogs === 0, dialogs)
    await shot(page, 'xss')
    await page.$eval('#filter-text', (e) => { e.value = '' })
    await page.select('#filter-status', 'failure')
    const statuses = await page.$$eval('#task-table tbody tr', (trs) => trs.map((t) => t.dataset.status))
    check('the status filter keeps failures only',
      statuses.length >= 2 && statuses.every((s) => s === 'failure'), JSON.stringify(statuses))
    await page.select('#filter-status', '')

    // ---- narrow window
    await page.setViewport({ width: 400, height: 800 })
    await sleep(200)
    const width = await page.evaluate(() => document.documentElement.scrollWidth)
    check('usable on a narrow window: nothing wider than 400 px', width <= 400, width)
    await shot(page, 'narrow')
    await page.setViewport({ width: 1280, height: 800 })

    // ---- the deep link opens the task (a new page load: log in again)
    if (failUuid) {
      await page.goto('about:blank')
      await page.goto(URL + '/#task=' + failUuid, { waitUntil: 'load' })
      await login(page)
      // A generous bound: the full suite loads the machine.
      await page.waitForFunction(() => document.querySelectorAll('#trace-table tbody.band').length > 0,
        { timeout: 20000 }).catch(() => {})
      const d = await page.evaluate(() => ({
        hidden: document.getElementById('detail').hidden,
        uuid: document.querySelector('#detail-fields dd') && document.querySelector('#detail-fields dd').textContent,
        bands: document.querySelectorAll('#trace-table tbody.band').length,
      }))
      check('the deep link #task=<uuid> opens the task', !d.hidden && d.uuid === failUuid && d.bands === 3,
        JSON.stringify(d))
      await shot(page, 'deep-link')
    }

    // ---- SESSION_INVALID returns to the log-in form
    const ref = sessionRef
    const out = await rpc('session.logout', [ref])
    check('another client logs the page\'s session out', out.result === '', JSON.stringify(out))
    // The next call, or the parked event.from, gets SESSION_INVALID.
    await click(page, '#vm-table tr[data-vm="demo-ok"] button[data-action="start"]').catch(() => {})
    let back = false
    try {
      await page.waitForSelector('#login', { visible: true, timeout: 10000 })
      back = await page.$eval('#app', (e) => e.hidden)
    } catch (e) {}
    check('SESSION_INVALID returns to the log-in form', back)
    await shot(page, 'session-invalid')

    check('no console errors', consoleErrors.length === 0, JSON.stringify(consoleErrors))
  } finally {
    await browser.close()
  }
}

main().catch((e) => {
  failed++
  console.log('FAIL the browser run: ' + (e && e.stack || e))
  console.log('console errors: ' + JSON.stringify(consoleErrors))
}).finally(() => {
  console.log(passed + ' passed, ' + failed + ' failed')
  process.exit(failed ? 1 : 0)
})
