// node:test reporter used by run-tests.mjs: writes one JSON line per skipped test or suite
// ({ file, name, reason }) so that the runner can list every skip with its reason and, under
// CI, fail the run on it. `reason` is null when the test was skipped without one.
export default async function* skipReporter(source) {
  for await (const ev of source) {
    if ((ev.type === 'test:pass' || ev.type === 'test:fail') && ev.data.skip !== undefined && ev.data.skip !== false) {
      const reason = typeof ev.data.skip === 'string' && ev.data.skip.trim() !== '' ? ev.data.skip.trim() : null;
      yield `${JSON.stringify({ file: ev.data.file ?? null, name: ev.data.name, reason })}\n`;
    }
  }
}
