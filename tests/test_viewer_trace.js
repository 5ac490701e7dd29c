// SPDX-License-Identifier: BSD-2-Clause
//
// ui/trace.js on the cases test_viewer_trace.py made: each vector with the
// C library's reading (tests/sexp_dump's output). The reader's output in
// the same layout must equal it byte for byte; "human" and "error" pin
// the expected result for both. Prints PASS/FAIL per vector.
'use strict'

const fs = require('fs')
const trace = require(process.argv[2])
const cases = JSON.parse(fs.readFileSync(process.argv[3], 'utf8'))

// The layout of tests/sexp_dump.
function dump(sexp) {
  let frames
  try {
    frames = trace.parse(sexp)
  } catch (e) {
    if (!(e instanceof trace.SexpError)) throw e
    return 'error ' + e.message + '\n'
  }
  let out = 'ok ' + frames.length + '\n'
  for (const f of frames) {
    out += [f.line, f.chars_start, f.chars_end, f.is_inline ? 1 : 0,
      f.is_raise ? 1 : 0, f.elided, f.name !== null ? 1 : 0].join(' ') + '\n'
  }
  return out + trace.toHuman(frames)
}

function human(out) {
  return out.startsWith('ok ') ? out.split('\n').slice(
    Number(out.split('\n')[0].slice(3)) + 1).join('\n') : null
}

let passed = 0
let failed = 0
for (const c of cases) {
  const js = dump(c.sexp)
  const why = []
  if (js !== c.c) why.push('JS ' + JSON.stringify(js) + ' != C ' + JSON.stringify(c.c))
  if (c.error && !c.c.startsWith('error ')) why.push('C read it')
  if (c.human !== undefined && human(c.c) !== c.human)
    why.push('human ' + JSON.stringify(human(c.c)) + ' != ' + JSON.stringify(c.human))
  if (why.length) {
    failed++
    console.log('FAIL ' + c.what + ': ' + why.join('; ').slice(0, 2000))
  } else {
    passed++
    console.log('PASS ' + c.what)
  }
}
// Bands and the report layout, which the C side has no twin for.
const frames = trace.parse('(((process"FAIL @ h2")(filename a.py)(line 1))' +
  '((process"FAIL @ h2")(filename b.py)(line 2))((process"xbtd @ h1")(filename c.c)(line 3)(is_raise true)))')
const bands = trace.bands(frames)
if (bands.length === 2 && bands[0].process === 'FAIL @ h2' && bands[0].frames.length === 2 &&
    bands[1].first === 3) {
  passed++
  console.log('PASS bands group consecutive frames by process')
} else {
  failed++
  console.log('FAIL bands: ' + JSON.stringify(bands))
}
const report = trace.formatError(['CODE', 'a', '', 'b\u0001'], frames.slice(0, 1))
const want = 'Error code: CODE\nError parameters: a, , b\\x01\nRaised Server_error(CODE, [ a; ; b\\x01 ])\n' +
  'Backtrace:\n1/1 FAIL @ h2 Raised at file "a.py", line 1\n'
if (report === want) {
  passed++
  console.log('PASS formatError lays out as xe --trace')
} else {
  failed++
  console.log('FAIL formatError: ' + JSON.stringify(report))
}
console.log(passed + ' passed, ' + failed + ' failed')
process.exit(failed ? 1 : 0)
