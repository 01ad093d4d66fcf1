/** A real component started once per test run by test/run.ts. */
export interface Service {
  /** Environment variables handed to every test process (how tests find the service). */
  env: Record<string, string>;
  stop(): Promise<void>;
}

/** Reads a variable the test runner set; fails with a clear message if the file was run without it. */
export function serviceEnv(name: string, service: string): string {
  const v = process.env[name];
  if (!v) {
    throw new Error(
      `${name} is not set: this test needs ${service}. Run it through \`npm test -- <file>\` so the runner starts ${service}, ` +
        `and declare it in the file's \`// needs:\` line.`,
    );
  }
  return v;
}
