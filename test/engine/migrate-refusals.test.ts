/**
 * What scripts/migrate/from-compose.sh refuses, each with its exit code and a message naming what is
 * missing or wrong, before it writes anything; and the host-ports check (scripts/preflight/ports-free.sh)
 * that stops `pulumi up` while the old deployment still holds the stack's ports. Real `docker compose`
 * deployments of fixtures/compose-v1 on the engine's stand-in images.
 */
import * as fs from "fs";
import * as path from "path";
import * as pulumi from "@pulumi/pulumi";
import { docker } from "./helpers";
import {
  freePort, migrate, migrateName, migrationLeftovers, migrationScene, OldDeployment, PREFIX, printedCommands, programCommands, projectFor,
  runPrintedCommands, runRepoScript, seedSql, tmpDir,
} from "./migrate-helpers";

const TOKEN = "itest-old-influx-operator-token-3d5f2b";

/** The backup root holds nothing (a refusal wrote no backup, not even a .partial folder). */
function emptyRoot(root: string): boolean {
  return !fs.existsSync(root) || fs.readdirSync(root).every((s) => fs.readdirSync(path.join(root, s)).length === 0);
}

describe("discovery by compose labels", () => {
  const work = tmpDir("discovery");
  const a = new OldDeployment("two-a", TOKEN);
  const b = new OldDeployment("two-b", TOKEN);
  const lone = new OldDeployment("influx-only", TOKEN);
  const stack = migrateName("new");
  afterAll(() => {
    for (const d of [a, b, lone]) d.remove();
    fs.rmSync(work, { recursive: true, force: true });
  });

  beforeAll(async () => {
    // Three independent projects (own names, volumes and ports), brought up side by side.
    // `lone` is another application's compose project with an `influxdb` service: not HomeIQ's.
    await Promise.all([a.upAsync(), b.upAsync(), lone.upAsync(["influxdb"])]);
  }, 300_000);

  it("finds no deployment where no compose project has a HomeIQ service (an `influxdb` service alone is not HomeIQ): exit 10", () => {
    const root = path.join(work, "none");
    const r = migrate(["--stack", stack, "--backup-root", root, "--project-glob", `${lone.project}*`]);
    expect(r.code).toBe(10);
    expect(r.stderr).toContain(`no old HomeIQ compose deployment found whose name matches '${lone.project}*'`);
    expect(r.stderr).toContain("com.docker.compose.project label together with a HomeIQ com.docker.compose.service label");
    expect(r.stderr).toContain("nothing was changed");
    expect(r.stdout).toBe("");
    expect(emptyRoot(root)).toBe(true);
  });

  it("refuses to choose between two projects, naming both with their services: exit 11", () => {
    const root = path.join(work, "two");
    const r = migrate(["--stack", stack, "--backup-root", root, "--project-glob", `${PREFIX}*-two-*`]);
    expect(r.code).toBe(11);
    expect(r.stderr).toContain("found 2 HomeIQ compose projects; name the one to migrate with --project NAME");
    for (const d of [a, b]) expect(r.stderr).toMatch(new RegExp(`- ${d.project} \\(.*influxdb running.*\\)`));
    expect(r.stderr).toMatch(/data-api running/);
    expect(emptyRoot(root)).toBe(true);
  });

  it("migrates the project the user names, and only that one", () => {
    const root = path.join(work, "named");
    const r = migrate(["--stack", stack, "--backup-root", root, "--project-glob", `${PREFIX}*-two-*`, "--project", b.project]);
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
    const folder = runPrintedCommands(printedCommands(r.stdout), work).config["homeiq:restoreFrom"]!;
    expect(JSON.parse(fs.readFileSync(path.join(folder, "config.json"), "utf8")).migratedFrom).toMatchObject({
      composeProject: b.project,
      influxdbContainer: b.container("influxdb"),
    });
  });

  it("refuses a named project that is not there: exit 10, listing the ones that are", () => {
    const r = migrate(["--stack", stack, "--backup-root", path.join(work, "typo"), "--project-glob", `${PREFIX}*-two-*`, "--project", `${a.project}x`]);
    expect(r.code).toBe(10);
    expect(r.stderr).toContain(`no HomeIQ compose project named '${a.project}x'`);
    expect(r.stderr).toContain(`HomeIQ compose projects found: ${a.project} ${b.project}`);
  });
});

describe("refusals before anything is written", () => {
  const work = tmpDir("refusals");
  const stack = migrateName("new");
  const deployments: OldDeployment[] = [];
  const deployment = (tag: string, token = TOKEN): OldDeployment => {
    const d = new OldDeployment(tag, token);
    deployments.push(d);
    return d;
  };
  afterAll(() => {
    for (const d of deployments) d.remove();
    fs.rmSync(work, { recursive: true, force: true });
  });

  it("a project without influxdb: exit 12, naming the project and what it has", () => {
    const d = deployment("no-influx");
    d.up(["--no-deps", "data-api", "sports-data"]);
    const root = path.join(work, "no-influx");
    const r = migrate(["--stack", stack, "--backup-root", root, "--project-glob", d.project]);
    expect(r.code).toBe(12);
    expect(r.stderr).toContain(`compose project '${d.project}' has no influxdb container (no container labelled com.docker.compose.service=influxdb`);
    expect(r.stderr).toMatch(/it has: (data-api running, sports-data running|sports-data running, data-api running)/);
    expect(emptyRoot(root)).toBe(true);
  });

  it("a corrupt SQLite file in a running deployment: exit 13, naming the service, file and volume", () => {
    const d = deployment("corrupt-running");
    d.up();
    d.python("data-api", "import os; os.makedirs('/app/data', exist_ok=True); open('/app/data/metadata.db', 'wb').write(b'not a database, just bytes' * 300)");
    d.python("sports-data", seedSql("delete", 100), ["/app/data/webhooks.db"]);
    const root = path.join(work, "corrupt-running");
    const r = migrate(["--stack", stack, "--backup-root", root, "--project-glob", d.project]);
    expect(r.code).toBe(13);
    expect(r.stderr).toContain(`sqlite data-api: /app/data/metadata.db in volume ${d.volume("sqlite-data")} is damaged: not a readable SQLite database: file is not a database`);
    expect(r.stderr).toContain("nothing was backed up or changed");
    expect(emptyRoot(root)).toBe(true);
  });

  it("a SQLite file with a damaged page in a stopped deployment's container layer: exit 13, named; scratch space removed", () => {
    const d = deployment("corrupt-stopped");
    d.up();
    d.python("sports-data", seedSql("delete", 5000, 200), ["/app/data/webhooks.db"]);
    // Garbage over the middle of the file: the header is intact, a b-tree page is not.
    d.python("sports-data", "import os\nf = open('/app/data/webhooks.db', 'r+b')\nf.seek(os.path.getsize('/app/data/webhooks.db') // 2)\nf.write(b'\\xff' * 8192)\nf.close()");
    d.compose(["stop"]);
    const root = path.join(work, "corrupt-stopped");
    const r = migrate(["--stack", stack, "--backup-root", root, "--project-glob", d.project]);
    expect(r.code).toBe(13);
    expect(r.stderr).toMatch(
      new RegExp(`sqlite sports-data: /app/data/webhooks\\.db in the container layer of ${d.container("sports-data")} is damaged: (PRAGMA quick_check failed|not a readable SQLite database): `),
    );
    expect(emptyRoot(root)).toBe(true);
    expect(migrationLeftovers(r.stdout)).toEqual([]);
    expect(r.stdout).toMatch(/homeiq-migrate-\d+-\d+/);
  });

  it("a token InfluxDB does not accept: exit 15, without printing it", () => {
    const d = deployment("wrong-token");
    d.up();
    const wrong = "a-wrong-but-long-operator-token-000000";
    const root = path.join(work, "wrong-token");
    const r = migrate(["--stack", stack, "--backup-root", root, "--project-glob", d.project], { HOMEIQ_MIGRATE_INFLUX_TOKEN: wrong });
    expect(r.code).toBe(15);
    expect(r.stderr).toContain(`the admin token from HOMEIQ_MIGRATE_INFLUX_TOKEN is not accepted by InfluxDB in ${d.container("influxdb")}`);
    expect(r.stdout + r.stderr).not.toContain(wrong);
    expect(emptyRoot(root)).toBe(true);

    // The right one given the same way: the printed command reads it from the same variable, never from argv.
    const ok = migrate(["--stack", stack, "--backup-root", root, "--project-glob", d.project], { HOMEIQ_MIGRATE_INFLUX_TOKEN: TOKEN });
    expect(ok.code).toBe(0);
    const commands = printedCommands(ok.stdout);
    expect(commands).toContain(`printf '%s' "$HOMEIQ_MIGRATE_INFLUX_TOKEN" | pulumi config set --secret homeiq:influxdbAdminToken --stack ${stack}`);
    expect(ok.stdout + ok.stderr).not.toContain(TOKEN);
  });
});

describe("the old placeholder token (ha-ingestor-token)", () => {
  const { old, work } = migrationScene("placeholder", "ha-ingestor-token");
  beforeAll(() => old.up(), 120_000);

  it("is refused without --carry-placeholder-token: exit 14, before any backup, the value never printed", () => {
    const root = path.join(work, "refused");
    const r = migrate(["--stack", "prod", "--backup-root", root, "--project-glob", old.project]);
    expect(r.code).toBe(14);
    expect(r.stderr).toContain("the old InfluxDB admin token is one of the old compose files' placeholder credentials");
    expect(r.stderr).toContain("--carry-placeholder-token");
    expect(r.stderr).toContain("homeiq:acceptPlaceholderInfluxdbToken=true");
    expect(r.stdout + r.stderr).not.toContain("ha-ingestor-token");
    expect(emptyRoot(root)).toBe(true);
  });

  it("is carried with the flag and a loud warning, and the program takes it only with homeiq:acceptPlaceholderInfluxdbToken", async () => {
    const stack = migrateName("new");
    const r = migrate(["--stack", stack, "--backup-root", path.join(work, "carried"), "--project-glob", old.project, "--carry-placeholder-token"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain("!! WARNING: carrying a PLACEHOLDER InfluxDB admin token (--carry-placeholder-token)");
    expect(r.stdout + r.stderr).not.toContain("ha-ingestor-token");
    const commands = printedCommands(r.stdout);
    expect(commands).toContain(`pulumi config set homeiq:acceptPlaceholderInfluxdbToken true --stack ${stack}`);
    const { config, secretKeys } = runPrintedCommands(commands, work);
    expect(config["homeiq:influxdbAdminToken"]).toBe("ha-ingestor-token");
    const project = projectFor(stack, "prod", work);
    const warn = jest.spyOn(pulumi.log, "warn").mockImplementation(() => Promise.resolve());
    try {
      const cmds = await programCommands(stack, project, config, secretKeys);
      expect(cmds.restore.HOMEIQ_RESTORE_DIR).toBe(config["homeiq:restoreFrom"]);
      expect(warn.mock.calls.map((c) => String(c[0]))).toEqual([expect.stringContaining("influxdbAdminToken is an old placeholder credential")]);
    } finally {
      warn.mockRestore();
    }
    const withoutOptIn = { ...config };
    delete withoutOptIn["homeiq:acceptPlaceholderInfluxdbToken"];
    await expect(programCommands(stack, project, withoutOptIn, secretKeys)).rejects.toThrow(/homeiq:influxdbAdminToken = \[secret\]: is a placeholder credential/);
  });
});

describe("scripts/preflight/ports-free.sh: the host-ports check every container of a stack waits for", () => {
  const { old, work } = migrationScene("ports", TOKEN);
  const stack = migrateName("new");
  const own = `${stack}-own-influxdb`;
  const other = migrateName("other-stack-container");
  afterAll(() => docker(["rm", "-f", own, other], { allowFail: true }));

  it("(from-compose.sh --dry-run first) finds and checks the running deployment, says what it would back up, and writes nothing", () => {
    old.up();
    const root = path.join(work, "dry-run");
    const r = migrate(["--stack", stack, "--backup-root", root, "--project-glob", old.project, "--dry-run"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`dry run: compose project '${old.project}' (`);
    expect(r.stdout).toContain(`would be backed up into ${root}/${stack}/<UTC time>/`);
    expect(r.stdout).toContain(`dry run: influxdb ${old.container("influxdb")} (running)`);
    expect(r.stdout).not.toContain("----- pulumi config -----");
    expect(emptyRoot(root)).toBe(true);
    expect(migrationLeftovers(r.stdout)).toEqual([]);
  });

  it("refuses while the old deployment publishes one of the stack's ports, naming it and the command that stops it; passes once stopped", () => {
    old.up();
    const spare = freePort();
    const env = { HOMEIQ_STACK: stack, HOMEIQ_HOST_PORTS: `influxdb=${old.influxPort} data-api=${spare}`, HOMEIQ_HELPER_IMAGE: "homeiq-standin/busybox:test" };
    const held = runRepoScript("preflight/ports-free.sh", env);
    expect(held.code).toBe(7);
    expect(held.stderr).toContain(`host port ${old.influxPort} (influxdb) is published by container ${old.container("influxdb")} of compose project '${old.project}'`);
    expect(held.stderr).toContain(`docker compose -p ${old.project} stop`);
    expect(held.stderr).toContain("never 'down -v'");
    expect(held.stderr).toContain("Nothing was created, replaced or stopped.");

    old.compose(["stop"]);
    const free = runRepoScript("preflight/ports-free.sh", env);
    expect({ code: free.code, stderr: free.stderr }).toEqual({ code: 0, stderr: "" });
    expect(free.stdout).toContain(`the host ports of stack '${stack}' are free of other containers and host processes (2 checked)`);

    // The stack's own container on its port is no conflict (Pulumi replaces it); another stack's is.
    docker(["run", "-d", "--name", own, "--label", `com.homeiq.stack=${stack}`, "-p", `127.0.0.1:${old.influxPort}:8086`, "homeiq-standin/busybox:test", "sleep", "300"]);
    expect(runRepoScript("preflight/ports-free.sh", env).code).toBe(0);
    docker(["run", "-d", "--name", other, "--label", "com.homeiq.stack=someone-else", "-p", `127.0.0.1:${spare}:8006`, "homeiq-standin/busybox:test", "sleep", "300"]);
    const taken = runRepoScript("preflight/ports-free.sh", env);
    expect(taken.code).toBe(7);
    expect(taken.stderr).toContain(`host port ${spare} (data-api) is published by container ${other} of HomeIQ stack 'someone-else'`);
    expect(taken.stderr).toContain(`pulumi config set --path 'homeiq:hostPorts[0]' data-api=PORT --stack ${stack}   (PORT: a host port nothing else uses)`);
  });

  it("refuses malformed input, naming the variable", () => {
    const r = runRepoScript("preflight/ports-free.sh", { HOMEIQ_STACK: stack, HOMEIQ_HOST_PORTS: "influxdb=eighty", HOMEIQ_HELPER_IMAGE: "homeiq-standin/busybox:test" });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("HOMEIQ_HOST_PORTS entry 'influxdb=eighty' is not service=port");
  });
});
