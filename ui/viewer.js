// SPDX-License-Identifier: BSD-2-Clause
//
// The task and trace viewer (doc/design.md, "The viewer"): a XenAPI client
// over JSON-RPC on the page's own origin. It logs in (originator
// xbt-viewer; the session lives in this page only), follows task, VM and
// host with event.from (never polling), and shows tasks, VMs and a failed
// task's backtrace. Everything from the server is inserted as text
// (textContent, never HTML): plugin output is attacker-controlled.
'use strict';

(function () {
  const CLASSES = ['task', 'VM', 'host'];
  const EVENT_TIMEOUT = 30.0; // s: event.from's wait; it answers at once on a change
  const RETRY_MS = 2000; // after a failure of the connection itself
  const NULL_REF = 'OpaqueRef:NULL';
  const T = window.XbtTrace;

  const $ = (id) => document.getElementById(id);
  const el = {
    status: $('status'), logout: $('logout'), login: $('login'),
    form: $('login-form'), user: $('user'), password: $('password'),
    loginError: $('login-error'), app: $('app'),
    vmBody: document.querySelector('#vm-table tbody'),
    taskBody: document.querySelector('#task-table tbody'),
    filterStatus: $('filter-status'), filterText: $('filter-text'),
    detail: $('detail'), detailH: $('detail-h'), fields: $('detail-fields'),
    errorBlock: $('error-block'), errorCode: $('error-code'),
    errorParams: $('error-params'), traceTable: $('trace-table'),
    traceText: $('trace-text'), unreadable: $('trace-unreadable'),
    copy: $('copy'), copyNote: $('copy-note'),
  };

  let session = null;
  let token = '';
  let generation = 0; // bumped on log-in, log-out and reload: old loops stop
  const tasks = new Map();
  const vms = new Map();
  const hosts = new Map();
  let selected = null; // uuid of the task shown

  // An element with text children only: data never becomes HTML.
  function h(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === 'class') e.className = v;
      else e.setAttribute(k, v);
    }
    for (const c of children) {
      if (c === null || c === undefined) continue;
      e.append(typeof c === 'string' || typeof c === 'number'
        ? document.createTextNode(String(c)) : c);
    }
    return e;
  }

  function setStatus(text) { el.status.textContent = text; }

  class XenAPIError extends Error {
    constructor(code, params) {
      super(code + ' ' + JSON.stringify(params));
      this.code = code;
      this.params = params;
    }
  }

  let rpcId = 0;
  async function rpc(method, params) {
    const r = await fetch('/jsonrpc', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', method, params, id: ++rpcId }),
      cache: 'no-store',
    });
    if (!r.ok) throw new Error('HTTP ' + r.status);
    const j = await r.json();
    if (j.error) throw new XenAPIError(String(j.error.message), j.error.data || []);
    return j.result;
  }

  // A call with the session; SESSION_INVALID ends it here.
  async function call(method, ...params) {
    const s = session;
    try {
      return await rpc(method, [s, ...params]);
    } catch (e) {
      // Only for the current session: not after a log-out of our own.
      if (e.code === 'SESSION_INVALID' && s && s === session)
        showLogin('The session ended: log in again.');
      throw e;
    }
  }

  // ---- log-in ----------------------------------------------------------

  // doc/pools.md: a slave answers HOST_IS_SLAVE [master address]; the
  // page cannot call another origin (connect-src 'self'), so it moves
  // there, same port and deep link.
  function followMaster(address) {
    if (!/^[A-Za-z0-9.:-]{1,255}$/.test(address)) return false;
    const host = address.includes(':') ? '[' + address + ']' : address;
    const port = location.port ? ':' + location.port : '';
    location.assign(location.protocol + '//' + host + port + '/' + location.hash);
    return true;
  }

  async function login(ev) {
    ev.preventDefault();
    el.loginError.textContent = '';
    try {
      session = await rpc('session.login_with_password',
        [el.user.value, el.password.value, '1.0', 'xbt-viewer']);
    } catch (e) {
      if (e.code === 'HOST_IS_SLAVE' && followMaster(String(e.params[0] || ''))) {
        el.loginError.textContent = 'This host is a pool slave: going to its master ' +
          e.params[0] + '.';
        return;
      }
      el.loginError.textContent = e.code === 'SESSION_AUTHENTICATION_FAILED'
        ? 'Wrong user or password.' : 'Log-in failed: ' + e.message;
      return;
    }
    el.password.value = '';
    el.login.hidden = true;
    el.app.hidden = false;
    el.logout.hidden = false;
    reload();
  }

  function showLogin(why) {
    generation++;
    session = null;
    el.app.hidden = true;
    el.logout.hidden = true;
    el.login.hidden = false;
    el.loginError.textContent = why || '';
    setStatus('');
    el.password.focus();
  }

  // Logs out without waiting (the page may be going away).
  function logoutNow() {
    if (!session) return;
    const body = JSON.stringify({ jsonrpc: '2.0', method: 'session.logout',
      params: [session], id: ++rpcId });
    session = null;
    fetch('/jsonrpc', { method: 'POST', keepalive: true, body,
      headers: { 'Content-Type': 'application/json' } }).catch(() => {});
  }

  // ---- events ----------------------------------------------------------

  // Everything again from an empty token: event.from answers with every
  // object of the classes (after EVENTS_LOST too).
  function reload() {
    generation++;
    token = '';
    tasks.clear();
    vms.clear();
    hosts.clear();
    follow(generation);
  }

  function apply(events) {
    for (const e of events) {
      // Events name classes in lower case ("vm"), as xapi's do.
      const cls = String(e.class).toLowerCase();
      const map = cls === 'task' ? tasks : cls === 'vm' ? vms
        : cls === 'host' ? hosts : null;
      if (!map) continue;
      if (e.operation === 'del') map.delete(e.ref);
      else if (e.snapshot) map.set(e.ref, e.snapshot);
    }
  }

  async function follow(gen) {
    setStatus('Connected: following tasks, VMs and hosts.');
    while (gen === generation && session) {
      let res;
      try {
        res = await call('event.from', CLASSES, token, EVENT_TIMEOUT);
      } catch (e) {
        if (gen !== generation) return;
        if (e.code === 'SESSION_INVALID') return;
        if (e.code === 'EVENTS_LOST') {
          setStatus('Events were lost: reloading everything.');
          reload();
          return;
        }
        setStatus('Connection trouble (' + e.message + '): retrying.');
        await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
        continue;
      }
      if (gen !== generation) return;
      apply(res.events || []);
      token = res.token;
      setStatus('Connected: following tasks, VMs and hosts.');
      render();
    }
  }

  // ---- rendering -------------------------------------------------------

  // "20260101T12:00:00Z" as "2026-01-01 12:00:00Z"; never is "".
  function when(d) {
    const m = /^(\d{4})(\d\d)(\d\d)T(\d\d:\d\d:\d\d)(Z?)$/.exec(String(d || ''));
    if (!m || m[1] === '1970') return '';
    return m[1] + '-' + m[2] + '-' + m[3] + ' ' + m[4] + m[5];
  }

  function hostName(ref) {
    const host = hosts.get(ref);
    return host ? host.name_label : ref && ref !== NULL_REF ? ref : '';
  }

  function render() {
    renderVMs();
    renderTasks();
    renderDetail();
  }

  function renderVMs() {
    const rows = [...vms.entries()]
      .filter(([, v]) => !v.is_a_template && !v.is_control_domain)
      .sort((a, b) => String(a[1].name_label).localeCompare(String(b[1].name_label)));
    el.vmBody.replaceChildren(...rows.map(([ref, v]) => {
      const start = h('button', { type: 'button', 'data-action': 'start',
        'aria-label': 'Start ' + v.name_label }, 'Start');
      const stop = h('button', { type: 'button', 'data-action': 'shutdown',
        'aria-label': 'Shut down ' + v.name_label }, 'Shutdown');
      start.disabled = v.power_state !== 'Halted';
      stop.disabled = v.power_state !== 'Running';
      start.addEventListener('click', () => vmAction('Async.VM.start', ref, false, false));
      stop.addEventListener('click', () => vmAction('Async.VM.clean_shutdown', ref));
      return h('tr', { 'data-vm': v.name_label },
        h('th', { scope: 'row' }, v.name_label),
        h('td', { class: 'power' }, v.power_state),
        h('td', null, hostName(v.resident_on)),
        h('td', null, start, ' ', stop));
    }));
  }

  async function vmAction(method, ...params) {
    try {
      await call(method, ...params);
    } catch (e) {
      if (e.code !== 'SESSION_INVALID') setStatus(method + ' failed: ' + e.message);
    }
  }

  function taskMatches(t) {
    const status = el.filterStatus.value;
    if (status && t.status !== status) return false;
    const q = el.filterText.value.trim().toLowerCase();
    if (!q) return true;
    return [t.name_label, t.uuid, t.status, hostName(t.resident_on),
      ...(t.error_info || [])].some((s) => String(s).toLowerCase().includes(q));
  }

  function renderTasks() {
    const rows = [...tasks.values()].filter(taskMatches)
      .sort((a, b) => String(b.created).localeCompare(String(a.created)) ||
        String(a.uuid).localeCompare(String(b.uuid)));
    el.taskBody.replaceChildren(...rows.map((t) => {
      const pct = Math.round(Number(t.progress) * 100);
      const bar = t.status === 'pending'
        ? h('progress', { max: '1', value: String(Number(t.progress) || 0),
          'aria-label': 'Progress of ' + t.name_label }) : null;
      const link = h('a', { href: '#task=' + t.uuid }, t.name_label);
      const tr = h('tr', { 'data-uuid': t.uuid, 'data-status': t.status },
        h('th', { scope: 'row' }, link),
        h('td', { class: 'status-' + t.status }, t.status),
        h('td', { class: 'progress' }, bar, bar ? ' ' : null, pct + '%'),
        h('td', null, when(t.created)),
        h('td', null, when(t.finished)),
        h('td', null, hostName(t.resident_on)));
      if (t.uuid === selected) tr.classList.add('selected');
      tr.addEventListener('click', (ev) => {
        if (ev.target !== link) location.hash = 'task=' + t.uuid;
      });
      return tr;
    }));
  }

  function findTask(uuid) {
    for (const t of tasks.values()) if (t.uuid === uuid) return t;
    return null;
  }

  function renderDetail() {
    const t = selected ? findTask(selected) : null;
    el.detail.hidden = !selected;
    if (!selected) return;
    if (!t) {
      el.detailH.textContent = 'Task ' + selected;
      el.fields.replaceChildren(h('dt', null, 'State'),
        h('dd', null, tasks.size ? 'no such task (destroyed?)' : 'loading'));
      el.errorBlock.hidden = true;
      return;
    }
    el.detailH.textContent = 'Task: ' + t.name_label;
    const fields = [['UUID', t.uuid], ['Status', t.status],
      ['Progress', Math.round(Number(t.progress) * 100) + '%'],
      ['Created', when(t.created)], ['Finished', when(t.finished)],
      ['Host', hostName(t.resident_on)], ['Link', '#task=' + t.uuid]];
    el.fields.replaceChildren(...fields.flatMap(([k, v]) =>
      [h('dt', null, k), h('dd', null, v)]));
    const failed = t.status === 'failure' && (t.error_info || []).length > 0;
    el.errorBlock.hidden = !failed;
    if (failed) renderError(t);
  }

  function renderError(t) {
    const info = t.error_info.map(String);
    el.errorCode.textContent = info[0];
    el.errorParams.replaceChildren(...info.slice(1).map((p) =>
      h('li', null, p === '' ? '(empty)' : p)));
    let frames = [];
    el.unreadable.hidden = true;
    try {
      frames = T.parse(t.backtrace);
    } catch (e) {
      // As xe: the error stands, its trace is missing.
      el.unreadable.hidden = false;
      el.unreadable.textContent = 'The backtrace is unreadable: ' + e.message;
    }
    const bodies = T.bands(frames).map((band, b, all) => {
      const at = band.process.lastIndexOf(' @ ');
      const label = at >= 0 ? band.process.slice(0, at) + ' on host ' +
        band.process.slice(at + 3) : band.process;
      const head = h('th', { scope: 'rowgroup', colspan: '6' }, band.process,
        h('span', { class: 'sr-only' }, ' (' + label + ')'),
        b > 0 ? h('span', { class: 'crossing' }, '\u2191 crossed from ' +
          all[b - 1].process) : null);
      const body = h('tbody', { class: 'band', 'data-process': band.process },
        h('tr', { class: b > 0 ? 'band-head crossed' : 'band-head' }, head));
      band.frames.forEach((f, k) => {
        const index = band.first + k;
        const verb = T.verb(f, index);
        const kind = f.elided ? 'elided' : index === 1 ? 'raise'
          : f.is_raise ? 'reraise' : 'call';
        body.append(h('tr', { class: kind },
          h('td', null, index + '/' + frames.length),
          h('td', { class: 'kind' }, f.elided ? f.elided + ' frames elided' : verb,
            f.is_inline ? ' (inlined)' : null),
          h('td', null, f.name === null ? '' : f.name),
          h('td', null, f.elided ? '' : f.filename),
          h('td', null, f.elided ? '' : f.line),
          h('td', null, f.chars_start > 0 ? f.chars_start + '-' + f.chars_end : '')));
      });
      return body;
    });
    el.traceTable.replaceChildren(el.traceTable.tHead, ...bodies);
    el.traceText.textContent = T.formatError(info, frames);
  }

  // ---- deep links, filters, buttons --------------------------------------

  function fromHash() {
    const m = /^#task=([0-9A-Za-z-]{1,64})$/.exec(location.hash);
    selected = m ? m[1] : null;
    el.copyNote.textContent = '';
    if (session) render();
    if (selected && !el.detail.hidden) el.detailH.focus();
  }

  async function copy() {
    const text = el.traceText.textContent;
    try {
      await navigator.clipboard.writeText(text);
      el.copyNote.textContent = 'Copied.';
    } catch (e) {
      // No clipboard (permission, insecure origin): select the text.
      const range = document.createRange();
      range.selectNodeContents(el.traceText);
      const sel = window.getSelection();
      sel.removeAllRanges();
      sel.addRange(range);
      el.copyNote.textContent = 'Selected below: copy it with Ctrl+C.';
    }
  }

  el.detailH.tabIndex = -1;
  el.form.addEventListener('submit', login);
  el.logout.addEventListener('click', () => {
    logoutNow();
    showLogin('Logged out.');
  });
  el.filterStatus.addEventListener('change', renderTasks);
  el.filterText.addEventListener('input', renderTasks);
  el.copy.addEventListener('click', copy);
  window.addEventListener('hashchange', fromHash);
  window.addEventListener('pagehide', logoutNow);
  // Back from the page cache: the session was logged out on the way.
  window.addEventListener('pageshow', (ev) => { if (ev.persisted && !session) showLogin(''); });
  fromHash();
  el.password.focus();
})();
