/**
 * The HomeIQ checkout a `build` stack builds from, checked on this machine before anything is
 * registered: the docker provider reads each service's Dockerfile and hashes its build context here,
 * even on preview, and fails halfway through with a provider error when one is missing.
 */
import * as fs from "fs";
import * as path from "path";
import { SERVICE_CATALOG, SERVICE_KEYS, type ServiceKey } from "../catalog/services";
import { fixCommand, showValue, type ConfigProblem } from "./problems";

/** Whether `dockerHost` is an engine on this machine (the checkout is then surely meant to be here too). */
export const isLocalEngine = (dockerHost: string): boolean =>
    dockerHost.startsWith("unix://") || /^tcp:\/\/(localhost|127\.0\.0\.1|\[::1\])(:\d+)?$/.test(dockerHost);

/** The problems with `checkout` for the deployed services that are built from it (none when it is complete). */
export function checkoutProblems(checkout: string, services: readonly ServiceKey[] = SERVICE_KEYS): ConfigProblem[] {
    const built = services.filter((k) => SERVICE_CATALOG[k].image.kind === "built");
    const problem = (what: string): ConfigProblem => ({
        key: "homeiq:homeiqCheckoutPath",
        value: showValue("homeiqCheckoutPath", checkout),
        problem: what,
        allowed: "the folder of a HomeIQ checkout on this machine, with the Dockerfile of every service built from it",
        fix: `git clone https://github.com/wtthornton/HomeIQ ${checkout}   # or: ${fixCommand.set("homeiqCheckoutPath", "/path/to/HomeIQ")}`,
    });
    if (!fs.existsSync(checkout) || !fs.statSync(checkout).isDirectory()) return [problem("is not a folder on this machine: the images are built from a HomeIQ checkout there")];
    const missing = built.filter((k) => {
        const image = SERVICE_CATALOG[k].image;
        return image.kind === "built" && !fs.existsSync(path.join(checkout, image.context, image.dockerfile));
    });
    if (missing.length === 0) return [];
    const shown = missing.map((k) => {
        const image = SERVICE_CATALOG[k].image;
        return image.kind === "built" ? `${k} (${path.join(image.context, image.dockerfile)})` : k;
    });
    return [problem(`lacks the Dockerfile of ${missing.length === built.length ? "every service" : `${missing.length} of the ${built.length} services`} built from it: ${shown.join(", ")}; is it a HomeIQ checkout, of the modelled version (docs/homeiq.md)?`)];
}
