// The page's main loop: polls the read-only JSON of the status listener (`/status` every
// second, `/workloads` for the cluster's pods) and redraws. It only ever reads (GET).
import { h, replace, swatch } from './dom.js';
import { topology, ringArcs, podsByHost } from './model.js';
import { renderGraph, shortName } from './graph.js';
import { renderRing } from './ring.js';
import { startFlows } from './flows.js';

const POLL_MS = 1000;
const FETCH_TIMEOUT_MS = 4000;
const $ = (id) => document.getElementById(id);

// The page is served at /ui/: its data is one level up (`/status`), resolved against the page.
const BASE = new URL('../', document.baseURI);

/** GET a JSON document of the status listener (same origin); `path` is relative ("status"). */
export async function getJson(path) {
  const ctl = new AbortController();
  const t = setTimeout(() => ctl.abort(), FETCH_TIMEOUT_MS);
  try {
    const r = await fetch(new URL(path, BASE), { signal: ctl.signal, cache: 'no-store', headers: { accept: 'application/json' } });
    if (!r.ok) {
      const body = await r.json().catch(() => null);
      const err = new Error(body?.error?.message ?? `${path}: HTTP ${r.status}`);
      err.status = r.status;
      throw err;
    }
    return await r.json();
  } finally {
    clearTimeout(t);
  }
}

const names = { of: (n) => n };

function renderHeader(st) {
  replace($('self'), `${st.nickname} · ${st.name} · weft ${st.version}`);
  const warn = $('warning');
  const text = st.encryptionWarning ?? (st.collisions?.length ? `name collision: ${st.collisions.join(', ')}` : '');
  warn.hidden = !text;
  replace(warn, text);
}

function renderConnections(topo, st) {
  const rows = [];
  for (const e of topo.edges) {
    if (!e.local) continue;
    const peer = e.a === topo.self ? e.b : e.a;
    const l = e.local;
    const tried = l.paths.map((p) => `${p.path}: ${p.state}${p.mtu ? ` (mtu ${p.mtu})` : ''}${p.reason ? ` — ${p.reason}` : ''}`);
    rows.push(h('tr', { 'data-conn': peer },
      h('td', {}, swatch(peer), topo.nickname(peer) || '', ' ', h('span', { class: 'mono muted' }, shortName(peer))),
      h('td', { class: 'mono' }, l.address, l.outbound ? ' (out)' : ' (in)'),
      h('td', { class: l.state === 'established' ? 'ok' : 'bad' }, l.state, l.reason ? ` — ${l.reason}` : ''),
      h('td', { class: 'path' }, l.state === 'established' ? l.mode : '—'),
      h('td', {}, 'direct'),
      h('td', { class: l.encrypted ? 'ok' : 'bad' }, l.encrypted ? 'encrypted' : 'NOT encrypted'),
      h('td', {}, l.mtu ?? '—'),
      h('td', { class: 'muted' }, tried.join('; '))));
  }
  for (const r of topo.relayed) {
    rows.push(h('tr', { 'data-conn': r.peer, class: 'relayed' },
      h('td', {}, swatch(r.peer), topo.nickname(r.peer) || '', ' ', h('span', { class: 'mono muted' }, shortName(r.peer))),
      h('td', {}, '—'), h('td', {}, 'reachable'), h('td', {}, 'sleeve'),
      h('td', {}, `relayed via ${topo.nickname(r.via) || shortName(r.via)}`),
      h('td', { class: st.encrypted ? 'ok' : 'bad' }, st.encrypted ? 'encrypted' : 'NOT encrypted'), h('td', {}, '—'), h('td', {})));
  }
  if (rows.length === 0) rows.push(h('tr', {}, h('td', { colspan: 8, class: 'muted' }, 'no connections yet')));
  replace($('connections').tBodies[0], rows);
}

function renderIpam(st) {
  const ipam = st.ipam;
  if (!ipam) {
    replace($('ring'), h('p', { class: 'muted' }, 'no IPAM on this daemon'));
    replace($('owners').tBodies[0]);
    return;
  }
  const ring = ringArcs(ipam);
  const centre = [ipam.range, ipam.status];
  replace($('ring'), renderRing(ring, centre));
  replace($('owners').tBodies[0], ring.owners.map((o) => h('tr', { 'data-owner': o.owner },
    h('td', {}, swatch(o.owner), o.nickname || names.of(o.owner), ' ',
      h('span', { class: 'mono muted' }, shortName(o.owner))),
    h('td', {}, o.addresses.toString()), h('td', {}, String(o.free)), h('td', {}, String(o.ranges)))));
  if (ipam.reason) $('owners').tBodies[0].append(h('tr', {}, h('td', { colspan: 4, class: 'bad' }, ipam.reason)));
}

function renderPods(wl, topo) {
  const by = podsByHost(wl, topo.nodes.map((n) => n.name));
  const blocks = [];
  for (const [host, pods] of by) {
    blocks.push(h('div', { class: 'host-pods', 'data-host': host },
      h('h3', {}, swatch(host), topo.nickname(host) || shortName(host),
        ' ', h('span', { class: 'muted mono' }, shortName(host)), ' ', h('span', { class: 'muted' }, `${pods.length} pod${pods.length === 1 ? '' : 's'}`)),
      pods.length === 0 ? null : h('table', { class: 'grid' },
        h('thead', {}, h('tr', {}, h('th', {}, 'namespace/name'), h('th', {}, 'address'), h('th', {}, 'labels'), h('th', {}, 'ports'))),
        h('tbody', {}, pods.map((p) => h('tr', { 'data-pod': `${p.namespace}/${p.name}` },
          h('td', {}, h('span', { class: 'muted' }, `${p.namespace}/`), p.name),
          h('td', { class: 'mono' }, p.ips.join(' ')),
          h('td', {}, Object.entries(p.labels).sort().map(([k, v]) => h('span', { class: 'chip', 'data-label': `${k}=${v}` }, `${k}=${v}`))),
          h('td', { class: 'mono' }, p.ports.map((x) => `${x.name}=${x.port}/${x.protocol}`).join(' '))))))));
  }
  replace($('pods'), blocks);
  replace($('pods-count'), wl.synced ? `${wl.pods.length} in the cluster (${wl.source})` : `not synced: ${wl.reason ?? ''}`);
}

let lastOk = 0;
let topo = null;

async function tick() {
  try {
    const [st, wl] = await Promise.all([getJson('status'), getJson('workloads').catch((e) => ({ source: '?', synced: false, reason: e.message, pods: [] }))]);
    topo = topology(st);
    names.of = (n) => topo.nickname(n) || shortName(n);
    renderHeader(st);
    replace($('graph'), renderGraph(topo));
    renderConnections(topo, st);
    renderIpam(st);
    renderPods(wl, topo);
    lastOk = Date.now();
    const live = $('live');
    live.dataset.state = 'live';
    replace(live, `live · ${new Date(lastOk).toLocaleTimeString()}`);
  } catch (e) {
    const live = $('live');
    live.dataset.state = 'stale';
    replace(live, `daemon not answering (${e.message})${lastOk ? ` · last update ${new Date(lastOk).toLocaleTimeString()}` : ''}`);
  } finally {
    setTimeout(() => void tick(), POLL_MS);
  }
}

void tick();
startFlows({ getJson, name: (n) => names.of(n) });
