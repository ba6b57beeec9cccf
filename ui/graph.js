// The topology as an SVG graph: peers on a circle (this host at the top), one line per
// connection coloured by its data path, dashed curves for peers reached through a relay.
import { s, colourOf } from './dom.js';

const W = 640;
const H = 420;
const R = 150;

/** Short form of a peer name for labels ("8e:1f:…:9a"). */
export function shortName(name) {
  const parts = name.split(':');
  return parts.length > 3 ? `${parts[0]}:${parts[1]}…${parts[parts.length - 1]}` : name;
}

/** Label of a connection seen from this host: path, MTU, encryption. */
export function edgeLabel(e) {
  if (!e.local) return e.established ? 'connected' : 'connecting';
  const l = e.local;
  if (l.state !== 'established') return l.state;
  return `${l.mode}${l.mtu ? ` · mtu ${l.mtu}` : ''}${l.encrypted ? ' · encrypted' : ' · NOT encrypted'}`;
}

/** Render the graph of `topo` (model.topology) into a fresh <svg>. */
export function renderGraph(topo) {
  const n = topo.nodes.length;
  const pos = new Map();
  topo.nodes.forEach((node, i) => {
    const a = -Math.PI / 2 + (2 * Math.PI * i) / Math.max(n, 1);
    pos.set(node.name, n === 1 ? { x: W / 2, y: H / 2 } : { x: W / 2 + R * 1.45 * Math.cos(a), y: H / 2 + R * Math.sin(a) });
  });
  const svg = s('svg', { viewBox: `0 0 ${W} ${H}`, class: 'graph', role: 'img', 'aria-label': 'mesh topology' });
  const direct = new Set(topo.edges.map((e) => e.key));
  for (const e of topo.edges) {
    const p = pos.get(e.a);
    const q = pos.get(e.b);
    const mode = e.local?.state === 'established' ? e.local.mode : 'unknown';
    const cls = `edge mode-${mode}${e.established ? '' : ' down'}${e.local && !e.local.encrypted ? ' plain' : ''}`;
    const mx = (p.x + q.x) / 2;
    const my = (p.y + q.y) / 2;
    // Labels sit beside their line, away from the centre, so two lines' labels never overlap.
    const side = Math.abs(mx - W / 2) < 20 ? 'middle' : mx < W / 2 ? 'end' : 'start';
    const lx = side === 'middle' ? mx : mx + (side === 'end' ? -10 : 10);
    svg.append(s('g', { class: cls, 'data-edge': e.key, 'data-mode': mode },
      s('title', {}, `${topo.nickname(e.a) || e.a} — ${topo.nickname(e.b) || e.b}: ${edgeLabel(e)}`),
      s('line', { x1: p.x, y1: p.y, x2: q.x, y2: q.y }),
      s('text', { x: lx, y: my - 6, 'text-anchor': side, class: `edge-label${e.local && !e.local.encrypted ? ' warn' : ''}` }, edgeLabel(e))));
  }
  for (const r of topo.relayed) {
    const self = topo.self;
    if (direct.has(self < r.peer ? `${self}|${r.peer}` : `${r.peer}|${self}`)) continue;
    const p = pos.get(self);
    const q = pos.get(r.peer);
    if (!p || !q) continue;
    const cx = W / 2 + (p.x + q.x - W) * 0.1;
    const cy = H / 2 + (p.y + q.y - H) * 0.1;
    svg.append(s('g', { class: 'edge relayed', 'data-relayed': r.peer },
      s('title', {}, `${topo.nickname(r.peer) || r.peer} is reached through ${topo.nickname(r.via) || r.via}`),
      s('path', { d: `M ${p.x} ${p.y} Q ${cx} ${cy} ${q.x} ${q.y}` }),
      s('text', { x: (p.x + 2 * cx + q.x) / 4, y: (p.y + 2 * cy + q.y) / 4 + 14, 'text-anchor': 'middle', class: 'edge-label' },
        `relayed via ${topo.nickname(r.via) || shortName(r.via)}`)));
  }
  for (const node of topo.nodes) {
    const p = pos.get(node.name);
    svg.append(s('g', { class: `node${node.self ? ' self' : ''}`, 'data-peer': node.name, transform: `translate(${p.x} ${p.y})` },
      s('title', {}, `${node.nickname} ${node.name}${node.self ? ' (this host)' : ''}`),
      s('circle', { r: 26, style: { fill: colourOf(node.name) } }),
      s('text', { y: 4, 'text-anchor': 'middle', class: 'node-nick' }, node.nickname || shortName(node.name)),
      s('text', { y: 44, 'text-anchor': 'middle', class: 'node-name' }, shortName(node.name) + (node.self ? ' (this host)' : ''))));
  }
  return svg;
}
