// Live flows: the last records (`GET /flows?last=N` with the filters), then every new one
// from the NDJSON stream (`GET /flows/stream`), newest first. Drops are highlighted with the
// policy that dropped them. Changing a filter restarts both with the new query.
import { h, replace } from './dom.js';

const KEEP = 300;
const INITIAL = 100;
const RETRY_MS = 2000;
const $ = (id) => document.getElementById(id);

/** The filter form as query parameters (only the ones set; checked by the daemon). */
export function filterParams(form) {
  const q = new URLSearchParams();
  for (const key of ['verdict', 'namespace', 'pod', 'port', 'protocol']) {
    const v = String(form.elements[key].value ?? '').trim();
    if (v !== '') q.set(key, v);
  }
  return q;
}

function side(e) {
  const who = e.name ? `${e.namespace ?? ''}/${e.name}` : '';
  const addr = e.port !== undefined ? (e.ip.includes(':') ? `[${e.ip}]:${e.port}` : `${e.ip}:${e.port}`) : e.ip;
  return h('td', {}, who ? h('div', {}, who) : null, h('div', { class: 'mono muted' }, addr, e.host ? ` @${e.host}` : ''));
}

function policyText(f) {
  if (!f.policies?.length) return null;
  return f.policies.map((p) => `${p.namespace}/${p.name} (${p.direction}${p.rule !== undefined ? ` rule ${p.rule}` : ', no rule allows it'})`).join(', ');
}

function row(f) {
  const pol = policyText(f);
  return h('tr', { class: f.verdict, 'data-verdict': f.verdict, 'data-policy': f.policies?.map((p) => `${p.namespace}/${p.name}`).join(' ') || null },
    h('td', { class: 'mono', title: f.time }, f.time.slice(11, 23), h('div', { class: 'muted' }, f.event)),
    h('td', { class: 'verdict' }, f.verdict),
    side(f.source), side(f.destination),
    h('td', {}, f.protocol, f.tcp_flags?.length ? h('div', { class: 'muted' }, f.tcp_flags.join(',')) : null),
    h('td', {}, f.path),
    h('td', {}, f.drop_reason ?? '', pol ? h('div', { class: 'policy' }, pol) : null),
    h('td', {}, f.observed_on),
    h('td', {}, f.bytes !== undefined ? `${f.bytes} B / ${f.packets ?? '?'} pkts` : ''));
}

/** Start the flows part of the page. `getJson(path)` fetches a JSON document of the listener. */
export function startFlows({ getJson }) {
  const form = $('flow-filters');
  const body = $('flows').tBodies[0];
  const note = $('flows-note');
  let records = [];
  let seen = new Set();
  let generation = 0;
  let ctl = null;
  let paused = false;
  let dirty = false;

  const keyOf = (f) => `${f.observed_on}/${f.seq}/${f.time}`;
  const draw = () => {
    if (paused) { dirty = true; return; }
    dirty = false;
    replace(body, records.length ? records.map(row) : [h('tr', {}, h('td', { colspan: 9, class: 'muted' }, 'no matching flow records yet'))]);
  };
  const add = (f) => {
    const k = keyOf(f);
    if (seen.has(k)) return;
    seen.add(k);
    records.unshift(f);
    if (records.length > KEEP) for (const old of records.splice(KEEP)) seen.delete(keyOf(old));
  };

  async function run(gen) {
    const q = filterParams(form);
    const base = new URL('../', document.baseURI);
    try {
      const past = new URLSearchParams(q);
      past.set('last', String(INITIAL));
      const reply = await getJson(`flows?${past}`);
      if (gen !== generation) return;
      records = [];
      seen = new Set();
      for (const f of reply.flows) add(f);
      replace(note, reply.warning ?? `from ${reply.observers.filter((o) => o.answered).map((o) => o.nickname || o.peer).join(', ')}`);
      draw();
      ctl = new AbortController();
      const r = await fetch(new URL(`flows/stream?${q}`, base), { signal: ctl.signal, cache: 'no-store' });
      if (!r.ok || !r.body) throw new Error(`flows/stream: HTTP ${r.status}`);
      const reader = r.body.pipeThrough(new TextDecoderStream()).getReader();
      let buf = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done || gen !== generation) break;
        buf += value;
        const lines = buf.split('\n');
        buf = lines.pop();
        let changed = false;
        for (const line of lines) {
          if (!line.trim()) continue;
          let msg;
          try { msg = JSON.parse(line); } catch { continue; }
          if (msg.type === 'flow') { add(msg.flow); changed = true; }
          else if (msg.type === 'warning') replace(note, msg.message);
        }
        if (changed) draw();
      }
    } catch (e) {
      if (gen !== generation) return;
      if (e.status === 404) { replace(note, 'this daemon records no flows'); return; }
      replace(note, `flows: ${e.message}`);
    }
    if (gen === generation) setTimeout(() => { if (gen === generation) void run(gen); }, RETRY_MS);
  }

  const restart = () => {
    generation++;
    ctl?.abort();
    void run(generation);
  };
  let debounce = null;
  form.addEventListener('input', (ev) => {
    if (ev.target.name === 'pause') {
      paused = ev.target.checked;
      if (!paused && dirty) draw();
      return;
    }
    clearTimeout(debounce);
    debounce = setTimeout(restart, 300);
  });
  form.addEventListener('submit', (ev) => ev.preventDefault());
  restart();
}
