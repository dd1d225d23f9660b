CREATE TABLE "credential_failures" (
	"identity" text NOT NULL,
	"client_address" text NOT NULL,
	"failures" integer NOT NULL,
	"window_started_at" timestamp(3) with time zone NOT NULL,
	CONSTRAINT "credential_failures_identity_client_address_pk" PRIMARY KEY("identity","client_address")
);
--> statement-breakpoint
CREATE INDEX "credential_failures_window_idx" ON "credential_failures" USING btree ("window_started_at");