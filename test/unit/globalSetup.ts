/**
 * Jest globalSetup of the `unit` project: runs every case of synthCases.ts once, in this process,
 * and stores each outcome (the synth, or the config error) in a folder the tests read
 * (helpers.ts). One program load and a fraction of a second per case, instead of a program load
 * per test file and a synth per use. globalTeardown removes the folder.
 */
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { CACHE_ENV, caseKey, runCase } from "./helpers";
import { allSynthCases } from "./synthCases";

export default async function globalSetup(): Promise<void> {
    const started = Date.now();
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "homeiq-unit-synths-"));
    const cases = allSynthCases();
    const done = new Set<string>();
    for (const c of cases) {
        const key = caseKey(c);
        if (done.has(key)) continue;
        done.add(key);
        fs.writeFileSync(path.join(dir, `${key}.json`), JSON.stringify(await runCase(c)));
    }
    // Workers start after this and inherit the variable.
    process.env[CACHE_ENV] = dir;
    process.stdout.write(`\n[unit setup] ${done.size} program runs under mocks in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
}
