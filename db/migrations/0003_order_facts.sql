CREATE TABLE "order_facts" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "order_facts_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"order_id" text NOT NULL,
	"kind" text NOT NULL,
	"fact" jsonb NOT NULL,
	"dedupe_key" text,
	"via" text NOT NULL,
	"received_at" timestamp(3) with time zone DEFAULT now() NOT NULL,
	"state" text DEFAULT 'pending' NOT NULL,
	"attempts" integer DEFAULT 0 NOT NULL,
	"next_attempt_at" timestamp(3) with time zone DEFAULT now() NOT NULL,
	"lease_until" timestamp(3) with time zone,
	"last_error" text,
	"settled_at" timestamp(3) with time zone,
	"outcome" text,
	"reopened_run_id" text,
	"discard_reason" text
);
--> statement-breakpoint
ALTER TABLE "order_facts" ADD CONSTRAINT "order_facts_order_id_orders_order_id_fk" FOREIGN KEY ("order_id") REFERENCES "public"."orders"("order_id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "order_facts_pending_idx" ON "order_facts" USING btree ("order_id","id") WHERE "order_facts"."state" = 'pending';--> statement-breakpoint
CREATE UNIQUE INDEX "order_facts_dedupe_idx" ON "order_facts" USING btree ("order_id","dedupe_key") WHERE "order_facts"."dedupe_key" is not null and "order_facts"."state" <> 'discarded';--> statement-breakpoint
CREATE INDEX "order_facts_settled_idx" ON "order_facts" USING btree ("settled_at") WHERE "order_facts"."settled_at" is not null;--> statement-breakpoint
CREATE INDEX "order_facts_order_idx" ON "order_facts" USING btree ("order_id","id");