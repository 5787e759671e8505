/**
 * The profiles a stack can select with `homeiq:profile`, each parsed by ProfileSchema when this
 * module loads: a profile that breaks a bound (memory below Docker's minimum, a reservation above
 * its limit, a missing service) stops the program before any config is read.
 */
import { devProfile } from "./dev";
import { prodProfile } from "./prod";
import { parseProfile, type StackProfile } from "./profile";

export const PROFILES: Readonly<Record<string, StackProfile>> = {
    dev: parseProfile("dev", devProfile),
    prod: parseProfile("prod", prodProfile),
};

export type { StackProfile } from "./profile";
