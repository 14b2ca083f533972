import { z } from "zod";

/** The staff console's sign-in form (POST /api/session). */
export const SignInRequest = z.strictObject({
  username: z.string().min(1).max(64),
  password: z.string().min(1).max(1024),
});
export type SignInRequest = z.infer<typeof SignInRequest>;

/** A user name the users command accepts; the database checks the same pattern. */
export const Username = z.string().regex(/^[A-Za-z0-9._@-]{1,64}$/, "1–64 letters, digits, or . _ @ -");

/** Passwords set with the users command. */
export const NewPassword = z.string().min(12, "at least 12 characters").max(1024);
