// SPDX-License-Identifier: BSD-2-Clause
//
// What the scripts that drive Xen Orchestra's `xen-api` client share
// (test_xo_client.js, test_xo_pool.js): checks counted and reported as
// `N passed, N failed`, time limits, loading the package installed in
// XO_DIR, and the one way a script ends.
'use strict'

const path = require('path')
const { pathToFileURL } = require('url')

const counts = { passed: 0, failed: 0 }

function check(name, ok, detail) {
  if (ok) {
    counts.passed++
    console.log('PASS ' + name)
  } else {
    counts.failed++
    console.log('FAIL ' + name + (detail === undefined ? '' : ': ' + detail))
  }
}

function within(ms, what, promise) {
  let timer
  return Promise.race([
    promise,
    new Promise((resolve, reject) => {
      timer = setTimeout(() => reject(new Error(what + ': no answer in ' + ms + ' ms')), ms)
    }),
  ]).finally(() => clearTimeout(timer))
}

const sleep = ms => new Promise(resolve => setTimeout(resolve, ms))

// Runs body(createClient) with the installed package, prints the summary
// and exits: the client's keep-alive sockets and a pending event.from
// would keep node alive.
function run(body) {
  const entry = path.join(process.env.XO_DIR, 'node_modules', 'xen-api', 'index.mjs')
  import(pathToFileURL(entry).href)
    .then(({ createClient }) => body(createClient))
    .then(() => {
      console.log(`${counts.passed} passed, ${counts.failed} failed`)
      process.exit(counts.failed ? 1 : 0)
    }, e => {
      console.log('FAIL main: ' + (e && e.stack))
      console.log(`${counts.passed} passed, ${counts.failed + 1} failed`)
      process.exit(1)
    })
}

module.exports = { check, within, sleep, run }
