/**
 * An in-memory model of the nftables subset weft writes (tables, chains with an optional
 * ingress hook, rules kept as text, sets and maps with their elements), applied as one
 * all-or-nothing transaction per script like `nft -f -`. Used by {@link FakeKernel}; the
 * contract test (test/integration/fake-kernel.test.ts) runs the same scripts against the real
 * `nft` to keep the two in agreement. Unknown commands throw, so a new kind of rule cannot
 * pass silently.
 */
import { WeftError } from '../../src/common/index.js';

/** One chain: its ingress hook device (when it is a base chain) and its rules as text. */
export interface FakeChain {
  hookDevice?: string;
  rules: string[];
}

/** One set or map: key → value (`null` for a set). */
export interface FakeSet {
  isMap: boolean;
  elements: Map<string, string | null>;
}

export interface FakeTable {
  chains: Map<string, FakeChain>;
  sets: Map<string, FakeSet>;
}

/** Tables by "family name" ("netdev weft_hostgw"). */
export type FakeRuleset = Map<string, FakeTable>;

function cloneRuleset(r: FakeRuleset): FakeRuleset {
  return new Map([...r].map(([k, t]) => [k, {
    chains: new Map([...t.chains].map(([n, c]) => [n, { ...c, rules: [...c.rules] }])),
    sets: new Map([...t.sets].map(([n, s]) => [n, { isMap: s.isMap, elements: new Map(s.elements) }])),
  }]));
}

const norm = (s: string): string => s.trim().replace(/\s+/g, ' ').replace(/^"|"$/g, '');

/**
 * Apply `script` to `ruleset` atomically: the new ruleset, or WEFT_ERR_HOST (nothing changed)
 * like the real edge.
 */
export function applyNft(ruleset: FakeRuleset, what: string, script: string): FakeRuleset {
  const next = cloneRuleset(ruleset);
  const fail = (why: string): never => {
    throw new WeftError('WEFT_ERR_HOST', `${what} failed: Error: Could not process rule: ${why}`);
  };
  for (const raw of script.split('\n')) {
    const line = raw.trim();
    if (line === '') continue;
    const m = /^(add|delete|flush) (table|chain|rule|set|map|element) (\S+) (\S+)(?: (\S+))?(?: (.*))?$/.exec(line);
    if (!m) throw new WeftError('WEFT_ERR_BAD_ARGS', `fake nft: unsupported command "${line}"`);
    const [, verb, obj, family, tableName, name, rest] = m;
    const key = `${family} ${tableName}`;
    const table = next.get(key);
    const needTable = (): FakeTable => table ?? fail('No such file or directory');
    switch (`${verb} ${obj}`) {
      case 'add table':
        if (!table) next.set(key, { chains: new Map(), sets: new Map() });
        break;
      case 'delete table':
        needTable();
        next.delete(key);
        break;
      case 'add chain': {
        const t = needTable();
        const hook = rest === undefined ? undefined : /device "?([^";\s]+)"?/.exec(rest)?.[1];
        if (rest !== undefined && hook === undefined) throw new WeftError('WEFT_ERR_BAD_ARGS', `fake nft: unsupported chain spec "${rest}"`);
        // This kernel (6.x) takes ingress hooks on devices that do not exist (yet), and an add
        // of an existing chain is a no-op: weft always deletes a chain before re-adding it.
        if (!t.chains.has(name!)) t.chains.set(name!, { ...(hook !== undefined ? { hookDevice: hook } : {}), rules: [] });
        break;
      }
      case 'delete chain': {
        const t = needTable();
        if (!t.chains.delete(name!)) fail('No such file or directory');
        break;
      }
      case 'add rule': {
        const c = needTable().chains.get(name!) ?? fail('No such file or directory');
        c.rules.push(norm(rest ?? ''));
        break;
      }
      case 'add set':
      case 'add map': {
        const t = needTable();
        if (!t.sets.has(name!)) t.sets.set(name!, { isMap: obj === 'map', elements: new Map() });
        break;
      }
      case 'flush set':
      case 'flush map':
        (needTable().sets.get(name!) ?? fail('No such file or directory')).elements.clear();
        break;
      case 'add element':
      case 'delete element': {
        const s = needTable().sets.get(name!) ?? fail('No such file or directory');
        const body = /^\{(.*)\}$/.exec((rest ?? '').trim())?.[1];
        if (body === undefined) throw new WeftError('WEFT_ERR_BAD_ARGS', `fake nft: unsupported element list "${rest}"`);
        for (const el of body.split(',')) {
          const [k, v] = el.split(' : ').map(norm);
          if (k === undefined || k === '') continue;
          if (verb === 'delete') {
            if (!s.elements.delete(k)) fail('No such file or directory');
            continue;
          }
          const value = s.isMap ? (v ?? fail('map element without a value')) : null;
          const old = s.elements.get(k);
          if (old !== undefined && old !== value) fail('File exists');
          s.elements.set(k, value);
        }
        break;
      }
      default:
        throw new WeftError('WEFT_ERR_BAD_ARGS', `fake nft: unsupported command "${line}"`);
    }
  }
  return next;
}
