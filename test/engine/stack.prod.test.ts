/** The prod stack, whole, on a real Docker engine (stack-acceptance.ts). */
import { stackAcceptance } from "./stack-acceptance";

stackAcceptance("prod");
