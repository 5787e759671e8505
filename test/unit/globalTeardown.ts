/** Jest globalTeardown of the `unit` project: removes the folder of stored program runs (globalSetup.ts). */
import * as fs from "fs";
import { CACHE_ENV } from "./helpers";

export default function globalTeardown(): void {
    const dir = process.env[CACHE_ENV];
    if (dir && /homeiq-unit-synths-/.test(dir)) fs.rmSync(dir, { recursive: true, force: true });
}
