// The IPAM ring as a donut: one arc per range of the ring, coloured by its owner.
import { s, colourOf } from './dom.js';

const C = 110;
const R_OUT = 100;
const R_IN = 66;

function point(frac, r) {
  const a = -Math.PI / 2 + 2 * Math.PI * frac;
  return [C + r * Math.cos(a), C + r * Math.sin(a)];
}

function arcPath(from, to) {
  const span = Math.min(to - from, 0.999999);
  const large = span > 0.5 ? 1 : 0;
  const [x1, y1] = point(from, R_OUT);
  const [x2, y2] = point(from + span, R_OUT);
  const [x3, y3] = point(from + span, R_IN);
  const [x4, y4] = point(from, R_IN);
  return `M ${x1} ${y1} A ${R_OUT} ${R_OUT} 0 ${large} 1 ${x2} ${y2} L ${x3} ${y3} A ${R_IN} ${R_IN} 0 ${large} 0 ${x4} ${y4} Z`;
}

/** Render `ring` (model.ringArcs) into a fresh <svg>; `centre` is the lines of text in the middle. */
export function renderRing(ring, centre) {
  const svg = s('svg', { viewBox: `0 0 ${2 * C} ${2 * C}`, class: 'ring', role: 'img', 'aria-label': 'IPAM ring' });
  svg.append(s('circle', { cx: C, cy: C, r: (R_OUT + R_IN) / 2, class: 'ring-empty', 'stroke-width': R_OUT - R_IN }));
  for (const a of ring.arcs) {
    svg.append(s('path', { d: arcPath(a.from, a.to), class: 'arc', style: { fill: colourOf(a.owner) }, 'data-owner': a.owner },
      s('title', {}, `${a.start} – ${a.end}: ${a.nickname || a.owner}, ${a.size} addresses, ${a.free} free`)));
  }
  const lines = Array.isArray(centre) ? centre : [centre];
  lines.forEach((line, i) => {
    svg.append(s('text', { x: C, y: C + 5 + (i - (lines.length - 1) / 2) * 16, 'text-anchor': 'middle', class: 'ring-centre' }, line));
  });
  return svg;
}
