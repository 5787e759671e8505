/**
 * The forms the docker provider reads values back in (components/dockerForms.ts), against values
 * worked out by hand from the provider's and the docker client's source (docs/provider-behaviour.md).
 */
import { capabilitiesAsRead, capabilityAsRead, goDuration, goSeconds } from "../../components/dockerForms";
import { cpusAsRead } from "../../catalog/rules";

describe("capabilityAsRead (moby client normalizeCap)", () => {
    it.each([
        ["CHOWN", "CAP_CHOWN"],
        ["net_bind_service", "CAP_NET_BIND_SERVICE"],
        ["CAP_SETUID", "CAP_SETUID"],
        ["cap_setgid", "CAP_SETGID"],
        ["ALL", "ALL"],
        ["all", "ALL"],
    ])("%s -> %s", (given, read) => expect(capabilityAsRead(given)).toBe(read));

    it("sorts and dedupes a list, as normalizeCapabilities does", () => {
        expect(capabilitiesAsRead(["SETUID", "CHOWN", "CAP_CHOWN", "NET_BIND_SERVICE", "SETGID"])).toEqual([
            "CAP_CHOWN",
            "CAP_NET_BIND_SERVICE",
            "CAP_SETGID",
            "CAP_SETUID",
        ]);
        expect(capabilitiesAsRead([])).toEqual([]);
    });
});

describe("cpusAsRead (nanoInt64ToDecimalString)", () => {
    it.each([
        [1, "1.0"],
        [2, "2.0"],
        [64, "64.0"],
        [0.5, "0.5"],
        [0.1, "0.1"],
        [0.25, "0.25"],
        [1.5, "1.5"],
        [1.05, "1.05"],
        [0.15, "0.15"],
        [9.5, "9.5"],
        [10.5, "10.5"],
        [10.25, "10.25"],
    ])("%s -> %s", (cpus, read) => expect(cpusAsRead(cpus)).toBe(read));

    it.each([
        [0.05, "reads back 0.0"],
        [0.01, "reads back 0.0"],
        [10, "reads back 10."],
        [20, "reads back 20."],
        [10.05, "reads back 10.1 (nine zeros: one decimal)"],
        [0, "no limit at all"],
    ])("refuses %s (%s)", (cpus) => expect(cpusAsRead(cpus)).toBeUndefined());
});

describe("goDuration (Go's time.Duration.String)", () => {
    it.each([
        [0, "0s"],
        [250e6, "250ms"],
        [1.5e9, "1.5s"],
        [30e9, "30s"],
        [60e9, "1m0s"],
        [90e9, "1m30s"],
        [3600e9, "1h0m0s"],
        [3723.5e9, "1h2m3.5s"],
        [1500, "1.5µs"],
        [999, "999ns"],
    ])("%d ns -> %s", (ns, text) => expect(goDuration(ns)).toBe(text));

    it("formats whole seconds the same way", () => {
        expect(goSeconds(40)).toBe("40s");
        expect(goSeconds(120)).toBe("2m0s");
    });
});
