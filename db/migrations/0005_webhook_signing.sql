ALTER TABLE "confirmation_targets" ADD COLUMN "legacy_signature_key" text;--> statement-breakpoint
ALTER TABLE "confirmation_targets" ADD COLUMN "previous_signing_secret" text;--> statement-breakpoint
ALTER TABLE "confirmation_targets" ADD COLUMN "previous_secret_expires_at" timestamp with time zone;--> statement-breakpoint
-- Secrets issued so far are 'whsec_' + base64url of 24 key bytes; the Standard Webhooks verifiers
-- decode standard base64 only. Re-encode them (same key bytes: swap the two differing characters,
-- pad to a multiple of 4) and keep the string as issued for the deprecated X-Signature header, which
-- was keyed with the whole string: receivers checking either header keep working.
UPDATE "confirmation_targets"
SET "legacy_signature_key" = "signing_secret",
    "signing_secret" = 'whsec_' || rpad(translate(substr("signing_secret", 7), '-_', '+/'), ((length("signing_secret") - 6 + 3) / 4) * 4, '=')
WHERE left("signing_secret", 6) = 'whsec_' AND substr("signing_secret", 7) ~ '^[A-Za-z0-9_-]+$';
