CREATE TABLE "confirmation_targets" (
	"merchant_id" text NOT NULL,
	"source" text DEFAULT '' NOT NULL,
	"mode" text NOT NULL,
	"webhook_url" text,
	"signing_secret" text,
	"secret_rotated_at" timestamp with time zone,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "confirmation_targets_merchant_id_source_pk" PRIMARY KEY("merchant_id","source")
);
--> statement-breakpoint
CREATE TABLE "connection_requests" (
	"id" integer PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "connection_requests_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 2147483647 START WITH 1 CACHE 1),
	"connection_id" text NOT NULL,
	"at" timestamp(3) with time zone DEFAULT now() NOT NULL,
	"action" text NOT NULL,
	"window_start" timestamp(3) with time zone,
	"window_end" timestamp(3) with time zone,
	"page" integer,
	"order_number" text,
	"status" integer NOT NULL,
	"duration_ms" integer NOT NULL,
	"error" text,
	"detail" jsonb
);
--> statement-breakpoint
CREATE TABLE "connections" (
	"id" text PRIMARY KEY NOT NULL,
	"merchant_id" text NOT NULL,
	"source" text,
	"username" text NOT NULL,
	"password_hash" text NOT NULL,
	"password_rotated_at" timestamp with time zone,
	"disabled_at" timestamp with time zone,
	"disabled_reason" text,
	"last_export_at" timestamp with time zone,
	"last_shipnotify_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "connections_username_unique" UNIQUE("username")
);
--> statement-breakpoint
CREATE TABLE "export_snapshots" (
	"id" text PRIMARY KEY NOT NULL,
	"connection_id" text NOT NULL,
	"window_start" timestamp(3) with time zone NOT NULL,
	"window_end" timestamp(3) with time zone NOT NULL,
	"order_ids" jsonb NOT NULL,
	"created_at" timestamp(6) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "export_watermarks" (
	"merchant_id" text PRIMARY KEY NOT NULL,
	"served_until" timestamp(6) with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "merchants" (
	"id" text PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"deadlines" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"api_key_hash" text NOT NULL,
	"api_key_rotated_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "merchants_api_key_hash_unique" UNIQUE("api_key_hash")
);
--> statement-breakpoint
CREATE TABLE "order_lines" (
	"order_id" text NOT NULL,
	"line_id" text NOT NULL,
	"position" integer NOT NULL,
	"sku" text NOT NULL,
	"name" text NOT NULL,
	"quantity" integer NOT NULL,
	"shipped_quantity" integer DEFAULT 0 NOT NULL,
	"unit_price" numeric(14, 2) NOT NULL,
	"weight_value" numeric(12, 4),
	"weight_unit" text,
	"image_url" text,
	"location" text,
	"options" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"adjustment" boolean DEFAULT false NOT NULL,
	CONSTRAINT "order_lines_order_id_line_id_pk" PRIMARY KEY("order_id","line_id")
);
--> statement-breakpoint
CREATE TABLE "orders" (
	"order_id" text PRIMARY KEY NOT NULL,
	"merchant_id" text NOT NULL,
	"order_number" text NOT NULL,
	"workflow_id" text NOT NULL,
	"status" text NOT NULL,
	"source" text,
	"create_hash" text NOT NULL,
	"version" integer NOT NULL,
	"modified_revision" integer NOT NULL,
	"last_modified" timestamp(6) with time zone NOT NULL,
	"paid" boolean NOT NULL,
	"order_date" timestamp with time zone NOT NULL,
	"currency" text NOT NULL,
	"shipping_method" text,
	"payment_method" text,
	"customer_code" text,
	"customer_email" text,
	"bill_to" jsonb NOT NULL,
	"ship_to" jsonb NOT NULL,
	"shipping_amount" numeric(14, 2) NOT NULL,
	"tax_amount" numeric(14, 2) NOT NULL,
	"total" numeric(14, 2) NOT NULL,
	"customer_notes" text,
	"internal_notes" text,
	"gift" boolean DEFAULT false NOT NULL,
	"gift_message" text,
	"custom_fields" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"requested_warehouse" text,
	"held_from" text,
	"hold_reason" text,
	"served_to_shipstation" boolean DEFAULT false NOT NULL,
	"cancel_reason" text,
	"stuck_reason" text,
	"stuck_since" timestamp with time zone,
	"stuck_detail" text,
	"flags" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"timeline" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"status_since" timestamp with time zone NOT NULL,
	"waiting_since" timestamp with time zone NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "shipment_notices" (
	"connection_id" text NOT NULL,
	"order_id" text NOT NULL,
	"shipment_key" text NOT NULL,
	"received_at" timestamp with time zone DEFAULT now() NOT NULL,
	"times_received" integer DEFAULT 1 NOT NULL,
	"query" text NOT NULL,
	"content_type" text,
	"body" text NOT NULL,
	CONSTRAINT "shipment_notices_connection_id_order_id_shipment_key_pk" PRIMARY KEY("connection_id","order_id","shipment_key")
);
--> statement-breakpoint
CREATE TABLE "shipments" (
	"id" bigint GENERATED ALWAYS AS IDENTITY (sequence name "shipments_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"order_id" text NOT NULL,
	"shipment_key" text NOT NULL,
	"carrier" text NOT NULL,
	"service" text,
	"tracking_number" text,
	"ship_date" text,
	"label_created_at" timestamp with time zone,
	"shipping_cost" numeric(14, 2),
	"lines" jsonb NOT NULL,
	"details" jsonb,
	"unmatched" jsonb,
	"reported_via" text NOT NULL,
	"recorded_at" timestamp with time zone NOT NULL,
	"confirmation_delivered_at" timestamp with time zone,
	"delivery_rejected" text,
	CONSTRAINT "shipments_order_id_shipment_key_pk" PRIMARY KEY("order_id","shipment_key"),
	CONSTRAINT "shipments_id_unique" UNIQUE("id")
);
--> statement-breakpoint
ALTER TABLE "confirmation_targets" ADD CONSTRAINT "confirmation_targets_merchant_id_merchants_id_fk" FOREIGN KEY ("merchant_id") REFERENCES "public"."merchants"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "connection_requests" ADD CONSTRAINT "connection_requests_connection_id_connections_id_fk" FOREIGN KEY ("connection_id") REFERENCES "public"."connections"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "connections" ADD CONSTRAINT "connections_merchant_id_merchants_id_fk" FOREIGN KEY ("merchant_id") REFERENCES "public"."merchants"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "export_snapshots" ADD CONSTRAINT "export_snapshots_connection_id_connections_id_fk" FOREIGN KEY ("connection_id") REFERENCES "public"."connections"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "export_watermarks" ADD CONSTRAINT "export_watermarks_merchant_id_merchants_id_fk" FOREIGN KEY ("merchant_id") REFERENCES "public"."merchants"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "order_lines" ADD CONSTRAINT "order_lines_order_id_orders_order_id_fk" FOREIGN KEY ("order_id") REFERENCES "public"."orders"("order_id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "orders" ADD CONSTRAINT "orders_merchant_id_merchants_id_fk" FOREIGN KEY ("merchant_id") REFERENCES "public"."merchants"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "shipment_notices" ADD CONSTRAINT "shipment_notices_connection_id_connections_id_fk" FOREIGN KEY ("connection_id") REFERENCES "public"."connections"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "shipment_notices" ADD CONSTRAINT "shipment_notices_order_id_orders_order_id_fk" FOREIGN KEY ("order_id") REFERENCES "public"."orders"("order_id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "shipments" ADD CONSTRAINT "shipments_order_id_orders_order_id_fk" FOREIGN KEY ("order_id") REFERENCES "public"."orders"("order_id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "connection_requests_recent_idx" ON "connection_requests" USING btree ("connection_id","at");--> statement-breakpoint
CREATE UNIQUE INDEX "connections_whole_account_idx" ON "connections" USING btree ("merchant_id") WHERE "connections"."source" is null;--> statement-breakpoint
CREATE UNIQUE INDEX "connections_source_idx" ON "connections" USING btree ("merchant_id","source") WHERE "connections"."source" is not null;--> statement-breakpoint
CREATE INDEX "export_snapshots_window_idx" ON "export_snapshots" USING btree ("connection_id","window_start","window_end","created_at");--> statement-breakpoint
CREATE UNIQUE INDEX "orders_merchant_number_idx" ON "orders" USING btree ("merchant_id","order_number");--> statement-breakpoint
CREATE INDEX "orders_merchant_last_modified_idx" ON "orders" USING btree ("merchant_id","last_modified","order_id");--> statement-breakpoint
CREATE INDEX "orders_merchant_status_idx" ON "orders" USING btree ("merchant_id","status");--> statement-breakpoint
CREATE INDEX "orders_stuck_idx" ON "orders" USING btree ("stuck_reason") WHERE "orders"."stuck_reason" is not null;