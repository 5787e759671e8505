/**
 * The homeiq-security policy pack, run offline through evaluatePolicies: the same
 * ResourceValidationPolicy objects the PolicyPack in policy/index.ts serves to the Pulumi engine.
 */
import { spawn } from "child_process";
import type { ChildProcess } from "child_process";
import * as fs from "fs";
import * as path from "path";
import * as grpc from "@grpc/grpc-js";
import * as analyzerRpc from "@pulumi/pulumi/proto/analyzer_grpc_pb";
import * as analyzerProto from "@pulumi/pulumi/proto/analyzer_pb";
import { Empty } from "google-protobuf/google/protobuf/empty_pb";
import { Struct } from "google-protobuf/google/protobuf/struct_pb";
import {
    CONTAINER_TYPE,
    POLICY_NAMES,
    PLACEHOLDER_CREDENTIALS,
    VOLUME_TYPE,
    enforcementLevelFor,
    evaluatePolicies,
    evaluatePoliciesDetailed,
    policies,
} from "../../policy/policies";
import type { Evaluation, PackConfig, PolicyName, ResourceInput, Violation } from "../../policy/policies";
import { POLICY_EXCEPTIONS } from "../../policy/exceptions";
import { SERVICE_KEYS } from "../../catalog/services";
import type { SynthResult } from "../../synth/synthesize";
import { synthOf, synthStack } from "./helpers";
import { VARIANTS } from "./synthCases";

const POLICY_DIR = path.join(__dirname, "..", "..", "policy");

function readPackConfig(stack: "dev" | "prod"): PackConfig {
    return JSON.parse(fs.readFileSync(path.join(POLICY_DIR, "config", `${stack}.json`), "utf8")) as PackConfig;
}

type Inputs = Record<string, unknown>;

/** A container as the program registers it in prod: every policy of the pack passes. */
function hardenedInputs(service = "websocket-ingestion"): Inputs {
    return {
        name: `prod-${service}`,
        image: `homeiq/${service}@sha256:${"0".repeat(64)}`,
        user: "1001:1001",
        securityOpts: ["no-new-privileges=true"],
        capabilities: { drops: ["ALL"] },
        privileged: false,
        memory: 256,
        memoryReservation: 128,
        cpus: "0.5",
        readOnly: true,
        healthcheck: {
            tests: ["CMD", "curl", "-f", "http://localhost:8001/health"],
            interval: "30s",
            timeout: "10s",
            retries: 3,
            startPeriod: "30s",
            startInterval: "1s",
        },
        logDriver: "json-file",
        logOpts: { "max-size": "10m", "max-file": "3" },
        restart: "unless-stopped",
        ports: [{ internal: 8001, external: 8001, ip: "127.0.0.1", protocol: "tcp" }],
        volumes: [{ volumeName: "prod-homeiq-logs", containerPath: "/var/log/ha-ingestor" }],
        labels: [
            { label: "com.homeiq.service", value: service },
            { label: "com.homeiq.stack", value: "prod" },
            { label: "com.homeiq.pids-limit", value: "256" },
        ],
        envs: ["HOME_ASSISTANT_URL=http://homeassistant.local:8123", "HOME_ASSISTANT_TOKEN=[secret]", "INFLUXDB_TOKEN=[secret]", "LOG_LEVEL=INFO"],
    };
}

function container(inputs: Inputs, name = String(inputs.name ?? "container")): ResourceInput {
    return { type: CONTAINER_TYPE, name, inputs };
}

function dataVolume(options: ResourceInput["options"] = { protect: false, retainOnDelete: true }): ResourceInput {
    return {
        type: VOLUME_TYPE,
        name: "influxdb-data",
        inputs: { name: "prod-influxdb-data", labels: [{ label: "com.homeiq.data", value: "true" }] },
        options,
    };
}

/** `inputs` with one top-level key replaced (or removed when `value` is undefined). */
function withInput(inputs: Inputs, key: string, value: unknown): Inputs {
    const copy: Inputs = { ...inputs };
    if (value === undefined) {
        delete copy[key];
    } else {
        copy[key] = value;
    }
    return copy;
}

function policiesOf(violations: Violation[]): PolicyName[] {
    return [...new Set(violations.map((v) => v.policy))];
}

describe("the hardened container spec", () => {
    it("passes every policy, with the prod and the dev pack config", () => {
        const resources = [container(hardenedInputs()), dataVolume()];
        expect(evaluatePolicies(resources, readPackConfig("prod"))).toEqual([]);
        expect(evaluatePolicies(resources, readPackConfig("dev"))).toEqual([]);
        expect(evaluatePolicies(resources, {})).toEqual([]);
    });
});

describe("one broken spec per policy is caught by exactly that policy", () => {
    const good = hardenedInputs();
    const cases: Array<{ policy: PolicyName; change: string; resource: ResourceInput; message: RegExp[] }> = [
        {
            policy: "container-non-root-user",
            change: "user 0:0",
            resource: container(withInput(good, "user", "0:0")),
            message: [/runs as root \(user "0:0"\)/, /security\.nonRootUser/, /catalog\/services\.ts/, /hardening\.runAsNonRoot/, /policy\/exceptions\.ts/],
        },
        {
            policy: "container-no-new-privileges",
            change: "no securityOpts",
            resource: container(withInput(good, "securityOpts", [])),
            message: [/does not set no-new-privileges/, /hardening\.noNewPrivileges: true in the stack profile \(stacks\/<profile>\.ts/, /no-new-privileges=true/],
        },
        {
            policy: "container-capabilities-restricted",
            change: "adds SYS_ADMIN",
            resource: container(withInput(good, "capabilities", { drops: ["ALL"], adds: ["SYS_ADMIN"] })),
            message: [/adds capabilities that are not allowed for it: SYS_ADMIN \(allowed: none\)/, /policy\/exceptions\.ts/, /allowedCapabilities/],
        },
        {
            policy: "container-not-privileged",
            change: "privileged true",
            resource: container(withInput(good, "privileged", true)),
            message: [/is privileged/, /remove privileged/],
        },
        {
            policy: "container-resource-limits",
            change: "no cpus",
            resource: container(withInput(good, "cpus", undefined)),
            message: [/has no CPU limit \(`cpus` or `cpuQuota`\)/, /resources\.websocket-ingestion \(memoryMiB, cpus\) in the stack profile/, /homeiq:resourceOverrides/],
        },
        {
            policy: "container-pids-limit",
            change: "no com.homeiq.pids-limit label",
            resource: container(withInput(good, "labels", (good.labels as Array<{ label: string }>).filter((l) => l.label !== "com.homeiq.pids-limit"))),
            message: [/has no com\.homeiq\.pids-limit label/, /fork bomb/, /pidsLimit in the stack profile/, /security\.pidsLimit/],
        },
        {
            policy: "container-healthcheck",
            change: "no healthcheck",
            resource: container(withInput(good, "healthcheck", undefined)),
            message: [/has no health check/, /command that exists in its image/],
        },
        {
            policy: "container-log-rotation",
            change: "logOpts without max-file",
            resource: container(withInput(good, "logOpts", { "max-size": "10m" })),
            message: [/does not rotate its logs: logOpts has no max-file/, /logRotation \(maxSizeMiB, maxFiles\)/],
        },
        {
            policy: "container-restart-policy",
            change: "restart no",
            resource: container(withInput(good, "restart", "no")),
            message: [/has restart "no"/, /restartPolicy to "unless-stopped"/],
        },
        {
            policy: "container-no-public-ports",
            change: "port on 0.0.0.0",
            resource: container(withInput(good, "ports", [{ internal: 8001, external: 8001, ip: "0.0.0.0", protocol: "tcp" }])),
            message: [/publishes container port 8001 on host port 8001 on all interfaces \(ip "0\.0\.0\.0"\)/, /bind it to 127\.0\.0\.1 \(publishBindAddress/, /allowedPublicPorts/],
        },
        {
            policy: "container-docker-host-paths",
            change: "mounts the Docker socket read-only without an exception",
            resource: container(
                withInput(good, "volumes", [
                    { volumeName: "prod-homeiq-logs", containerPath: "/var/log/ha-ingestor" },
                    { hostPath: "/var/run/docker.sock", containerPath: "/var/run/docker.sock", readOnly: true },
                ]),
            ),
            message: [/mounts the Docker socket \(\/var\/run\/docker\.sock/, /Only the stack's Docker API proxy \(docker-api-proxy\) may hold it/, /remove the socket from its hostMounts/],
        },
        {
            policy: "container-no-placeholder-credentials",
            change: "INFLUXDB_TOKEN=ha-ingestor-token",
            resource: container(
                withInput(good, "envs", ["HOME_ASSISTANT_TOKEN=[secret]", "INFLUXDB_TOKEN=ha-ingestor-token", "LOG_LEVEL=INFO"]),
            ),
            message: [/sets INFLUXDB_TOKEN to the placeholder credential "ha-ingestor-token"/, /pulumi config set --secret homeiq:/],
        },
        {
            policy: "data-volume-retained",
            change: "retainOnDelete false",
            resource: dataVolume({ protect: false, retainOnDelete: false }),
            message: [/data volume "prod-influxdb-data"/, /neither retainOnDelete nor protect is set/, /retainDataVolumes: true/],
        },
    ];

    it("covers every policy of the pack", () => {
        expect(cases.map((c) => c.policy).sort()).toEqual([...POLICY_NAMES].sort());
    });

    it.each(cases)("$policy: $change", ({ policy, resource, message }) => {
        const violations = evaluatePolicies([resource], readPackConfig("prod"));
        expect(policiesOf(violations)).toEqual([policy]);
        expect(violations).toHaveLength(1);
        const [v] = violations;
        expect(v?.enforcementLevel).toBe("mandatory");
        expect(v?.resourceName).toBe(resource.name);
        if (resource.type === CONTAINER_TYPE) {
            // Names the container (its `name` input) and its service label.
            expect(v?.message).toContain('container "prod-websocket-ingestion" (com.homeiq.service=websocket-ingestion)');
        }
        for (const m of message) {
            expect(v?.message).toMatch(m);
        }
        expect(v?.message).toMatch(/Fix: /);
    });
});

describe("container-non-root-user", () => {
    it.each(["root", "0", "0:0", "root:root", "0:1001", "", "  "])("rejects user %j", (user) => {
        expect(policiesOf(evaluatePolicies([container(withInput(hardenedInputs(), "user", user))]))).toEqual(["container-non-root-user"]);
    });

    it("rejects a container with no user at all (the image default applies)", () => {
        const [v] = evaluatePolicies([container(withInput(hardenedInputs("data-api"), "user", undefined))]);
        expect(v?.message).toMatch(/container "prod-data-api" \(com\.homeiq\.service=data-api\) has no `user`/);
    });

    it.each(["1001", "1001:1001", "appuser", "10:0"])("accepts user %j", (user) => {
        expect(evaluatePolicies([container(withInput(hardenedInputs(), "user", user))])).toEqual([]);
    });
});

describe("container-no-new-privileges", () => {
    it.each(["no-new-privileges=true", "no-new-privileges:true", "no-new-privileges", "NO-NEW-PRIVILEGES:TRUE"])("accepts %j", (opt) => {
        expect(evaluatePolicies([container(withInput(hardenedInputs(), "securityOpts", ["seccomp=unconfined", opt]))])).toEqual([]);
    });

    it.each(["no-new-privileges=false", "no-new-privileges:false"])("rejects %j", (opt) => {
        expect(policiesOf(evaluatePolicies([container(withInput(hardenedInputs(), "securityOpts", [opt]))]))).toEqual([
            "container-no-new-privileges",
        ]);
    });
});

describe("container-capabilities-restricted", () => {
    it("requires ALL among the dropped capabilities", () => {
        const violations = evaluatePolicies([container(withInput(hardenedInputs(), "capabilities", { drops: ["NET_RAW"] }))]);
        expect(violations).toHaveLength(1);
        expect(violations[0]?.message).toMatch(/does not drop all capabilities \(capabilities\.drops: \["NET_RAW"\]\)/);
    });

    it("accepts a capability listed in the pack config, with or without the CAP_ prefix", () => {
        const spec = withInput(hardenedInputs(), "capabilities", { drops: ["ALL"], adds: ["CAP_NET_BIND_SERVICE"] });
        const config: PackConfig = { "container-capabilities-restricted": { allowedCapabilities: ["NET_BIND_SERVICE"] } };
        expect(evaluatePolicies([container(spec)], config)).toEqual([]);
        expect(policiesOf(evaluatePolicies([container(spec)]))).toEqual(["container-capabilities-restricted"]);
    });
});

describe("container-resource-limits", () => {
    it("accepts cpuQuota in place of cpus", () => {
        expect(evaluatePolicies([container(withInput(withInput(hardenedInputs(), "cpus", undefined), "cpuQuota", 50000))])).toEqual([]);
    });

    it("names both missing limits in one message", () => {
        const spec = withInput(withInput(hardenedInputs(), "cpus", undefined), "memory", 0);
        const violations = evaluatePolicies([container(spec)]);
        expect(violations).toHaveLength(1);
        expect(violations[0]?.message).toMatch(/has no memory limit \(`memory`, in MiB\) and no CPU limit \(`cpus` or `cpuQuota`\)\. Fix: /);
    });
});

describe("container-pids-limit", () => {
    const withPids = (value: string): ResourceInput =>
        container(
            withInput(hardenedInputs(), "labels", [
                { label: "com.homeiq.service", value: "websocket-ingestion" },
                { label: "com.homeiq.pids-limit", value },
            ]),
        );

    it.each(["0", "-1", "", "unlimited", "1.5", "25600000"])("rejects the label %j (unlimited, empty or not a whole number of at most 7 digits)", (value) => {
        const violations = evaluatePolicies([withPids(value)], readPackConfig("prod"));
        expect(policiesOf(violations)).toEqual(["container-pids-limit"]);
        expect(violations[0]?.message).toContain(`has com.homeiq.pids-limit=${JSON.stringify(value)}, not a whole number from 1`);
    });

    it.each(["16", "256", "1024"])("accepts %j", (value) => {
        expect(evaluatePolicies([withPids(value)], readPackConfig("prod"))).toEqual([]);
    });

    it("is mandatory in prod and in dev: both profiles give every container a limit", () => {
        const pids = policies.find((p) => p.name === "container-pids-limit")!;
        expect(enforcementLevelFor(pids, readPackConfig("prod"))).toBe("mandatory");
        expect(enforcementLevelFor(pids, readPackConfig("dev"))).toBe("mandatory");
    });
});

describe("container-healthcheck", () => {
    it("rejects a health check disabled with NONE", () => {
        const violations = evaluatePolicies([container(withInput(hardenedInputs(), "healthcheck", { tests: ["NONE"] }))]);
        expect(violations.map((v) => v.message)).toEqual([expect.stringMatching(/has no health check \(its test is NONE\)/)]);
    });
});

describe("container-log-rotation", () => {
    it.each([
        ["logDriver syslog", withInput(hardenedInputs(), "logDriver", "syslog"), /logDriver is "syslog"/],
        ["no logDriver", withInput(hardenedInputs(), "logDriver", undefined), /logDriver is not set/],
        ["no logOpts", withInput(hardenedInputs(), "logOpts", undefined), /logOpts has no max-size; logOpts has no max-file/],
        ["an empty max-size and a null max-file", withInput(hardenedInputs(), "logOpts", { "max-size": " ", "max-file": null }), /logOpts has no max-size; logOpts has no max-file/],
    ])("rejects %s", (_label, spec, message) => {
        const violations = evaluatePolicies([container(spec)]);
        expect(policiesOf(violations)).toEqual(["container-log-rotation"]);
        expect(violations[0]?.message).toMatch(message);
    });

    it("accepts the local driver", () => {
        expect(evaluatePolicies([container(withInput(hardenedInputs(), "logDriver", "local"))])).toEqual([]);
    });
});

describe("container-restart-policy", () => {
    it.each(["unless-stopped", "always", "on-failure"])("accepts %j", (restart) => {
        expect(evaluatePolicies([container(withInput(hardenedInputs(), "restart", restart))])).toEqual([]);
    });

    it("rejects an unset restart policy", () => {
        const [v] = evaluatePolicies([container(withInput(hardenedInputs(), "restart", undefined))]);
        expect(v?.message).toMatch(/has restart unset \(Docker's default is no\)/);
    });
});

describe("container-no-public-ports", () => {
    const dashboard = (ip: string | undefined): Inputs =>
        withInput(hardenedInputs("health-dashboard"), "ports", [{ internal: 80, external: 3000, ...(ip === undefined ? {} : { ip }), protocol: "tcp" }]);

    it.each([undefined, "", "0.0.0.0", "::"])("rejects ip %j unless the port is allowed", (ip) => {
        const violations = evaluatePolicies([container(dashboard(ip))], {}).filter((v) => v.policy === "container-no-public-ports");
        expect(violations).toHaveLength(1);
        expect(violations[0]?.message).toMatch(/publishes container port 80 on host port 3000 on all interfaces/);
        const allowed: PackConfig = { "container-no-public-ports": { allowedPublicPorts: [3000] } };
        expect(evaluatePolicies([container(dashboard(ip))], allowed).filter((v) => v.policy === "container-no-public-ports")).toEqual([]);
    });

    it("accepts a port published on purpose (homeiq:lanAccess: the lan-access label with a reason), for that container alone", () => {
        const lan = (reason: string): Inputs => withInput(dashboard("0.0.0.0"), "labels", [...(hardenedInputs("health-dashboard").labels as unknown[]), { label: "com.homeiq.lan-access", value: reason }]);
        const publicPorts = (inputs: Inputs[]) => evaluatePolicies(inputs.map((i, n) => container(i, `c${n}`)), {}).filter((v) => v.policy === "container-no-public-ports");
        expect(publicPorts([lan("Grafana on the NAS reads it")])).toEqual([]);
        // An empty reason is no reason; and the label on one container lets no other through.
        expect(publicPorts([lan(" ")])).toHaveLength(1);
        expect(publicPorts([lan("Grafana on the NAS reads it"), dashboard("0.0.0.0")])).toHaveLength(1);
    });

    it("accepts a port bound to one address", () => {
        expect(evaluatePolicies([container(dashboard("192.168.1.10"))]).filter((v) => v.policy === "container-no-public-ports")).toEqual([]);
    });

    it("rejects publishAllPorts", () => {
        const violations = evaluatePolicies([container(withInput(hardenedInputs(), "publishAllPorts", true))]);
        expect(violations.map((v) => v.message)).toEqual([expect.stringMatching(/sets publishAllPorts/)]);
    });

    it("rejects a port with no external port (Docker picks one on all interfaces)", () => {
        const violations = evaluatePolicies([container(withInput(hardenedInputs(), "ports", [{ internal: 8001 }]))]);
        expect(violations.map((v) => v.message)).toEqual([expect.stringMatching(/on a random host port on all interfaces \(ip unset\)/)]);
    });
});

describe("container-docker-host-paths", () => {
    const socketRo = { hostPath: "/var/run/docker.sock", containerPath: "/var/run/docker.sock", readOnly: true };
    const containersRo = { hostPath: "/var/lib/docker/containers", containerPath: "/var/lib/docker/containers", readOnly: true };
    const spec = (service: string, volumes: unknown[]): Inputs => withInput(hardenedInputs(service), "volumes", volumes);
    const run = (inputs: Inputs, config: PackConfig = {}) =>
        evaluatePolicies([container(inputs)], config).filter((v) => v.policy === "container-docker-host-paths");

    it("lets the Docker API proxy mount the socket read-only, and log-aggregator the containers' logs read-only", () => {
        expect(run(spec("docker-api-proxy", [socketRo]))).toEqual([]);
        expect(run(spec("log-aggregator", [containersRo]))).toEqual([]);
    });

    it("refuses the raw socket to admin-api, which reads the engine through the proxy", () => {
        const violations = run(spec("admin-api", [socketRo]));
        expect(violations.map((v) => v.message)).toEqual([
            expect.stringMatching(
                /container "prod-admin-api" \(com\.homeiq\.service=admin-api\) mounts the Docker socket \(\/var\/run\/docker\.sock .*root on the host, read-only or not\. Only the stack's Docker API proxy \(docker-api-proxy\) may hold it\. Fix: give "admin-api" `dockerApi`/,
            ),
        ]);
    });

    it("rejects the socket mounted read-write, even into the proxy", () => {
        const violations = run(spec("docker-api-proxy", [{ ...socketRo, readOnly: false }]));
        expect(violations.map((v) => v.message)).toEqual([
            expect.stringMatching(/container "prod-docker-api-proxy" \(com\.homeiq\.service=docker-api-proxy\) mounts the Docker host path \/var\/run\/docker\.sock .* read-write\. Fix: mount it read-only/),
        ]);
    });

    it("limits each exception to its own path", () => {
        expect(run(spec("docker-api-proxy", [containersRo]))).toHaveLength(1);
        expect(run(spec("log-aggregator", [socketRo]))).toHaveLength(1);
        // The proxy's exception names the socket itself, not the folder holding it.
        expect(run(spec("docker-api-proxy", [{ hostPath: "/var/run", containerPath: "/host/run", readOnly: true }]))).toHaveLength(1);
    });

    it("sees a parent directory of the socket, and the mounts[] form", () => {
        expect(run(spec("admin-api", [{ hostPath: "/var/run", containerPath: "/host/run", readOnly: true }]))).toHaveLength(1);
        // The same socket spelt with doubled and trailing slashes.
        expect(run(spec("data-api", [{ hostPath: "/var/run//docker.sock/", containerPath: "/s", readOnly: true }])).map((v) => v.message)).toEqual([
            expect.stringMatching(/mounts the Docker socket \(\/var\/run\/docker\.sock at \/s, via volumes\).*Only the stack's Docker API proxy/),
        ]);
        const viaMounts = withInput(hardenedInputs("data-api"), "mounts", [{ type: "bind", source: "/var/run/docker.sock", target: "/var/run/docker.sock" }]);
        const violations = run(viaMounts);
        expect(violations.map((v) => v.message)).toEqual([
            expect.stringMatching(/container "prod-data-api" .*mounts the Docker socket .* via mounts\).*Only the stack's Docker API proxy/),
            expect.stringMatching(/via mounts\) read-write/),
        ]);
    });

    it("lets the pack config's dockerSocketServices allow /var/lib/docker paths, read-only only, but never the socket", () => {
        const config: PackConfig = { "container-docker-host-paths": { dockerSocketServices: ["data-api"] } };
        expect(run(spec("data-api", [containersRo]), config)).toEqual([]);
        expect(run(spec("data-api", [{ ...containersRo, readOnly: false }]), config)).toHaveLength(1);
        expect(run(spec("data-api", [socketRo]), config).map((v) => v.message)).toEqual([expect.stringMatching(/mounts the Docker socket/)]);
    });

    it("ignores ordinary bind mounts and named volumes", () => {
        expect(run(spec("admin-api", [{ hostPath: "/srv/homeiq/infrastructure", containerPath: "/app/infrastructure", readOnly: true }]))).toEqual([]);
    });
});

describe("container-no-placeholder-credentials", () => {
    const placeholders = [...PLACEHOLDER_CREDENTIALS, "your_influxdb_token_here", "YOUR_HA_TOKEN_HERE", "ChangeMe"];

    it.each(placeholders)("rejects a variable set to %j", (value) => {
        const violations = evaluatePolicies([container(withInput(hardenedInputs(), "envs", [`SOME_SECRET=${value}`]))]);
        expect(policiesOf(violations)).toEqual(["container-no-placeholder-credentials"]);
        expect(violations[0]?.message).toMatch(/sets SOME_SECRET to the placeholder credential/);
    });

    it.each(["[secret]", "admin", "admin1234", "my-ha-ingestor-token-2", "INFO", ""])("accepts %j", (value) => {
        expect(evaluatePolicies([container(withInput(hardenedInputs(), "envs", [`SOME_SECRET=${value}`]))])).toEqual([]);
    });

    it("reports every placeholder, one message each", () => {
        const envs = ["DOCKER_INFLUXDB_INIT_PASSWORD=admin123", "JWT_SECRET_KEY=super-secret-jwt-key", "ADMIN_PASSWORD=adminpass"];
        const violations = evaluatePolicies([container(withInput(hardenedInputs("admin-api"), "envs", envs))]);
        expect(violations.map((v) => v.message.match(/sets (\w+) to/)?.[1])).toEqual(["DOCKER_INFLUXDB_INIT_PASSWORD", "JWT_SECRET_KEY", "ADMIN_PASSWORD"]);
    });
});

describe("data-volume-retained", () => {
    it("accepts protect in place of retainOnDelete", () => {
        expect(evaluatePolicies([dataVolume({ protect: true, retainOnDelete: false })])).toEqual([]);
    });

    it("treats a missing retainOnDelete in a known options object as false", () => {
        expect(policiesOf(evaluatePolicies([dataVolume({ protect: false })]))).toEqual(["data-volume-retained"]);
    });

    it("reports not-applicable, not a pass or a violation, when retainOnDelete cannot be seen (as under the engine)", () => {
        const { violations, notApplicable } = evaluatePoliciesDetailed([{ ...dataVolume(), options: undefined }]);
        expect(violations).toEqual([]);
        expect(notApplicable.filter((n) => n.policy === "data-volume-retained")).toEqual([
            expect.objectContaining({ resourceName: "influxdb-data", reason: expect.stringMatching(/retainOnDelete cannot be seen by a policy pack/) }),
        ]);
    });

    it("ignores volumes without the data label", () => {
        const scratch: ResourceInput = { type: VOLUME_TYPE, name: "scratch", inputs: { name: "prod-scratch" }, options: { protect: false, retainOnDelete: false } };
        expect(evaluatePolicies([scratch])).toEqual([]);
    });
});

describe("exceptions", () => {
    const nginxSpec = (service: string): Inputs =>
        withInput(
            withInput(hardenedInputs(service), "user", undefined),
            "capabilities",
            { drops: ["ALL"], adds: ["CHOWN", "SETUID", "SETGID", "NET_BIND_SERVICE"] },
        );
    const influxSpec = (service: string): Inputs =>
        withInput(
            withInput(hardenedInputs(service), "user", undefined),
            "capabilities",
            { drops: ["ALL"], adds: ["CHOWN", "SETUID", "SETGID", "DAC_OVERRIDE", "FOWNER"] },
        );

    it("lets health-dashboard start nginx as root with its four capabilities; the same spec fails for sports-data", () => {
        expect(evaluatePolicies([container(nginxSpec("health-dashboard"))])).toEqual([]);
        const violations = evaluatePolicies([container(nginxSpec("sports-data"))]);
        expect(policiesOf(violations).sort()).toEqual(["container-capabilities-restricted", "container-non-root-user"]);
        expect(violations.find((v) => v.policy === "container-capabilities-restricted")?.message).toMatch(
            /container "prod-sports-data" \(com\.homeiq\.service=sports-data\) adds capabilities that are not allowed for it: CHOWN, SETUID, SETGID, NET_BIND_SERVICE/,
        );
    });

    it("gives influxdb no exception: it runs as its image's influxdb user (1000:1000) with no capability added", () => {
        expect(policiesOf(evaluatePolicies([container(influxSpec("influxdb"))])).sort()).toEqual([
            "container-capabilities-restricted",
            "container-non-root-user",
        ]);
        expect(evaluatePolicies([container(hardenedInputs("influxdb"))])).toEqual([]);
    });

    it("does not let an excepted service add a capability outside its own entry", () => {
        const spec = withInput(nginxSpec("health-dashboard"), "capabilities", { drops: ["ALL"], adds: ["NET_BIND_SERVICE", "SYS_PTRACE"] });
        const violations = evaluatePolicies([container(spec)]);
        expect(violations.map((v) => v.message)).toEqual([
            expect.stringMatching(/adds capabilities that are not allowed for it: SYS_PTRACE \(allowed: CHOWN, NET_BIND_SERVICE, SETGID, SETUID\)/),
        ]);
    });

    it("gives no exception to a container without the service label", () => {
        const spec = nginxSpec("health-dashboard");
        spec.labels = [];
        const violations = evaluatePolicies([container(spec)]);
        expect(violations.find((v) => v.policy === "container-non-root-user")?.message).toMatch(/\(no com\.homeiq\.service label\)/);
    });

    it("each name an existing policy, carry a reason and appear once", () => {
        const keys = POLICY_EXCEPTIONS.map((e) => `${e.policy}/${e.service}`);
        expect(new Set(keys).size).toBe(keys.length);
        for (const e of POLICY_EXCEPTIONS) {
            expect(POLICY_NAMES).toContain(e.policy);
            expect(e.reason.length).toBeGreaterThan(40);
        }
        expect(keys.sort()).toEqual([
            "container-capabilities-restricted/health-dashboard",
            "container-docker-host-paths/docker-api-proxy",
            "container-docker-host-paths/log-aggregator",
            "container-non-root-user/health-dashboard",
        ]);
    });
});

describe("enforcement levels and pack config", () => {
    const rootContainer = container(withInput(hardenedInputs(), "user", undefined));

    it("is mandatory by default and in prod", () => {
        expect(evaluatePolicies([rootContainer]).map((v) => v.enforcementLevel)).toEqual(["mandatory"]);
        expect(evaluatePolicies([rootContainer], readPackConfig("prod")).map((v) => v.enforcementLevel)).toEqual(["mandatory"]);
    });

    it("dev downgrades exactly the hardening the dev profile leaves out (non-root, capabilities) to advisory", () => {
        const dev = readPackConfig("dev");
        const advisory = policies.filter((p) => enforcementLevelFor(p, dev) === "advisory").map((p) => p.name);
        expect(advisory).toEqual(["container-non-root-user", "container-capabilities-restricted"]);
        expect(policies.every((p) => enforcementLevelFor(p, readPackConfig("prod")) === "mandatory")).toBe(true);
        expect(evaluatePolicies([rootContainer], dev).map((v) => v.enforcementLevel)).toEqual(["advisory"]);
        const placeholder = container(withInput(hardenedInputs(), "envs", ["ADMIN_PASSWORD=adminpass"]));
        expect(evaluatePolicies([placeholder], dev).map((v) => v.enforcementLevel)).toEqual(["mandatory"]);
    });

    it("skips a disabled policy, and `all` sets the level of the others", () => {
        expect(evaluatePolicies([rootContainer], { "container-non-root-user": "disabled" })).toEqual([]);
        expect(evaluatePolicies([rootContainer], { all: "advisory" }).map((v) => v.enforcementLevel)).toEqual(["advisory"]);
        expect(
            evaluatePolicies([rootContainer], { all: "advisory", "container-non-root-user": { enforcementLevel: "mandatory" } }).map(
                (v) => v.enforcementLevel,
            ),
        ).toEqual(["mandatory"]);
    });

    it("rejects an unknown policy, an unknown setting and a wrongly typed setting, listing each", () => {
        const bad: PackConfig = {
            "container-no-root": "advisory",
            "container-no-public-ports": { allowedPublicPort: [3000] },
            "container-capabilities-restricted": { allowedCapabilities: "NET_ADMIN" },
        };
        expect(() => evaluatePolicies([], bad)).toThrow(
            /"container-no-root" is not a policy of homeiq-security[\s\S]*container-no-public-ports\.allowedPublicPort is not a setting of container-no-public-ports \(settings: allowedPublicPorts\)[\s\S]*container-capabilities-restricted\.allowedCapabilities must be an array of strings/,
        );
    });

    it("ships dev and prod configs that the pack accepts", () => {
        expect(() => evaluatePolicies([], readPackConfig("dev"))).not.toThrow();
        expect(() => evaluatePolicies([], readPackConfig("prod"))).not.toThrow();
    });
});

describe("the pack's policies", () => {
    it("are the named policies, each with a description, and settings only where declared", () => {
        expect(policies.map((p) => p.name)).toEqual([...POLICY_NAMES]);
        for (const p of policies) {
            expect(p.description.length).toBeGreaterThan(20);
            expect(p.validateResource).toBeDefined();
            expect(p.configSchema?.properties.enforcementLevel).toBeUndefined();
        }
        expect(
            Object.fromEntries(policies.filter((p) => p.configSchema).map((p) => [p.name, Object.keys(p.configSchema?.properties ?? {})])),
        ).toEqual({
            "container-capabilities-restricted": ["allowedCapabilities"],
            "container-no-public-ports": ["allowedPublicPorts"],
            "container-docker-host-paths": ["dockerSocketServices"],
        });
    });

    it("say not-applicable for resources they do not check", () => {
        const network: ResourceInput = { type: "docker:index/network:Network", name: "net", inputs: { name: "prod-homeiq" } };
        const { violations, notApplicable } = evaluatePoliciesDetailed([network]);
        expect(violations).toEqual([]);
        expect(notApplicable).toHaveLength(POLICY_NAMES.length);
    });
});

/**
 * The pack as the Pulumi CLI runs it: policy/index.ts constructs the PolicyPack, which serves the
 * analyzer over gRPC and prints its port; the CLI then calls configure and analyze. Here the test
 * plays the CLI, so the same policy objects are exercised through @pulumi/policy's own server
 * (its deserialization of secrets and unknowns, its getConfig, its enforcement levels).
 */
describe("the PolicyPack served by policy/index.ts", () => {
    let child: ChildProcess | undefined;
    let client: analyzerRpc.AnalyzerClient;
    const SECRET_SIG = { "4dabf18193072939515e22adb298388d": "1b47061264138c4ac30d75fd1eb44270" };
    const UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9";

    beforeAll(async () => {
        const proc = spawn(process.execPath, ["-r", "ts-node/register/transpile-only", "index.ts"], {
            cwd: POLICY_DIR,
            env: { ...process.env, TS_NODE_PROJECT: path.join(POLICY_DIR, "tsconfig.json") },
            stdio: ["ignore", "pipe", "pipe"],
        });
        child = proc;
        const port = await new Promise<number>((resolve, reject) => {
            let out = "";
            let err = "";
            const timer = setTimeout(() => reject(new Error(`the pack printed no port within 20 s; stderr: ${err}`)), 20_000);
            proc.stdout?.on("data", (d: Buffer) => {
                out += d.toString();
                const m = /^(\d+)\s*$/m.exec(out);
                if (m) {
                    clearTimeout(timer);
                    resolve(Number(m[1]));
                }
            });
            proc.stderr?.on("data", (d: Buffer) => (err += d.toString()));
            proc.on("exit", (code) => {
                clearTimeout(timer);
                reject(new Error(`the pack exited with ${String(code)}; stderr: ${err}`));
            });
        });
        client = new analyzerRpc.AnalyzerClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
    }, 30_000);

    afterAll(() => {
        client?.close();
        if (child?.pid !== undefined && child.exitCode === null) {
            child.kill("SIGTERM");
        }
    });

    function call<Req, Res>(fn: (req: Req, cb: (e: grpc.ServiceError | null, r: Res) => void) => unknown, req: Req): Promise<Res> {
        return new Promise((resolve, reject) => fn.call(client, req, (e, r) => (e ? reject(e) : resolve(r))));
    }

    async function configure(config: Record<string, { level: analyzerProto.EnforcementLevel; props?: object }>): Promise<void> {
        const req = new analyzerProto.ConfigureAnalyzerRequest();
        for (const [name, { level, props }] of Object.entries(config)) {
            const pc = new analyzerProto.PolicyConfig();
            pc.setEnforcementlevel(level);
            pc.setProperties(Struct.fromJavaScript((props ?? {}) as Record<string, never>));
            req.getPolicyconfigMap().set(name, pc);
        }
        await call(client.configure, req);
    }

    async function analyze(type: string, name: string, props: object, protect = false) {
        return (await analyzeDetailed(type, name, props, protect)).diagnostics;
    }

    /** The diagnostics and the not-applicable list (policy, reason) the server answers with. */
    async function analyzeDetailed(type: string, name: string, props: object, protect = false) {
        const req = new analyzerProto.AnalyzeRequest();
        req.setType(type);
        req.setName(name);
        req.setUrn(`urn:pulumi:prod::homeiq::${type}::${name}`);
        req.setProperties(Struct.fromJavaScript(props as Record<string, never>));
        const opts = new analyzerProto.AnalyzerResourceOptions();
        opts.setProtect(protect);
        req.setOptions(opts);
        const res = await call<analyzerProto.AnalyzeRequest, analyzerProto.AnalyzeResponse>(client.analyze, req);
        return {
            diagnostics: res.getDiagnosticsList().map((d) => ({
                policy: d.getPolicyname(),
                level: d.getEnforcementlevel() === analyzerProto.EnforcementLevel.MANDATORY ? "mandatory" : "advisory",
                message: d.getMessage(),
            })),
            notApplicable: res.getNotApplicableList().map((n) => ({ policy: n.getPolicyName(), reason: n.getReason() })),
        };
    }

    it("announces every policy, mandatory by default, with their config schemas", async () => {
        const info = await call<Empty, analyzerProto.AnalyzerInfo>(client.getAnalyzerInfo, new Empty());
        expect(info.getName()).toBe("homeiq-security");
        expect(info.getPoliciesList().map((p) => p.getName())).toEqual([...POLICY_NAMES]);
        expect(new Set(info.getPoliciesList().map((p) => p.getEnforcementlevel()))).toEqual(new Set([analyzerProto.EnforcementLevel.MANDATORY]));
        const ports = info.getPoliciesList().find((p) => p.getName() === "container-no-public-ports");
        expect(Object.keys(ports?.getConfigschema()?.getProperties()?.toJavaScript() ?? {})).toEqual(["allowedPublicPorts"]);
    });

    it("passes the hardened container and catches each fault with the same messages as evaluatePolicies", async () => {
        await configure({});
        expect(await analyze(CONTAINER_TYPE, "websocket-ingestion", hardenedInputs())).toEqual([]);
        const broken = withInput(withInput(hardenedInputs(), "user", "root"), "ports", [{ internal: 8001, external: 8001, ip: "0.0.0.0" }]);
        const served = await analyze(CONTAINER_TYPE, "websocket-ingestion", broken);
        const offline = evaluatePolicies([container(broken, "websocket-ingestion")]);
        // The server prefixes each message with the policy's description.
        const description = (name: string) => policies.find((p) => p.name === name)?.description ?? "";
        expect(served).toEqual(
            offline.map((v) => ({ policy: v.policy, level: v.enforcementLevel, message: `${description(v.policy)}\n${v.message}` })),
        );
        expect(served.map((d) => d.policy)).toEqual(["container-non-root-user", "container-no-public-ports"]);
    });

    it("applies the pack config it is given: settings and downgraded levels", async () => {
        await configure({
            "container-non-root-user": { level: analyzerProto.EnforcementLevel.ADVISORY },
            "container-no-public-ports": { level: analyzerProto.EnforcementLevel.MANDATORY, props: { allowedPublicPorts: [8001] } },
        });
        const broken = withInput(withInput(hardenedInputs(), "user", "root"), "ports", [{ internal: 8001, external: 8001, ip: "0.0.0.0" }]);
        expect((await analyze(CONTAINER_TYPE, "websocket-ingestion", broken)).map((d) => [d.policy, d.level])).toEqual([
            ["container-non-root-user", "advisory"],
        ]);
        await configure({});
    });

    it("sees through secrets and skips values unknown during preview", async () => {
        const envs = ["LOG_LEVEL=INFO", UNKNOWN, { ...SECRET_SIG, value: "ADMIN_PASSWORD=adminpass" }];
        const served = await analyze(CONTAINER_TYPE, "admin-api", withInput(hardenedInputs("admin-api"), "envs", envs));
        expect(served.map((d) => d.message)).toEqual([expect.stringMatching(/sets ADMIN_PASSWORD to the placeholder credential "adminpass"/)]);
    });

    it("sees protect on a data volume, and cannot see retainOnDelete (reports nothing rather than guessing)", async () => {
        const volume = { name: "prod-influxdb-data", labels: [{ label: "com.homeiq.data", value: "true" }] };
        const retained = (r: { notApplicable: Array<{ policy: string; reason: string }> }) => r.notApplicable.filter((n) => n.policy === "data-volume-retained");
        // Protected: checked and passed (neither a violation nor not-applicable).
        const protectedVolume = await analyzeDetailed(VOLUME_TYPE, "influxdb-data", volume, true);
        expect(protectedVolume.diagnostics).toEqual([]);
        expect(retained(protectedVolume)).toEqual([]);
        // Not protected: retainOnDelete is not in the protocol, so not-applicable, saying why; never a pass.
        const unprotected = await analyzeDetailed(VOLUME_TYPE, "influxdb-data", volume, false);
        expect(unprotected.diagnostics).toEqual([]);
        expect(retained(unprotected)).toEqual([{ policy: "data-volume-retained", reason: expect.stringMatching(/volume "prod-influxdb-data" is not protected and its retainOnDelete cannot be seen/) }]);
        // A volume without data: not-applicable for another reason.
        const scratch = await analyzeDetailed(VOLUME_TYPE, "scratch", { name: "prod-scratch" }, false);
        expect(retained(scratch)).toEqual([{ policy: "data-volume-retained", reason: expect.stringMatching(/applies only to volumes labelled com\.homeiq\.data=true/) }]);
    });
});

/**
 * The program itself, through the offline synth: each stack's resources (inputs and the options the
 * engine would not show a policy, retainOnDelete included) against that stack's pack config.
 */
describe("homeiq:lanAccess through the program", () => {
    it("publishes InfluxDB on the LAN in prod with its reason as a label, and the prod pack lets it through", async () => {
        const result = await synthOf(VARIANTS.prodInfluxdbLan);
        const influx = result.resources.find((r) => r.type === CONTAINER_TYPE && r.name === "homeiq-influxdb")!;
        expect((influx.inputs.ports as Array<{ ip: string; external: number }>)[0]).toEqual(expect.objectContaining({ ip: "0.0.0.0", external: 8086 }));
        expect(influx.inputs.labels).toContainEqual({ label: "com.homeiq.lan-access", value: "Grafana on the NAS reads it" });
        const resources: ResourceInput[] = result.resources.map((r) => ({ type: r.type, name: r.name, urn: r.urn, inputs: r.inputs, options: { protect: r.options.protect, retainOnDelete: r.options.retainOnDelete } }));
        expect(evaluatePolicies(resources, readPackConfig("prod"))).toEqual([]);
    });
});

describe.each(["prod", "dev"] as const)("the %s stack the program synthesizes", (stack) => {
    let result: SynthResult;
    let evaluation: Evaluation;
    const DEV_ADVISORY: PolicyName[] = ["container-non-root-user", "container-capabilities-restricted"];

    beforeAll(async () => {
        result = await synthStack(stack);
        const resources: ResourceInput[] = result.resources.map((r) => ({
            type: r.type,
            name: r.name,
            urn: r.urn,
            inputs: r.inputs,
            options: { protect: r.options.protect, retainOnDelete: r.options.retainOnDelete },
        }));
        evaluation = evaluatePoliciesDetailed(resources, readPackConfig(stack));
    }, 120_000);

    it("gives the pack every service's container and its data volumes to check", () => {
        // Every service's, and the Docker API proxy's (admin-api reads the engine through it).
        expect(result.resources.filter((r) => r.type === CONTAINER_TYPE)).toHaveLength(SERVICE_KEYS.length + 1);
        const dataVolumes = result.resources.filter(
            (r) => r.type === VOLUME_TYPE && (r.inputs.labels as Array<{ label: string; value: string }>).some((l) => l.label === "com.homeiq.data" && l.value === "true"),
        );
        expect(dataVolumes.length).toBeGreaterThan(0);
        // Every data volume was really checked (not skipped as "retainOnDelete not visible").
        expect(evaluation.notApplicable.filter((n) => n.policy === "data-volume-retained" && /cannot be seen/.test(n.reason))).toEqual([]);
    });

    it("has no mandatory violation", () => {
        expect(evaluation.violations.filter((v) => v.enforcementLevel === "mandatory")).toEqual([]);
    });

    it(stack === "prod" ? "has no advisory either" : "has only the documented advisories (non-root and capabilities, which the dev profile leaves out)", () => {
        const advisories = evaluation.violations.filter((v) => v.enforcementLevel === "advisory");
        if (stack === "prod") {
            expect(advisories).toEqual([]);
        } else {
            expect([...new Set(advisories.map((v) => v.policy))].sort()).toEqual([...DEV_ADVISORY].sort());
        }
    });
});
