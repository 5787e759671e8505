/** HomeIQ's real services under the dev stack's specs (real-stack-acceptance.ts); they run when HOMEIQ_UPSTREAM_CHECKOUT is set. */
import { realStackAcceptance } from "./real-stack-acceptance";

realStackAcceptance("dev");
