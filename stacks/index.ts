import { devProfile } from "./dev";
import { prodProfile } from "./prod";
import type { StackProfile } from "./profile";

/** Profiles a stack can select with `homeiq:profile`. */
export const PROFILES: Readonly<Record<string, StackProfile>> = {
    dev: devProfile,
    prod: prodProfile,
};

export type { StackProfile } from "./profile";
