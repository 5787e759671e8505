/**
 * scripts/notify/notify.sh against a stand-in HTTP server that records every request (notify-helpers.ts):
 * the Home Assistant persistent notification (REST API, bearer token) and the ntfy-style webhook, what
 * they carry, failed deliveries, and bad input. The token and the webhook URL never reach the output.
 */
import { Resources } from "./helpers";
import { Recorder, runRepoScript, startRecorder } from "./notify-helpers";

const HA_TOKEN = "i17-ha-token-0123456789abcdef";
const TOPIC = "i17-secret-topic-9f3a";

describe("notify.sh", () => {
  const res = new Resources();
  let rec: Recorder;
  beforeAll(() => {
    rec = startRecorder(res, "i17-notify");
  }, 120_000);
  afterAll(() => res.cleanup());

  const notify = (env: Record<string, string>) => runRepoScript("notify/notify.sh", { HOMEIQ_NOTIFY_TITLE: 'Backup of "dev" failed', HOMEIQ_NOTIFY_MESSAGE: "line 1\nline \"2\" \\ end", ...env });

  it("creates a Home Assistant persistent notification with the bearer token, and posts the text to the webhook", () => {
    const before = rec.requests().length;
    // The stack's homeAssistantUrl may be the ws:// URL the services use: the REST API is the same host over http.
    const r = notify({ HOMEIQ_HA_URL: rec.base.replace(/^http:/, "ws:") + "/", HOMEIQ_HA_TOKEN: HA_TOKEN, HOMEIQ_NOTIFY_WEBHOOK_URL: `${rec.base}/${TOPIC}`, HOMEIQ_NOTIFY_ID: "homeiq_backup_dev" });
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: "" });
    const got = rec.requests().slice(before);
    expect(got).toHaveLength(2);
    const [ha, hook] = got;
    expect(ha).toMatchObject({ method: "POST", path: "/api/services/persistent_notification/create" });
    expect(ha!.headers["authorization"]).toBe(`Bearer ${HA_TOKEN}`);
    expect(ha!.headers["content-type"]).toBe("application/json");
    expect(JSON.parse(ha!.body)).toEqual({ title: 'Backup of "dev" failed', message: "line 1\nline \"2\" \\ end", notification_id: "homeiq_backup_dev" });
    expect(hook).toMatchObject({ method: "POST", path: `/${TOPIC}`, body: "line 1\nline \"2\" \\ end" });
    expect(hook!.headers["title"]).toBe('Backup of "dev" failed');
    expect(hook!.headers["authorization"]).toBeUndefined();
    // Neither secret is printed.
    expect(r.stdout).not.toContain(HA_TOKEN);
    expect(r.stdout).not.toContain(TOPIC);
  });

  it("exits 4 and names the channel when a delivery fails (HTTP 500, nothing listening), after trying every channel", () => {
    const before = rec.requests().length;
    const r = notify({ HOMEIQ_HA_URL: `${rec.base}/status/500`, HOMEIQ_HA_TOKEN: HA_TOKEN, HOMEIQ_NOTIFY_WEBHOOK_URL: `${rec.base}/${TOPIC}` });
    expect(r.code).toBe(4);
    expect(r.stderr).toContain(`Home Assistant persistent notification at ${rec.base}/status/500: not delivered: HTTP 500`);
    expect(r.stderr).toContain('a notification could not be delivered (see the warnings above): Backup of "dev" failed');
    // The webhook was still tried, and got it.
    expect(rec.requests().slice(before).map((q) => q.path)).toEqual(["/status/500/api/services/persistent_notification/create", `/${TOPIC}`]);
    const down = notify({ HOMEIQ_NOTIFY_WEBHOOK_URL: `http://127.0.0.1:1/${TOPIC}` });
    expect(down.code).toBe(4);
    expect(down.stderr).toMatch(/webhook: not delivered: curl: \(7\)/);
    expect(down.stderr + down.stdout).not.toContain(TOPIC);
  });

  it("with no channel set, says the notification was not sent and exits 0", () => {
    const r = notify({});
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('no notification channel is set (HOMEIQ_HA_URL, HOMEIQ_NOTIFY_WEBHOOK_URL): not sent: Backup of "dev" failed');
  });

  it.each([
    [{ HOMEIQ_HA_URL: "ftp://ha.local" , HOMEIQ_HA_TOKEN: HA_TOKEN }, "HOMEIQ_HA_URL must start with http://, https://, ws:// or wss:// (got 'ftp://ha.local')"],
    [{ HOMEIQ_HA_URL: "http://ha.local:8123" }, "HOMEIQ_HA_TOKEN (Home Assistant long-lived access token, secret) is required when HOMEIQ_HA_URL is set"],
    [{ HOMEIQ_NOTIFY_WEBHOOK_URL: `ntfy.sh/${TOPIC}` }, "HOMEIQ_NOTIFY_WEBHOOK_URL must be an http:// or https:// URL without spaces (value not shown: it may hold a secret topic)"],
    [{ HOMEIQ_NOTIFY_ID: "Bad-Id", HOMEIQ_NOTIFY_WEBHOOK_URL: "http://x" }, "HOMEIQ_NOTIFY_ID must be lower-case letters, digits and _ (got 'Bad-Id')"],
  ])("refuses bad input %j with exit 2 and a message naming the variable", (env, message) => {
    const before = rec.requests().length;
    const r = notify(env as Record<string, string>);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(message);
    expect(r.stderr).not.toContain(TOPIC);
    expect(rec.requests().length).toBe(before);
  });
});
