/**
 * Invalid configs and the one problem each must raise (configErrors.test.ts); synthCases.ts lists
 * them, so the unit project's globalSetup runs each once.
 */
import { isSecretKey } from "../../config/keys";

export interface ConfigErrorCase {
    name: string;
    stack: string;
    overrides: Record<string, string | undefined>;
    key: string;
    value: string;
    problem: RegExp;
    fix: RegExp;
    /** Its secret keys are set in plain text (else, as `pulumi config set --secret` stores them, encrypted). */
    plainText?: true;
}

/** The keys of `c` Pulumi would hold as secrets: its secret keys, unless the case keeps them in plain text. */
export const secretOverridesOf = (c: ConfigErrorCase): string[] =>
    c.plainText ? [] : Object.keys(c.overrides).filter((k) => isSecretKey(k.replace(/^homeiq:/, "")));

export const CONFIG_ERROR_CASES: ConfigErrorCase[] = [
    {
        name: "a secret in plain text in the stack file",
        stack: "prod",
        overrides: { "homeiq:weatherApiKey": "0123456789abcdef0123456789abcdef" },
        plainText: true,
        key: "homeiq:weatherApiKey",
        value: "[secret]",
        problem: /^is stored in plain text in the stack file: anyone who can read the file \(or the repository it is committed to\) has it$/,
        fix: /^pulumi config set --secret homeiq:weatherApiKey --stack prod$/,
    },
    {
        name: "a port on every interface that the prod policy pack would refuse",
        stack: "prod",
        overrides: { "homeiq:hostPorts": JSON.stringify(["health-dashboard=9080"]) },
        key: "homeiq:hostPorts[0]",
        value: '"health-dashboard=9080"',
        problem: /^publishes health-dashboard on every interface on host port 9080, which the policy pack would refuse at preview: policy\/config\/prod\.json allows 3000 there$/,
        // Keeps the user's choice (reachable from the LAN), asking only for the reason the pack wants.
        fix: /^pulumi config set --path 'homeiq:lanAccess\[0\]' 'health-dashboard@0\.0\.0\.0=<who reaches it, from where>' --stack prod$/,
    },
    {
        name: "a Home Assistant URL that is not http(s) or ws(s)",
        stack: "prod",
        overrides: { "homeiq:homeAssistantUrl": "ftp://homeassistant.local" },
        key: "homeiq:homeAssistantUrl",
        value: '"ftp://homeassistant.local"',
        problem: /must be an http\(s\):\/\/ or ws\(s\):\/\/ URL/,
        fix: /^pulumi config set homeiq:homeAssistantUrl http:\/\/homeassistant\.local:8123 --stack prod$/,
    },
    {
        name: "two services on one host port",
        stack: "prod",
        overrides: { "homeiq:hostPorts": JSON.stringify(["admin-api=8086"]) },
        key: "homeiq:hostPorts[0]",
        value: '"admin-api=8086"',
        problem: /puts influxdb and admin-api on the same host port 8086/,
        // A port no service uses, so the command runs as written (no `<placeholder>`, which a shell reads as a redirect).
        fix: /^pulumi config set --path 'homeiq:hostPorts\[0\]' admin-api=20000 --stack prod$/,
    },
    {
        name: "* in prod CORS",
        stack: "prod",
        overrides: { "homeiq:corsOrigins": JSON.stringify(["http://homeiq.local:3000", "*"]) },
        key: "homeiq:corsOrigins[1]",
        value: '"*"',
        problem: /allows every origin \('\*'\), which the prod profile forbids/,
        fix: /^pulumi config set --path 'homeiq:corsOrigins\[1\]' http:\/\/homeiq\.lan:3000 --stack prod$/,
    },
    {
        name: "a memory limit below its reservation",
        stack: "prod",
        overrides: { "homeiq:resourceOverrides": JSON.stringify(["data-api:memoryMiB=128"]) },
        key: "homeiq:resourceOverrides[0]",
        value: '"data-api:memoryMiB=128"',
        problem: /gives data-api a memory limit of 128 MiB, below its reservation of 256 MiB/,
        fix: /^pulumi config set --path 'homeiq:resourceOverrides\[0\]' data-api:memoryMiB=512 --stack prod$/,
    },
    {
        name: "an override for a service that does not exist",
        stack: "dev",
        overrides: { "homeiq:resourceOverrides": JSON.stringify(["weather-api:memoryMiB=256"]) },
        key: "homeiq:resourceOverrides[0]",
        value: '"weather-api:memoryMiB=256"',
        problem: /names a service that does not exist: 'weather-api'/,
        fix: /^pulumi config set --path 'homeiq:resourceOverrides\[0\]' data-api:memoryMiB=768 --stack dev$/,
    },
    {
        name: "a non-positive timeout",
        stack: "dev",
        overrides: { "homeiq:healthWaitTimeoutSeconds": "0" },
        key: "homeiq:healthWaitTimeoutSeconds",
        value: '"0"',
        problem: /must be a positive number of seconds/,
        fix: /^pulumi config set homeiq:healthWaitTimeoutSeconds 180 --stack dev$/,
    },
    // Placeholders long enough for every length rule: only the placeholder rule refuses them.
    {
        name: "a placeholder credential from the old compose files (value never shown)",
        stack: "prod",
        overrides: { "homeiq:influxdbAdminPassword": "super-secret-jwt-key" },
        key: "homeiq:influxdbAdminPassword",
        value: "[secret]",
        problem: /^is a placeholder credential from the old compose files$/,
        fix: /^pulumi config set --secret homeiq:influxdbAdminPassword --stack prod$/,
    },
    {
        name: "a your_..._here template filler as a password",
        stack: "prod",
        overrides: { "homeiq:adminPassword": "your_admin_password_here" },
        key: "homeiq:adminPassword",
        value: "[secret]",
        problem: /^is a placeholder credential from the old compose files$/,
        fix: /^pulumi config set --secret homeiq:adminPassword --stack prod$/,
    },
    {
        name: "an unfilled <...> from an example command as a secret",
        stack: "prod",
        overrides: { "homeiq:jwtSecret": "<paste-a-secret-of-32-characters-or-more>" },
        key: "homeiq:jwtSecret",
        value: "[secret]",
        problem: /^is a placeholder credential from the old compose files$/,
        fix: /^pulumi config set --secret homeiq:jwtSecret --stack prod$/,
    },
    {
        name: "an old placeholder as the Home Assistant token",
        stack: "prod",
        overrides: { "homeiq:homeAssistantToken": "YOUR_HOME_ASSISTANT_TOKEN_HERE" },
        key: "homeiq:homeAssistantToken",
        value: "[secret]",
        problem: /^is a placeholder, not a real token$/,
        fix: /^pulumi config set --secret homeiq:homeAssistantToken --stack prod$/,
    },
    {
        name: "a disabled service without a reason",
        stack: "dev",
        overrides: { "homeiq:disabledServices": JSON.stringify(["calendar="]) },
        key: "homeiq:disabledServices[0]",
        value: '"calendar="',
        problem: /disables a service without a reason/,
        fix: /^pulumi config set --path 'homeiq:disabledServices\[0\]' 'calendar=<why this stack does not run it>' --stack dev$/,
    },
    {
        name: "disabling a service another one needs",
        stack: "dev",
        overrides: { "homeiq:disabledServices": JSON.stringify(["data-api=not needed"]) },
        key: "homeiq:disabledServices[0]",
        value: '"data-api=not needed"',
        problem: /^disables data-api, which admin-api and health-dashboard depend on$/,
        fix: /^pulumi config rm --path 'homeiq:disabledServices\[0\]' --stack dev$/,
    },
    {
        name: "an unknown profile",
        stack: "dev",
        overrides: { "homeiq:profile": "production" },
        key: "homeiq:profile",
        value: '"production"',
        problem: /is not a known profile/,
        fix: /^pulumi config set homeiq:profile prod --stack dev$/,
    },
    {
        name: "registry images not pinned by digest",
        stack: "prod",
        overrides: {
            "homeiq:imageSource": "registry",
            "homeiq:imageReferences": JSON.stringify(["data-api=ghcr.io/homeiq/data-api:latest"]),
        },
        key: "homeiq:imageReferences[0]",
        value: '"data-api=ghcr.io/homeiq/data-api:latest"',
        problem: /is not pinned by digest/,
        fix: /^pulumi config set --path 'homeiq:imageReferences\[0\]' /,
    },
];
