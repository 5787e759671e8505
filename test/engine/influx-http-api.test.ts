/**
 * The InfluxDB stand-in's HTTP API (engine/stack-standins/images/influxdb/http-api): what HomeIQ's real
 * services call, with InfluxDB's token rule. Asked from inside the container (it runs off any network).
 */
import { docker, influxChecksum, Resources, stackNames, startInflux, type Stack } from "./helpers";

const TOKEN = "influx-http-api-test-token-0123456789";

describe("the InfluxDB stand-in's HTTP API", () => {
    const res = new Resources();
    let s: Stack;

    beforeAll(() => {
        s = stackNames(res, "httpapi", TOKEN);
        res.volume(s.influx.volume); // removed with the container by res.cleanup()
        startInflux(s);
    }, 120_000);
    afterAll(() => res.cleanup());

    /** curl inside the container: `<status> <body>`. */
    function curl(args: readonly string[]): { status: number; body: string } {
        const out = docker(["exec", "-e", "TOKEN", s.influx.container, "sh", "-c", 'curl -s -o /tmp/body -w "%{http_code}" "$@"; printf "\\n"; cat /tmp/body', "sh", ...args], {
            env: { TOKEN },
        }).stdout;
        const nl = out.indexOf("\n");
        return { status: Number(out.slice(0, nl)), body: out.slice(nl + 1) };
    }
    const auth = (token: string): string[] => ["-H", `Authorization: Token ${token}`];

    it("answers /health, /ready and /ping without a token", () => {
        expect(curl(["http://localhost:8086/health"]).status).toBe(200);
        expect(JSON.parse(curl(["http://localhost:8086/ready"]).body)).toMatchObject({ status: "ready" });
        expect(curl(["http://localhost:8086/ping"]).status).toBe(204);
    });

    it("refuses every /api/ call without the operator token, as InfluxDB does (401)", () => {
        expect(curl(["http://localhost:8086/api/v2/buckets"])).toEqual({ status: 401, body: '{"code":"unauthorized","message":"unauthorized access"}' });
        expect(curl([...auth("not-the-token"), "http://localhost:8086/api/v2/buckets"]).status).toBe(401);
        expect(curl([...auth("not-the-token"), "-X", "POST", "--data-binary", "m v=1 1", "http://localhost:8086/api/v2/write?bucket=home_assistant_events"]).status).toBe(401);
    });

    it("lists the bucket and org recorded at setup, by name, and no other", () => {
        const all = JSON.parse(curl([...auth(TOKEN), "http://localhost:8086/api/v2/buckets"]).body) as { buckets: Array<{ name: string; orgID: string }> };
        expect(all.buckets.map((b) => b.name)).toEqual(["home_assistant_events"]);
        const other = JSON.parse(curl([...auth(TOKEN), "http://localhost:8086/api/v2/buckets?name=elsewhere"]).body) as { buckets: unknown[] };
        expect(other.buckets).toEqual([]);
        const orgs = JSON.parse(curl([...auth(TOKEN), "http://localhost:8086/api/v2/orgs"]).body) as { orgs: Array<{ id: string; name: string }> };
        expect(orgs.orgs).toEqual([{ id: all.buckets[0].orgID, name: "homeiq" }]);
    });

    it("stores writes to the bucket, plain and gzip, through the same data file `influx backup` reads; refuses another bucket (404)", () => {
        const before = influxChecksum(s);
        expect(curl([...auth(TOKEN), "-X", "POST", "--data-binary", "itest_plain,room=a v=1 1700000000000000000", "http://localhost:8086/api/v2/write?org=homeiq&bucket=home_assistant_events&precision=ns"]).status).toBe(204);
        const gz = docker(["exec", "-e", "TOKEN", s.influx.container, "sh", "-c", 'printf "itest_gzip,room=b v=2 1700000000000000001\\n" | gzip -c > /tmp/w.gz && curl -s -o /dev/null -w "%{http_code}" -H "Authorization: Token $TOKEN" -H "Content-Encoding: gzip" --data-binary @/tmp/w.gz "http://localhost:8086/api/v2/write?bucket=home_assistant_events"'], { env: { TOKEN } }).stdout;
        expect(gz).toBe("204");
        expect(curl([...auth(TOKEN), "-X", "POST", "--data-binary", "x v=1 1", "http://localhost:8086/api/v2/write?bucket=elsewhere"]).status).toBe(404);
        const data = docker(["exec", s.influx.container, "cat", "/var/lib/influxdb2/engine/data/home_assistant_events.lp"]).stdout;
        expect(data.split("\n").filter((l) => l.startsWith("itest_"))).toEqual(["itest_plain,room=a v=1 1700000000000000000", "itest_gzip,room=b v=2 1700000000000000001"]);
        expect(influxChecksum(s)).not.toBe(before);
    });

    it("answers a query with an empty result (there is no query engine)", () => {
        expect(curl([...auth(TOKEN), "-X", "POST", "--data-binary", '{"query":"from(bucket:\\"x\\")"}', "http://localhost:8086/api/v2/query"]).status).toBe(200);
    });
});
