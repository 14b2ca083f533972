// bench/bookings.ts imports quiet from here; the helper itself lives in test/support/system.ts.
export { quiet } from "../support/system.ts";
