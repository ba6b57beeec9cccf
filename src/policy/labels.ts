/**
 * Kubernetes names, label syntax and label selectors: the syntax checks the validator applies
 * (exactly Kubernetes' rules) and {@link matchesSelector}, the one selector semantics used by
 * the reference model and the compiler. Pure.
 */
import type { LabelSelector } from './objects.js';

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const QUALIFIED_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const IANA_SVC_NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;

/** Why `s` is not a DNS-1123 label (at most 63 characters: lowercase alphanumerics and '-'), or null. */
export function dns1123LabelProblem(s: string): string | null {
  if (s.length === 0) return 'must not be empty';
  if (s.length > 63) return 'must be at most 63 characters';
  if (!DNS1123_LABEL.test(s)) return "must be lowercase alphanumerics and '-', starting and ending with an alphanumeric (DNS-1123 label)";
  return null;
}

/** Why `s` is not a DNS-1123 subdomain (at most 253 characters, dot-separated DNS-1123 labels), or null. */
export function dns1123SubdomainProblem(s: string): string | null {
  if (s.length === 0) return 'must not be empty';
  if (s.length > 253) return 'must be at most 253 characters';
  if (!DNS1123_SUBDOMAIN.test(s)) return "must be lowercase alphanumerics, '-' and '.', starting and ending with an alphanumeric (DNS-1123 subdomain)";
  return null;
}

/** Why `s` is not a label key (`[prefix/]name`: prefix a DNS-1123 subdomain, name a qualified name of at most 63 characters), or null. */
export function labelKeyProblem(s: string): string | null {
  const parts = s.split('/');
  if (parts.length > 2) return "label key may contain at most one '/'";
  const name = parts[parts.length - 1] ?? '';
  if (parts.length === 2) {
    const prefix = parts[0] ?? '';
    const p = dns1123SubdomainProblem(prefix);
    if (p !== null) return `label key prefix ${JSON.stringify(prefix)} ${p}`;
  }
  if (name.length === 0) return 'label key name must not be empty';
  if (name.length > 63) return 'label key name must be at most 63 characters';
  if (!QUALIFIED_NAME.test(name)) return "label key name must be alphanumerics, '-', '_' and '.', starting and ending with an alphanumeric";
  return null;
}

/** Why `s` is not a label value (empty, or at most 63 characters of alphanumerics, '-', '_', '.', alphanumeric at both ends), or null. */
export function labelValueProblem(s: string): string | null {
  if (s.length === 0) return null;
  if (s.length > 63) return 'label value must be at most 63 characters';
  if (!QUALIFIED_NAME.test(s)) return "label value must be alphanumerics, '-', '_' and '.', starting and ending with an alphanumeric";
  return null;
}

/**
 * Why `s` is not a named port (IANA service name: 1..15 lowercase alphanumerics and '-', at
 * least one letter, no '-' at either end, no '--'), or null.
 */
export function portNameProblem(s: string): string | null {
  if (s.length === 0 || s.length > 15) return 'a named port must be 1 to 15 characters';
  if (!IANA_SVC_NAME.test(s) || s.includes('--')) return "a named port must be lowercase alphanumerics and '-' (no '--', no '-' at either end)";
  if (!/[a-z]/.test(s)) return 'a named port must contain at least one letter';
  return null;
}

/**
 * True when `labels` satisfy `sel`: every `matchLabels` pair is present, and every expression
 * holds (In: the key is present with one of the values; NotIn: the key is absent or its value
 * is none of them; Exists: present; DoesNotExist: absent). The empty selector selects
 * everything.
 */
export function matchesSelector(sel: LabelSelector, labels: Readonly<Record<string, string>>): boolean {
  for (const key in sel.matchLabels) {
    if (!Object.hasOwn(labels, key) || labels[key] !== sel.matchLabels[key]) return false;
  }
  for (const e of sel.matchExpressions) {
    const has = Object.hasOwn(labels, e.key);
    switch (e.operator) {
      case 'In': if (!has || !e.values.includes(labels[e.key] as string)) return false; break;
      case 'NotIn': if (has && e.values.includes(labels[e.key] as string)) return false; break;
      case 'Exists': if (!has) return false; break;
      case 'DoesNotExist': if (has) return false; break;
    }
  }
  return true;
}

/** True when the selector has no requirement (selects everything). */
export function isEmptySelector(sel: LabelSelector): boolean {
  return Object.keys(sel.matchLabels).length === 0 && sel.matchExpressions.length === 0;
}

/** The label every namespace carries: its own name. */
export const NAMESPACE_NAME_LABEL = 'kubernetes.io/metadata.name';
