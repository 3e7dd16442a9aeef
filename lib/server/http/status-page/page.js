// raftkv status page. Polls GET /status once a second and draws it; no
// library, nothing from the internet (the node's CSP allows only itself).
// Polling rather than Server-Sent Events: EventSource cannot send an
// Authorization header, and REQUIREPASS needs one on every data request.
'use strict'

const pollMs = 1000
/**
 * A node that has not answered within this is reported as not answering (a
 * stopped process refuses at once; this is for a hung or unreachable one).
 * Longer than the 5 s a node may hold back a 401 for a wrong password.
 */
const answerTimeoutMs = 6000
/** The timeline shows the node's life so far, at least a minute and at most five. */
const timelineSpanMsMin = 60_000
const timelineSpanMsMax = 5 * 60_000
const tokenKey = 'raftkv-status-token'
const svgNs = 'http://www.w3.org/2000/svg'
// The same colours as page.css's variables: SVG presentation attributes cannot use var().
const colors = { writes: '#d9622b', reads: '#2b7bd9', muted: '#6b6b70' }
const palette = ['#2b7bd9', '#d9622b', '#23915b', '#8a4fd0', '#c9a00b', '#1aa3a3', '#c94f8a']

/** The newest good answer, and when it arrived by this browser's clock. */
let latest = null
let latestAtMs = 0
let failingSinceMs = null
let timer = null

const $ = (id) => document.getElementById(id)

function schedule(delayMs = pollMs) {
  clearTimeout(timer)
  timer = setTimeout(poll, delayMs)
}

async function poll() {
  const token = sessionStorage.getItem(tokenKey)
  let response
  try {
    response = await fetch('/status', {
      headers: token === null ? {} : { Authorization: `Bearer ${token}` },
      cache: 'no-store',
      signal: AbortSignal.timeout(answerTimeoutMs),
    })
  } catch (err) {
    showNotAnswering(err instanceof Error && err.name === 'TimeoutError' ? `no answer within ${answerTimeoutMs / 1000} s` : 'connection refused or reset')
    schedule()
    return
  }
  if (response.status === 401) {
    askPassword(token !== null)
    return
  }
  if (!response.ok) {
    showNotAnswering(`GET /status answered ${response.status}`)
    schedule()
    return
  }
  try {
    const status = await response.json()
    latest = status
    latestAtMs = Date.now()
    failingSinceMs = null
    render(status)
  } catch (err) {
    showNotAnswering(`unreadable answer: ${err instanceof Error ? err.message : String(err)}`)
  }
  schedule()
}

function askPassword(wasWrong) {
  if (wasWrong) sessionStorage.removeItem(tokenKey)
  $('login').hidden = false
  $('login-error').hidden = !wasWrong
  $('main').hidden = true
  $('login-password').focus()
}

function onLogin(event) {
  event.preventDefault()
  const password = $('login-password').value
  if (password === '') return
  sessionStorage.setItem(tokenKey, password)
  $('login-password').value = ''
  $('login').hidden = true
  $('main').hidden = false
  schedule(0)
}

// ---- The serving node is gone ----------------------------------------------------------

function showNotAnswering(reason) {
  failingSinceMs ??= Date.now()
  const conn = $('connection')
  conn.className = 'connection dead'
  conn.textContent = `not answering since ${clock(failingSinceMs)}`
  $('main').classList.add('stale')
  const self = latest === null ? location.host : `${latest.id} (${location.host})`
  const seen = latest === null ? 'It has not answered since this page opened.' : `Last answer ${ago(Date.now() - latestAtMs)} ago; what follows is as of then.`
  $('down-text').textContent = `This node, ${self}, is not answering: ${reason}. ${seen}`
  const links = $('down-links')
  links.replaceChildren()
  for (const member of latest?.members ?? []) {
    if (member.id === latest.id) continue
    const href = pageUrl(member.httpAddr)
    if (href === null) continue
    const a = document.createElement('a')
    a.href = href
    a.textContent = `${member.id} (${new URL(href).host})`
    links.append(a)
  }
  if (links.childElementCount === 0) links.textContent = 'none known'
  $('down').hidden = false
}

/** A member's page: its HTTP address with this page's scheme; an unspecified host means "where this page came from". */
function pageUrl(httpAddr) {
  if (typeof httpAddr !== 'string' || httpAddr === '') return null
  const colon = httpAddr.lastIndexOf(':')
  let host = httpAddr.slice(0, colon)
  const port = httpAddr.slice(colon + 1)
  if (host === '0.0.0.0' || host === '::' || host === '[::]' || host === '') host = location.hostname
  if (host.includes(':') && !host.startsWith('[')) host = `[${host}]`
  try {
    return new URL(`${location.protocol}//${host}:${port}/`).href
  } catch {
    return null
  }
}

// ---- Drawing ----------------------------------------------------------------------------

function render(st) {
  $('down').hidden = true
  $('main').classList.remove('stale')
  const conn = $('connection')
  conn.className = 'connection live'
  conn.textContent = `live · ${clock(st.nowMs ?? Date.now())}`
  document.title = `raftkv ${st.id} · ${st.role} · term ${st.term}`
  $('node-id').textContent = st.id
  const role = $('node-role')
  role.textContent = st.role
  role.className = `badge ${st.role}`
  $('term').textContent = String(st.term)
  $('leader').textContent = st.leader ?? 'none'
  $('commit-index').textContent = String(st.commitIndex)
  $('applied-index').textContent = String(st.appliedIndex)
  $('log-range').textContent = st.firstIndex === undefined ? `snapshot ${st.snapshotIndex}` : `${st.firstIndex}..${st.lastIndex}, snapshot ${st.snapshotIndex}`
  $('uptime').textContent = st.startedAtMs === undefined ? '–' : ago(st.nowMs - st.startedAtMs)
  renderMembers(st)
  renderTimeline(st)
  renderLoad(st)
  renderSnapshots(st)
}

function renderMembers(st) {
  const onLeader = st.role === 'leader'
  $('members-hint').textContent = onLeader ? '' : '(match, lag and last contact are known on the leader; open its page for them)'
  const body = $('members').tBodies[0]
  body.replaceChildren()
  for (const m of st.members) {
    const row = body.insertRow()
    row.dataset.member = m.id
    if (m.id === st.leader) row.classList.add('is-leader')
    cell(row, m.id === st.id ? `${m.id} (this node)` : m.id)
    cell(row, m.id === st.leader ? `leader (${m.role})` : m.role)
    const inc = cell(row, m.incarnation ? m.incarnation.slice(0, 8) : '–')
    inc.title = m.incarnation ?? ''
    cell(row, num(m.match), 'num')
    cell(row, num(m.lag), 'num')
    cell(row, m.lastContactMs === null || m.lastContactMs === undefined ? '–' : `${m.lastContactMs} ms`, 'num')
    cell(row, m.state ?? '–', m.state ? `state-${m.state}` : '')
    cell(row, m.connection ?? '–', m.connection ? `state-${m.connection}` : '')
    const link = cell(row, '')
    const href = m.id === st.id ? null : pageUrl(m.httpAddr)
    if (href !== null) {
      const a = document.createElement('a')
      a.href = href
      a.textContent = 'open'
      link.append(a)
    }
  }
}

function cell(row, text, className = '') {
  const td = row.insertCell()
  td.textContent = text
  if (className !== '') td.className = className
  return td
}

function num(n) {
  return n === null || n === undefined ? '–' : String(n)
}

const leaderColors = new Map()
function colorOf(leader) {
  if (leader === null) return '#bbbbbb'
  if (!leaderColors.has(leader)) leaderColors.set(leader, palette[leaderColors.size % palette.length])
  return leaderColors.get(leader)
}

/** Leadership over the last minutes: one band per leader, a tick and a label at each term. */
function renderTimeline(st) {
  const svg = $('timeline')
  svg.replaceChildren()
  const changes = st.leaderChanges ?? []
  const endMs = st.nowMs ?? Date.now()
  const spanMs = Math.min(timelineSpanMsMax, Math.max(timelineSpanMsMin, endMs - (st.startedAtMs ?? endMs)))
  const startMs = endMs - spanMs
  const minutes = Math.round(spanMs / 60_000)
  $('timeline-title').textContent = `Leadership, last ${minutes === 1 ? 'minute' : `${minutes} minutes`}`
  $('timeline-start').textContent = `−${minutes} min`
  const width = fitViewBox(svg, 800, 56).width
  const x = (ms) => ((Math.max(ms, startMs) - startMs) / spanMs) * width
  const ticks = []
  changes.forEach((c, i) => {
    const until = i + 1 < changes.length ? changes[i + 1].atMs : endMs
    if (until < startMs) return
    const x0 = x(c.atMs)
    const x1 = x(until)
    svg.append(svgEl('rect', { x: x0, y: 8, width: Math.max(1, x1 - x0), height: 26, fill: colorOf(c.leader), opacity: c.leader === null ? 0.6 : 0.85 }))
    if (c.leader !== null && x1 - x0 > 24) svg.append(svgEl('text', { x: x0 + 4, y: 26, fill: 'white' }, c.leader))
    const previous = changes[i - 1]
    if (previous === undefined || previous.term !== c.term) ticks.push({ x: x0, term: c.term })
  })
  ticks.forEach((tick, i) => {
    svg.append(svgEl('line', { x1: tick.x, x2: tick.x, y1: 2, y2: 40, stroke: '#1d1d1f', 'stroke-width': 1.5 }))
    // Of ticks too close to label each, the newest term gets the label.
    const next = ticks[i + 1]
    if (next !== undefined && next.x - tick.x < 56) return
    const left = tick.x > width - 60
    svg.append(svgEl('text', { x: left ? tick.x - 3 : tick.x + 3, y: 52, 'text-anchor': left ? 'end' : 'start' }, `term ${tick.term}`))
  })
  const list = $('changes')
  list.replaceChildren()
  for (const c of changes.slice(-5).reverse()) {
    const li = document.createElement('li')
    // Term 0 is a node that has not heard from any cluster yet (starting, or waiting to join).
    const what = c.leader !== null ? `${c.leader} leads` : c.term === 0 ? 'starting, no leader known' : 'no leader (election)'
    li.append(`${clock(c.atMs)}  term `)
    const term = document.createElement('b')
    term.textContent = String(c.term)
    li.append(term, `: ${what}`)
    li.dataset.term = String(c.term)
    li.dataset.leader = c.leader ?? ''
    list.append(li)
  }
}

function renderLoad(st) {
  const history = st.loadHistory ?? []
  const load = st.load
  $('writes-per-sec').textContent = load ? rate(load.writesPerSec) : '–'
  $('reads-per-sec').textContent = load ? rate(load.readsPerSec) : '–'
  $('write-p99').textContent = load ? ms(load.writeP99Ms) : '–'
  $('read-p99').textContent = load ? ms(load.readP99Ms) : '–'
  $('fsync-p99').textContent = load ? ms(load.fsyncP99Ms) : '–'
  $('fsync-p50').textContent = load ? ms(load.fsyncP50Ms) : '–'
  $('fsyncs-per-sec').textContent = load ? rate(load.fsyncsPerSec) : '–'
  lineChart($('chart-ops'), history, [
    { key: 'writesPerSec', color: colors.writes },
    { key: 'readsPerSec', color: colors.reads },
  ])
  lineChart($('chart-p99'), history, [
    { key: 'writeP99Ms', color: colors.writes },
    { key: 'readP99Ms', color: colors.reads },
  ])
  lineChart($('chart-fsync'), history, [
    { key: 'fsyncP99Ms', color: colors.writes },
    { key: 'fsyncP50Ms', color: colors.muted },
  ])
}

/** A line per series over the samples' times; gaps where a value is null; the y axis starts at 0. */
function lineChart(svg, samples, series) {
  svg.replaceChildren()
  const { width: w, height: h } = fitViewBox(svg, 400, 140)
  const pad = { left: 34, right: 6, top: 8, bottom: 16 }
  let yMax = 0
  for (const s of samples) for (const { key } of series) if (typeof s[key] === 'number') yMax = Math.max(yMax, s[key])
  yMax = niceCeiling(yMax)
  const first = samples[0]?.atMs ?? 0
  const last = samples.at(-1)?.atMs ?? 1
  const spanMs = Math.max(1, last - first)
  const px = (ms) => pad.left + ((ms - first) / spanMs) * (w - pad.left - pad.right)
  const py = (v) => h - pad.bottom - (v / yMax) * (h - pad.top - pad.bottom)
  for (const frac of [0, 0.5, 1]) {
    const y = py(yMax * frac)
    svg.append(svgEl('line', { x1: pad.left, x2: w - pad.right, y1: y, y2: y, stroke: '#e6e6e4' }))
    svg.append(svgEl('text', { x: pad.left - 4, y: y + 3, 'text-anchor': 'end' }, short(yMax * frac)))
  }
  svg.append(svgEl('text', { x: pad.left, y: h - 3 }, samples.length > 1 ? `−${Math.round(spanMs / 1000)} s` : 'waiting for samples'))
  svg.append(svgEl('text', { x: w - pad.right, y: h - 3, 'text-anchor': 'end' }, 'now'))
  for (const { key, color } of series) {
    let d = ''
    let pen = 'M'
    for (const s of samples) {
      if (typeof s[key] !== 'number') {
        pen = 'M'
        continue
      }
      d += `${pen}${px(s.atMs).toFixed(1)},${py(s[key]).toFixed(1)}`
      pen = 'L'
    }
    if (d !== '') svg.append(svgEl('path', { d, fill: 'none', stroke: color, 'stroke-width': 1.8, 'stroke-linejoin': 'round' }))
    const newest = samples.at(-1)
    // A lone value has no line to draw: mark it.
    if (newest !== undefined && typeof newest[key] === 'number') svg.append(svgEl('circle', { cx: px(newest.atMs), cy: py(newest[key]), r: 2.5, fill: color }))
  }
}

function niceCeiling(v) {
  if (!(v > 0)) return 1
  const magnitude = 10 ** Math.floor(Math.log10(v))
  for (const step of [1, 2, 2.5, 5, 10]) if (v <= step * magnitude) return step * magnitude
  return 10 * magnitude
}

function renderSnapshots(st) {
  const s = st.snapshots
  for (const kind of ['saved', 'sent', 'installed']) {
    const c = s?.[kind]
    $(`snapshots-${kind}`).textContent = c === undefined ? '–' : c.count === 0 ? '0' : `${c.count} (last at ${clock(c.lastAtMs)})`
  }
}

/** One SVG unit per CSS pixel, so text is not stretched; the fallback before layout. */
function fitViewBox(svg, widthFallback, heightFallback) {
  const width = svg.clientWidth || widthFallback
  const height = svg.clientHeight || heightFallback
  svg.setAttribute('viewBox', `0 0 ${width} ${height}`)
  return { width, height }
}

function svgEl(name, attrs, text) {
  const el = document.createElementNS(svgNs, name)
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v))
  if (text !== undefined) el.textContent = text
  return el
}

// ---- Formatting ---------------------------------------------------------------------------

function clock(ms) {
  return new Date(ms).toLocaleTimeString([], { hour12: false })
}

function ago(ms) {
  const s = Math.max(0, Math.round(ms / 1000))
  if (s < 120) return `${s} s`
  if (s < 7200) return `${Math.round(s / 60)} min`
  return `${Math.round(s / 3600)} h`
}

function rate(v) {
  return v >= 100 ? String(Math.round(v)) : v.toFixed(1)
}

function ms(v) {
  return v === null || v === undefined ? '–' : v >= 10 ? v.toFixed(0) : v.toFixed(2)
}

function short(v) {
  if (v >= 1e6) return `${+(v / 1e6).toFixed(2)}M`
  if (v >= 1e3) return `${+(v / 1e3).toFixed(2)}k`
  return String(+v.toFixed(2))
}

$('login').addEventListener('submit', onLogin)
poll()
