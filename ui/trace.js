// SPDX-License-Identifier: BSD-2-Clause
//
// The task's backtrace, read as xbtd's C library reads it (api/sexp.c) and
// printed as `xe --trace` prints it (api/human.c, cli/output.c), byte for
// byte: doc/design.md, "The viewer". The viewer ships with xbtd, so it may
// parse the string that other clients must treat as opaque. Atoms are bytes
// (the sexp quotes bytes 127-255 as \DDD), so the reader works on the UTF-8
// bytes of the string and turns each atom into safe text the way the C
// side prints it (invalid UTF-8, controls, TAB, LF and CR become \xNN).
// tests/test_viewer_trace.py checks it against the C library on the
// vectors of tests/vectors/backtrace_sexp.json.
'use strict';

(function (root) {
  const MAX_ATOM = 4096; // XBT_MAX_ATOM: longer strings are cut
  const MAX_INPUT = 1024 * 1024; // XBT_MAX_SEXP_INPUT
  const INT_MAX = 2147483647;
  const FIELDS = ['process', 'filename', 'line', 'chars_start', 'chars_end',
    'name', 'is_inline', 'is_raise'];
  const HEX = '0123456789abcdef';

  const encoder = new TextEncoder();
  const decoder = new TextDecoder('utf-8');

  // Length of the valid UTF-8 sequence at b[i] that XML can carry, or 0
  // (api/text.c, text_valid_seq).
  function validSeq(b, i) {
    const c = b[i];
    let need;
    let cp;
    if (c < 0x80) return c >= 0x20 || c === 9 || c === 10 || c === 13 ? 1 : 0;
    if (c >= 0xc2 && c <= 0xdf) { need = 2; cp = c & 0x1f; }
    else if (c >= 0xe0 && c <= 0xef) { need = 3; cp = c & 0x0f; }
    else if (c >= 0xf0 && c <= 0xf4) { need = 4; cp = c & 0x07; }
    else return 0;
    if (b.length - i < need) return 0;
    for (let k = 1; k < need; k++) {
      if ((b[i + k] & 0xc0) !== 0x80) return 0;
      cp = (cp << 6) | (b[i + k] & 0x3f);
    }
    if ((need === 3 && cp < 0x800) || (need === 4 && cp < 0x10000) ||
        (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff ||
        cp === 0xfffe || cp === 0xffff) return 0;
    return need;
  }

  // Bytes as xbt_buf_add_safe writes them; lineBreaks: TAB, LF and CR
  // escaped too (human_str, one line per frame).
  function safeBytes(b, lineBreaks) {
    let out = '';
    let i = 0;
    while (i < b.length) {
      let run = i;
      let k;
      while (run < b.length && (k = validSeq(b, run)) &&
             !(lineBreaks && (b[run] === 9 || b[run] === 10 || b[run] === 13)))
        run += k;
      out += decoder.decode(b.subarray(i, run));
      i = run;
      if (i < b.length) {
        out += '\\x' + HEX[b[i] >> 4] + HEX[b[i] & 15];
        i++;
      }
    }
    return out;
  }

  // A string from the server, printed as xe prints it (add_text).
  function safeText(s) {
    return safeBytes(encoder.encode(String(s)), false);
  }

  class SexpError extends Error {}

  function isDigit(c) { return c >= 0x30 && c <= 0x39; }
  function hexVal(c) {
    if (isDigit(c)) return c - 0x30;
    if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
    if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
    return -1;
  }

  // The reader of api/sexp.c, step for step.
  class Reader {
    constructor(bytes) { this.s = bytes; this.pos = 0; }
    fail(why) { throw new SexpError(why + ' at byte ' + this.pos); }
    blank() {
      const s = this.s;
      while (this.pos < s.length) {
        const c = s[this.pos];
        if (c === 32 || c === 9 || c === 10 || c === 13 || c === 12) {
          this.pos++;
        } else if (c === 0x3b) {
          while (this.pos < s.length && s[this.pos] !== 10) this.pos++;
        } else {
          break;
        }
      }
    }
    expect(c, why) {
      this.blank();
      if (this.pos >= this.s.length || this.s[this.pos] !== c) this.fail(why);
      this.pos++;
    }
    peek(c) {
      this.blank();
      return this.pos < this.s.length && this.s[this.pos] === c;
    }
    escape(atom) {
      const s = this.s;
      if (this.pos >= s.length) this.fail('unterminated string');
      const c = s[this.pos++];
      const simple = { 0x6e: 10, 0x74: 9, 0x72: 13, 0x62: 8,
        0x5c: 0x5c, 0x22: 0x22, 0x27: 0x27, 0x20: 0x20 };
      if (c in simple) {
        atom.push(simple[c]);
      } else if (c === 10) {
        while (this.pos < s.length && (s[this.pos] === 32 || s[this.pos] === 9))
          this.pos++;
      } else if (c === 0x78) {
        if (this.pos + 2 > s.length || hexVal(s[this.pos]) < 0 ||
            hexVal(s[this.pos + 1]) < 0) this.fail('bad \\x escape');
        atom.push(hexVal(s[this.pos]) * 16 + hexVal(s[this.pos + 1]));
        this.pos += 2;
      } else if (isDigit(c)) {
        if (this.pos + 2 > s.length || !isDigit(s[this.pos]) ||
            !isDigit(s[this.pos + 1])) this.fail('bad decimal escape');
        const v = (c - 0x30) * 100 + (s[this.pos] - 0x30) * 10 +
          (s[this.pos + 1] - 0x30);
        if (v > 255) this.fail('decimal escape above 255');
        atom.push(v);
        this.pos += 2;
      } else {
        this.fail('unknown escape');
      }
    }
    // One atom, as a Uint8Array.
    atom() {
      const s = this.s;
      this.blank();
      if (this.pos >= s.length) this.fail('unexpected end of input');
      if (s[this.pos] === 0x22) {
        const atom = [];
        this.pos++;
        for (;;) {
          if (this.pos >= s.length) this.fail('unterminated string');
          const c = s[this.pos++];
          if (c === 0x22) break;
          if (c === 0x5c) this.escape(atom);
          else atom.push(c);
        }
        return Uint8Array.from(atom);
      }
      const start = this.pos;
      while (this.pos < s.length) {
        const c = s[this.pos];
        if (c === 0x28 || c === 0x29 || c === 0x22 || c === 0x3b || c === 32 ||
            c === 9 || c === 10 || c === 13 || c === 12) break;
        if (c === 0) this.fail('NUL byte outside quotes');
        if (c === 0x5c) this.fail('backslash outside quotes');
        if (this.pos > start && ((c === 0x7c && s[this.pos - 1] === 0x23) ||
                                 (c === 0x23 && s[this.pos - 1] === 0x7c)))
          this.fail('block comment marker in atom');
        this.pos++;
      }
      if (this.pos === start)
        this.fail(s[this.pos] === 0x28 ? 'list where an atom was expected'
          : 'expected an atom');
      return s.slice(start, this.pos);
    }
  }

  function text(a) { return decoder.decode(a); }

  function readInt(r, a) {
    const neg = a[0] === 0x2d;
    let i = neg ? 1 : 0;
    let v = 0;
    if (a.length <= i) r.fail('expected an integer');
    for (; i < a.length; i++) {
      if (!isDigit(a[i])) r.fail('expected an integer');
      v = v * 10 + (a[i] - 0x30);
      if (v > INT_MAX + 1) r.fail('integer out of range');
    }
    if (neg) r.fail('negative line or character position');
    if (v > INT_MAX) r.fail('integer out of range');
    return v;
  }

  function readBool(r, a) {
    const t = a.length === 4 || a.length === 5 ? text(a) : '';
    if (t === 'true') return true;
    if (t === 'false') return false;
    return r.fail('expected true or false');
  }

  // A string field as the C library keeps it (cut to MAX_ATOM on a UTF-8
  // boundary, then at a NUL: a C string) and prints it.
  function field(a) {
    let len = a.length;
    if (len > MAX_ATOM) {
      len = MAX_ATOM;
      while (len > 0 && (a[len] & 0xc0) === 0x80) len--;
    }
    const nul = a.subarray(0, len).indexOf(0);
    return safeBytes(a.subarray(0, nul < 0 ? len : nul), true);
  }

  // "(N frames elided)" at line 0 stands for N dropped frames.
  function elided(filename, line) {
    const m = /^\(([0-9]+) frames elided\)$/.exec(filename);
    return line === 0 && m ? Number(m[1]) : 0;
  }

  function readFrame(r) {
    const f = { process: '', filename: '', line: 0, chars_start: 0,
      chars_end: 0, name: null, is_inline: false, is_raise: false,
      elided: 0 };
    const seen = {};
    r.expect(0x28, 'expected a frame');
    while (!r.peek(0x29)) {
      r.expect(0x28, 'expected a (field value) pair');
      const key = r.atom();
      const k = FIELDS.indexOf(text(key));
      if (k < 0 || encoder.encode(FIELDS[k]).length !== key.length)
        r.fail('unknown field');
      const name = FIELDS[k];
      if (seen[name]) r.fail('duplicate field');
      seen[name] = true;
      const v = r.atom();
      if (name === 'process' || name === 'filename' || name === 'name')
        f[name] = field(v);
      else if (name === 'is_inline' || name === 'is_raise')
        f[name] = readBool(r, v);
      else
        f[name] = readInt(r, v);
      r.expect(0x29, 'expected ) after a field value');
    }
    r.pos++;
    if (!seen.process || !seen.filename || !seen.line)
      r.fail('frame lacks process, filename or line');
    f.elided = elided(f.filename, f.line);
    return f;
  }

  // The frames of a backtrace string, innermost first; throws SexpError.
  function parse(str) {
    const r = new Reader(encoder.encode(String(str)));
    const frames = [];
    if (r.s.length > MAX_INPUT) r.fail('input too large');
    r.expect(0x28, 'expected ( at the start');
    while (!r.peek(0x29)) {
      if (r.pos >= r.s.length) r.fail('unbalanced parentheses');
      frames.push(readFrame(r));
    }
    r.pos++;
    r.blank();
    if (r.pos !== r.s.length) r.fail('trailing bytes after the backtrace');
    return frames;
  }

  function verb(f, index) {
    return index === 1 ? 'Raised at' : f.is_raise ? 'Re-raised at'
      : 'Called from';
  }

  // One frame as xbt_frame_to_human writes it (index from 1).
  function frameToHuman(f, index, total) {
    let s = index + '/' + total + ' ' + f.process + ' ' + verb(f, index) + ' ';
    if (f.name !== null) s += f.name + ' in ';
    s += 'file "' + f.filename + '"';
    if (f.is_inline) s += ' (inlined)';
    s += ', line ' + f.line;
    if (f.chars_start > 0) s += ', characters ' + f.chars_start + '-' + f.chars_end;
    return s + '\n';
  }

  function toHuman(frames) {
    return frames.map((f, i) => frameToHuman(f, i + 1, frames.length)).join('');
  }

  // `xe ... --trace`'s report of a failed task (cli/output.c,
  // xe_format_error): errorInfo is the task's error_info.
  function formatError(errorInfo, frames) {
    const code = safeText(errorInfo.length ? errorInfo[0] : '');
    const params = errorInfo.slice(1).map(safeText);
    return 'Error code: ' + code + '\nError parameters: ' + params.join(', ') +
      '\nRaised Server_error(' + code + ', [ ' + params.join('; ') +
      ' ])\nBacktrace:\n' + toHuman(frames);
  }

  // Consecutive frames of one process (and host) as bands, innermost
  // first: [{process, first: index from 1, frames}].
  function bands(frames) {
    const out = [];
    frames.forEach((f, i) => {
      const last = out[out.length - 1];
      if (last && last.process === f.process) last.frames.push(f);
      else out.push({ process: f.process, first: i + 1, frames: [f] });
    });
    return out;
  }

  const api = { parse, toHuman, frameToHuman, formatError, bands, verb,
    safeText, SexpError };
  if (typeof module === 'object' && module.exports) module.exports = api;
  else root.XbtTrace = api;
})(typeof globalThis !== 'undefined' ? globalThis : this);
