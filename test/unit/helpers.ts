/**
 * Test helpers over the offline synth: run a stack, then read its graph like a reviewer would.
 *
 * A synth costs the program's modules (seconds, per test file: jest gives each file its own
 * registry) and a fraction of a second per run. So the unit project's globalSetup runs every case
 * of synthCases.ts once, in one process, and stores each outcome in a folder; `synthOf` and
 * `configErrorOf` read it from there. A case that is not in that list, or a test file run outside
 * jest's globalSetup, is run here, in-process, as before.
 */
import { createHash } from "crypto";
import * as fs from "fs";
import * as path from "path";
import { ALL_SERVICES, DOCKER_API_PROXY } from "../../catalog/services";
import { isSecretKey } from "../../config/keys";
import type { ConfigProblem } from "../../config/problems";
import type { SynthResource, SynthResult } from "../../synth/synthesize";

export const CONTAINER = "docker:index/container:Container";
export const VOLUME = "docker:index/volume:Volume";
export const NETWORK = "docker:index/network:Network";
export const COMMAND = "command:local:Command";

/** One run of the program under mocks: a stack file, with config changes (undefined removes a key). */
export interface SynthCase {
    readonly stack: string;
    readonly overrides?: Readonly<Record<string, string | undefined>>;
    /** Keys (of the overrides) whose values are secrets. */
    readonly secretOverrides?: readonly string[];
}

/** The program's invalid-config error, as data. */
export interface ConfigErrorOutcome {
    readonly message: string;
    readonly problems: readonly ConfigProblem[];
}

export type CaseOutcome =
    | { readonly kind: "synth"; readonly result: SynthResult; readonly warnings: string[] }
    | { readonly kind: "config-error"; readonly error: ConfigErrorOutcome; readonly registered: number; readonly warnings: string[] };

/** Where the unit project's globalSetup put this run's outcomes (unset outside it). */
export const CACHE_ENV = "HOMEIQ_UNIT_SYNTHS";

/** A case's file name: the same for the same stack, overrides and secret keys, in any order. */
export function caseKey(c: SynthCase): string {
    const overrides = Object.entries(c.overrides ?? {}).sort(([a], [b]) => a.localeCompare(b));
    const secrets = [...(c.secretOverrides ?? [])].sort();
    return createHash("sha256").update(JSON.stringify([c.stack, overrides, secrets])).digest("hex").slice(0, 32);
}

/** The test value of a key a service cannot start without (the catalog's requiredConfig). */
export const testCredential = (key: string): string => `test-${key}-0123456789abcdef`;

/**
 * Test values for the keys the services of `enabled` cannot start without (the catalog's
 * requiredConfig). The committed stack files disable those services (they hold no such keys); every
 * synth case runs with them turned on (withCredentials), so every service of the catalog is covered;
 * stacks.test.ts checks the committed files as they are.
 */
export function credentialsFor(enabled: readonly string[]): Record<string, string> {
    return Object.fromEntries(ALL_SERVICES.filter((s) => enabled.includes(s.key)).flatMap((s) => (s.requiredConfig?.keys ?? []).map((key) => [key, testCredential(key)])));
}

/**
 * A case as it is run: its stack file and overrides, with every service turned on (the committed files
 * disable the services that need keys they cannot hold) and the test credentials of those that end up
 * deployed (synthCases.ts credentialsFor). A case's own overrides win, disabledServices included.
 */
export function withCredentials(c: SynthCase): SynthCase {
    const own = c.overrides ?? {};
    const disabledKey = "homeiq:disabledServices";
    const disabled = own[disabledKey] === undefined ? [] : (JSON.parse(own[disabledKey]) as string[]).map((e) => e.split("=")[0]);
    const credentials: Record<string, string> = {};
    const secrets: string[] = [];
    for (const s of ALL_SERVICES) {
        if (disabled.includes(s.key)) continue;
        for (const [key, value] of Object.entries(credentialsFor([s.key]))) {
            const full = `homeiq:${key}`;
            if (Object.hasOwn(own, full)) continue;
            credentials[full] = value;
            if (isSecretKey(key)) secrets.push(full);
        }
    }
    return {
        stack: c.stack,
        overrides: { [disabledKey]: "[]", ...credentials, ...own },
        secretOverrides: [...(c.secretOverrides ?? []), ...secrets],
    };
}

/** Runs a case in this process: the synth, or the config error with how many resources were registered first. */
export async function runCase(given: SynthCase): Promise<CaseOutcome> {
    const c = withCredentials(given);
    // Loaded here, so a test file that only reads stored outcomes never loads the program.
    /* eslint-disable @typescript-eslint/no-require-imports */
    const pulumi = require("@pulumi/pulumi") as typeof import("@pulumi/pulumi");
    const { synthesize } = require("../../synth/synthesize") as typeof import("../../synth/synthesize");
    const { ConfigValidationError } = require("../../config/loadConfig") as typeof import("../../config/loadConfig");
    /* eslint-enable @typescript-eslint/no-require-imports */
    const warnings: string[] = [];
    const warn = pulumi.log.warn;
    pulumi.log.warn = (message: string) => {
        warnings.push(String(message));
        return Promise.resolve();
    };
    // The SDK formats a stack trace for every promise it makes (only for its leak report): ~5x slower.
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    let registered = -1;
    try {
        const result = await synthesize(c.stack, {
            configOverrides: c.overrides,
            secretOverrides: c.secretOverrides,
            // The committed stacks name /srv/homeiq, which this machine need not have (config/checkout.ts is tested on its own).
            verifyCheckout: false,
            // Generated port plans may meet the committed other stack's (synth/sharedHost.ts is tested on its own).
            checkOtherStacks: false,
            onMonitor: (m) => {
                registered = 0;
                const push = m.registrations.push.bind(m.registrations);
                m.registrations.push = (...items) => {
                    registered += items.length;
                    return push(...items);
                };
            },
        });
        return { kind: "synth", result, warnings };
    } catch (error) {
        if (!(error instanceof ConfigValidationError)) throw error;
        return { kind: "config-error", error: { message: error.message, problems: error.problems }, registered, warnings };
    } finally {
        Error.stackTraceLimit = limit;
        pulumi.log.warn = warn;
    }
}

/** A case's outcome: stored by the globalSetup, else run now. */
export async function outcomeOf(c: SynthCase): Promise<CaseOutcome> {
    const dir = process.env[CACHE_ENV];
    const file = dir ? path.join(dir, `${caseKey(c)}.json`) : undefined;
    if (file && fs.existsSync(file)) return JSON.parse(fs.readFileSync(file, "utf8")) as CaseOutcome;
    return runCase(c);
}

/** The synth of a case; fails the test with the problems if the config is refused. */
export async function synthOf(c: SynthCase): Promise<SynthResult> {
    const o = await outcomeOf(c);
    if (o.kind !== "synth") throw new Error(`expected ${JSON.stringify(c)} to synthesize, but:\n${o.error.message}`);
    return o.result;
}

/** The synth of a committed stack file as it is. */
export function synthStack(stack: string): Promise<SynthResult> {
    return synthOf({ stack });
}

/** The validation error a case must raise, and how many resources were registered before it. */
export async function configErrorOf(c: SynthCase): Promise<{ error: ConfigErrorOutcome; registered: number }> {
    const o = await outcomeOf(c);
    if (o.kind !== "config-error") throw new Error(`expected ${JSON.stringify(c)} to fail config validation`);
    return { error: o.error, registered: o.registered };
}

/** Runs a stack with config changes and returns the validation error it must raise, plus how many resources were registered. */
export function expectConfigError(
    stack: string,
    overrides: Record<string, string | undefined>,
    extra: { secretOverrides?: readonly string[] } = {},
): Promise<{ error: ConfigErrorOutcome; registered: number }> {
    return configErrorOf({ stack, overrides, secretOverrides: extra.secretOverrides });
}

export function ofType(result: SynthResult, type: string): SynthResource[] {
    return result.resources.filter((r) => r.type === type);
}

export function labelOf(resource: SynthResource, label: string): string | undefined {
    const labels = (resource.inputs.labels ?? []) as Array<{ label: string; value: string }>;
    return labels.find((l) => l.label === label)?.value;
}

/**
 * The catalog services' containers by their com.homeiq.service label (the Docker API proxy is not one:
 * proxyContainer). Throws when there are none (every valid stack deploys at least one service): a test
 * looping over them would otherwise check nothing and pass.
 */
export function containersByService(result: SynthResult): Map<string, SynthResource> {
    const byService = new Map(
        ofType(result, CONTAINER)
            .map((c): [string, SynthResource] => [labelOf(c, "com.homeiq.service") as string, c])
            .filter(([service]) => service !== DOCKER_API_PROXY.key),
    );
    if (byService.size === 0) throw new Error(`the synth of stack ${result.stack} has no containers: nothing to check`);
    return byService;
}

/** The Docker API proxy's container, when the stack deploys one (a service with `dockerApi` is enabled). */
export function proxyContainer(result: SynthResult): SynthResource | undefined {
    return ofType(result, CONTAINER).find((c) => labelOf(c, "com.homeiq.service") === DOCKER_API_PROXY.key);
}

export function envOf(container: SynthResource): Map<string, string> {
    const envs = (container.inputs.envs ?? []) as string[];
    return new Map(
        envs.map((e) => {
            const i = e.indexOf("=");
            return i < 0 ? [e, e] : [e.slice(0, i), e.slice(i + 1)];
        }),
    );
}

/**
 * For the describe block it is called in: the SDK captures a stack trace for every promise (used
 * only for its leak report), and source-map-support rewrites each; without them a synth is about 5x
 * faster. Restored afterwards.
 */
export function withoutPromiseStackTraces(): void {
    const limit = Error.stackTraceLimit;
    beforeAll(() => {
        Error.stackTraceLimit = 0;
    });
    afterAll(() => {
        Error.stackTraceLimit = limit;
    });
}
