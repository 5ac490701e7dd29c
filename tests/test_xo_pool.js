// SPDX-License-Identifier: BSD-2-Clause
//
// Xen Orchestra's own client (the `xen-api` npm package) pointed at a slave
// of an xbtd pool (doc/pools.md): its login gets HOST_IS_SLAVE [master],
// it follows that to the master keeping its scheme and port, logs in there
// and watches the pool through event.from. Checked on XML-RPC and JSON-RPC:
// the redirect, both hosts and the slave's live host_metrics in the cache,
// a task made and destroyed seen through events. Last, on JSON-RPC, the
// slave's death: this prints KILL-SLAVE, test_pools.py SIGKILLs the slave,
// and the cache must see its host_metrics.live and host.enabled go false.
//
// Run by test_pools.py: XO_DIR is where xen-api is installed, XBT_SLAVE_URL
// the slave (http://address:port), XBT_MASTER the master's address,
// XBT_SLAVE_NAME and XBT_MASTER_NAME the hosts' names. Prints
// `N passed, N failed`.
'use strict'

const { check, within, sleep, run } = require('./xo_checks.js')

// Polls fn (every 50 ms) until it is true or ms have passed; its last value.
async function until(ms, fn) {
  const end = Date.now() + ms
  let v = fn()
  while (!v && Date.now() < end) {
    await sleep(50)
    v = fn()
  }
  return v
}

const env = process.env
const slaveUrl = new URL(env.XBT_SLAVE_URL)

function cachedOfType(xapi, type) {
  return Object.values(xapi.objects.all).filter(o => o.$type === type)
}

async function runTransport(createClient, transport, last) {
  const t = transport + ': '
  const warnings = []
  const warn = console.warn
  console.warn = (...args) => {
    warnings.push(args.map(String).join(' '))
    warn(...args)
  }
  const xapi = createClient({
    url: env.XBT_SLAVE_URL,
    auth: { user: 'root', password: 'xbt' },
    allowUnauthorized: true,
    transport,
  })
  try {
    await within(15000, 'connect', xapi.connect())
    check(t + 'connects through the slave', xapi.status === 'connected', xapi.status)
    const url = xapi._url
    check(
      t + 'follows HOST_IS_SLAVE to the master, same scheme and port',
      url.hostname === env.XBT_MASTER && String(url.port) === slaveUrl.port && url.protocol === slaveUrl.protocol,
      JSON.stringify({ hostname: url.hostname, port: url.port, protocol: url.protocol })
    )
    await within(15000, 'objectsFetched', xapi.objectsFetched)

    const hosts = cachedOfType(xapi, 'host')
    const names = hosts.map(h => h.name_label).sort()
    check(t + 'both hosts are cached', JSON.stringify(names) === JSON.stringify([env.XBT_MASTER_NAME, env.XBT_SLAVE_NAME].sort()), JSON.stringify(names))
    const master = hosts.find(h => h.name_label === env.XBT_MASTER_NAME)
    const slave = hosts.find(h => h.name_label === env.XBT_SLAVE_NAME)
    check(t + 'the pool master is the master host', master !== undefined && xapi.pool.master === master.$ref, xapi.pool && xapi.pool.master)
    check(t + "the slave's address", slave !== undefined && slave.address === slaveUrl.hostname, slave && slave.address)
    const metrics = slave && xapi.getObjectByRef(slave.metrics, undefined)
    check(
      t + "the slave's host_metrics are cached, live",
      metrics !== undefined && metrics.$type === 'host_metrics' && metrics.live === true && slave.enabled === true,
      metrics && JSON.stringify({ live: metrics.live, enabled: slave.enabled })
    )

    // A task made through the client reaches its cache through events, and
    // leaves it when destroyed.
    const name = 'xo-pool ' + transport
    const task = await within(10000, 'task.create', xapi.call('task.create', name, ''))
    const seen = await until(10000, () => {
      const o = xapi.getObjectByRef(task, undefined)
      return o !== undefined && o.name_label === name
    })
    check(t + 'the event loop brings a new task', seen)
    await within(10000, 'task.destroy', xapi.call('task.destroy', task))
    const gone = await until(10000, () => xapi.getObjectByRef(task, undefined) === undefined)
    check(t + 'the event loop takes a destroyed task away', gone)

    if (last) {
      console.log('KILL-SLAVE')
      // --host-dead-after is 3 s: the master's check, then the events.
      const dead = await until(20000, () => {
        const m = xapi.getObjectByRef(slave.metrics, undefined)
        const h = xapi.getObjectByRef(slave.$ref, undefined)
        return m !== undefined && m.live === false && h !== undefined && h.enabled === false
      })
      const m = xapi.getObjectByRef(slave.metrics, undefined)
      const h = xapi.getObjectByRef(slave.$ref, undefined)
      check(
        t + "the event loop sees the slave's death (live, enabled false)",
        dead,
        JSON.stringify({ live: m && m.live, enabled: h && h.enabled })
      )
    }
    check(t + 'no warnings from the client', warnings.length === 0, JSON.stringify(warnings))
  } catch (e) {
    check(t + 'no exception', false, e && (e.code ? e.code + ' ' + JSON.stringify(e.params) : e.stack))
  } finally {
    console.warn = warn
    await xapi.disconnect().catch(() => {})
  }
}

run(async createClient => {
  await runTransport(createClient, 'xml-rpc', false)
  await runTransport(createClient, 'json-rpc', true)
})
