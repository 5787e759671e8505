/**
 * Invalid config stops the program before any resource is registered, with every problem listed:
 * the key, the bad value (never a secret), what is allowed, and the command that fixes it.
 */
import { parseStackConfig } from "../../config/schema";
import { CONFIG_ERROR_CASES as CASES, secretOverridesOf } from "./configErrorCases";
import { configErrorOf, expectConfigError } from "./helpers";
import { SERVICE_KEYS } from "../../catalog/services";
import { credentialsFor, ERRORS } from "./synthCases";

describe("invalid config", () => {
    it.each(CASES.map((c) => [c.name, c] as const))("%s", async (_name, c) => {
        const { error, registered } = await expectConfigError(c.stack, c.overrides, { secretOverrides: secretOverridesOf(c) });
        expect(registered).toBe(0);
        const problem = error.problems.find((p) => p.key === c.key);
        expect(problem).toBeDefined();
        expect(problem!.value).toBe(c.value);
        expect(problem!.problem).toMatch(c.problem);
        expect(problem!.fix).toMatch(c.fix);
        expect(problem!.allowed.length).toBeGreaterThan(0);
        // The printed message carries the same facts.
        expect(error.message).toContain(`${c.key} = ${c.value}`);
        expect(error.message).toContain(`fix:     ${problem!.fix}`);
    });

    it("lists every problem at once, not just the first", async () => {
        const { error } = await configErrorOf(ERRORS.everyProblemAtOnce);
        expect(error.problems.map((p) => p.key).sort()).toEqual(
            ["homeiq:corsOrigins[0]", "homeiq:healthWaitTimeoutSeconds", "homeiq:homeAssistantUrl"],
        );
        expect(error.message).toMatch(/^Invalid configuration for stack "prod": 3 problems\. Nothing was deployed\./);
    });

    it("never prints a secret value, even a wrong one", async () => {
        const { error } = await configErrorOf(ERRORS.shortSecret);
        expect(error.message).toContain("homeiq:jwtSecret = [secret]: must be at least 32 characters");
        expect(error.message).not.toContain("short-but-secret-value");
    });

    it("reports a required setting that is missing, with the command to set it", () => {
        const result = parseStackConfig({ profile: "prod", homeiqCheckoutPath: "/srv/homeiq", ...credentialsFor(SERVICE_KEYS) });
        expect(result.ok).toBe(false);
        const problems = result.ok ? [] : result.problems;
        expect(problems.map((p) => `${p.key}: ${p.problem} | ${p.fix}`)).toEqual([
            "homeiq:homeAssistantUrl: is required but not set | pulumi config set homeiq:homeAssistantUrl http://homeassistant.local:8123",
            // No value on the command line: Pulumi prompts for it, so the token stays out of the shell's history.
            "homeiq:homeAssistantToken: is required but not set | pulumi config set --secret homeiq:homeAssistantToken",
        ]);
    });

    it("rejects a key the project does not declare, naming the key it most likely means", () => {
        const result = parseStackConfig({ profile: "dev", homeAssistantUrl: "http://ha:8123", homeAssistantToken: "x".repeat(30), homeiqCheckoutPath: "/x", hostport: "8000", colour: "blue", ...credentialsFor(SERVICE_KEYS) });
        expect(result.ok ? [] : result.problems.map((p) => [p.key, p.problem, p.fix])).toEqual([
            [
                "homeiq:hostport",
                "is not a config key of this project; did you mean homeiq:hostPorts?",
                // "8000" is no valid hostPorts entry, so the fix sets an example there.
                "pulumi config rm homeiq:hostport && pulumi config set --path 'homeiq:hostPorts[0]' health-dashboard=3000",
            ],
            ["homeiq:colour", "is not a config key of this project", "pulumi config rm homeiq:colour"],
        ]);
    });
});
