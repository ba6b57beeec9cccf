/** Longest error message taken from the daemon log. chars */
const MAX_MESSAGE_CHARS = 300;
/** pino's numeric level of `error`. */
const PINO_ERROR_LEVEL = 50;

/**
 * The most relevant error in the text a failed daemon wrote to its log, as one line, or null.
 * Preference: the last `weft: …` line (the CLI's own fatal line), else the last pino record at
 * level error or above (`msg`, plus `err.message`), else the last `…Error: …` line of a crash.
 * Pure.
 */
export function lastErrorMessage(logText: string): string | null {
  const lines = logText.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  const pick = (test: (line: string) => string | null): string | null => {
    for (let i = lines.length - 1; i >= 0; i--) {
      const found = test(lines[i]!);
      if (found) return found.replace(/\s+/g, ' ').slice(0, MAX_MESSAGE_CHARS);
    }
    return null;
  };
  return pick((l) => (l.startsWith('weft: ') && !l.startsWith('weft: warning:') ? l.slice(6) : null))
    ?? pick(pinoError)
    ?? pick((l) => (/^[A-Za-z]*Error\b.*:/.test(l) ? l : null));
}

function pinoError(line: string): string | null {
  if (!line.startsWith('{')) return null;
  try {
    const rec = JSON.parse(line) as { level?: unknown; msg?: unknown; err?: { message?: unknown } };
    if (typeof rec.level !== 'number' || rec.level < PINO_ERROR_LEVEL) return null;
    const msg = typeof rec.msg === 'string' ? rec.msg : 'error';
    const detail = typeof rec.err?.message === 'string' ? rec.err.message : '';
    return detail && !msg.includes(detail) ? `${msg}: ${detail}` : msg;
  } catch {
    return null;
  }
}
