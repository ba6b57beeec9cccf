// Small DOM helpers. Every piece of data reaches the page as text nodes or attribute values,
// never as HTML: labels, names and policy names come from other hosts (gossip) and are shown
// exactly as they are, never interpreted.

const SVG_NS = 'http://www.w3.org/2000/svg';

/**
 * An HTML element: h('td', { class: 'x', 'data-pod': 'a/b' }, 'text', child, …).
 * Attributes with value null/undefined/false are left out; `style` is an object of CSS
 * properties; children may be strings, nodes, arrays of them, or null.
 */
export function h(tag, attrs = {}, ...children) {
  return fill(document.createElement(tag), attrs, children);
}

/** The same for SVG elements. */
export function s(tag, attrs = {}, ...children) {
  return fill(document.createElementNS(SVG_NS, tag), attrs, children);
}

function fill(el, attrs, children) {
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === 'style' && typeof v === 'object') {
      // Through the CSSOM: the page's Content-Security-Policy refuses inline style attributes.
      for (const [p, x] of Object.entries(v)) el.style.setProperty(p, x);
      continue;
    }
    el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
  return el;
}

/** Replace every child of `el` with `children`. */
export function replace(el, ...children) {
  el.replaceChildren(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false)
    .map((c) => (typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c)));
}

/** A swatch (a small square) in a peer's colour. */
export function swatch(name) {
  return h('span', { class: 'swatch', style: { background: colourOf(name) } });
}

/** A stable colour for a peer name (hue from a string hash). */
export function colourOf(name) {
  let x = 2166136261;
  for (let i = 0; i < name.length; i++) x = Math.imul(x ^ name.charCodeAt(i), 16777619);
  return `hsl(${(x >>> 0) % 360} 55% 45%)`;
}
