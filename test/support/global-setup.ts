import { COMPILED_WEFT, compileWeft } from "./compiled-weft.js";

/**
 * Once per test run: compiles the checkout as the package ships it, for the tests that run the `weft`
 * command as users run it (from JavaScript, starting in a fifth of the time the sources take).
 */
export default async function setup(): Promise<void> {
  await compileWeft(COMPILED_WEFT);
}
