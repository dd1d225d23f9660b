/**
 * The read model: the single source of table shapes (types are inferred from it, migrations are
 * generated from it by drizzle-kit). One schema serves PostgreSQL and PGlite.
 *
 * Order tables are a projection of the order workflows, written only by activities. Merchants are
 * owned by the API.
 */
import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  index,
  integer,
  jsonb,
  numeric,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
} from 'drizzle-orm/pg-core';
import type { OrderFact, OrderFactKind } from '../domain/facts';
import type { DeadlineOverrides } from '../domain/lifecycle';
import type { Address, OrderFlag, ShipmentLine, ShipmentNoticeDetails, TimelineEntry } from '../domain/order';

const createdAt = () => timestamp('created_at', { withTimezone: true, mode: 'string' }).notNull().defaultNow();
const money = (name: string) => numeric(name, { precision: 14, scale: 2 });

export const merchants = pgTable('merchants', {
  id: text('id').primaryKey(),
  name: text('name').notNull(),
  /** Per-merchant overrides of the order deadlines (durations such as "2h"); unset = the defaults. */
  deadlines: jsonb('deadlines').$type<DeadlineOverrides>().notNull().default({}),
  /** Keyed digest of the API key, `hmac:<hex>` (db/secret-digest.ts); a legacy plain SHA-256 until first used. */
  apiKeyHash: text('api_key_hash').notNull().unique(),
  apiKeyRotatedAt: timestamp('api_key_rotated_at', { withTimezone: true, mode: 'string' }),
  createdAt: createdAt(),
});

export const orders = pgTable(
  'orders',
  {
    /** The short stable OrderID ShipStation sees (never the workflow id). */
    orderId: text('order_id').primaryKey(),
    merchantId: text('merchant_id')
      .notNull()
      .references(() => merchants.id),
    orderNumber: text('order_number').notNull(),
    workflowId: text('workflow_id').notNull(),
    status: text('status').notNull(),
    source: text('source'),
    createHash: text('create_hash').notNull(),
    /** Workflow-side change counter; a projection with a lower version is stale and ignored. */
    version: integer('version').notNull(),
    /** Bumped by the workflow when ShipStation must learn something; moves last_modified. */
    modifiedRevision: integer('modified_revision').notNull(),
    /** Stamped by the database when a higher modified_revision commits (never by a workflow clock). */
    lastModified: timestamp('last_modified', { withTimezone: true, mode: 'string', precision: 6 }).notNull(),
    paid: boolean('paid').notNull(),
    orderDate: timestamp('order_date', { withTimezone: true, mode: 'string' }).notNull(),
    currency: text('currency').notNull(),
    shippingMethod: text('shipping_method'),
    paymentMethod: text('payment_method'),
    customerCode: text('customer_code'),
    customerEmail: text('customer_email'),
    billTo: jsonb('bill_to').$type<Address>().notNull(),
    shipTo: jsonb('ship_to').$type<Address>().notNull(),
    shippingAmount: money('shipping_amount').notNull(),
    taxAmount: money('tax_amount').notNull(),
    total: money('total').notNull(),
    customerNotes: text('customer_notes'),
    internalNotes: text('internal_notes'),
    gift: boolean('gift').notNull().default(false),
    giftMessage: text('gift_message'),
    customFields: jsonb('custom_fields').$type<string[]>().notNull().default([]),
    requestedWarehouse: text('requested_warehouse'),
    /** Where an on_hold order returns to when released. */
    heldFrom: text('held_from'),
    holdReason: text('hold_reason'),
    /** ShipStation has been served the order as a paid order at least once. */
    servedToShipStation: boolean('served_to_shipstation').notNull().default(false),
    cancelReason: text('cancel_reason'),
    stuckReason: text('stuck_reason'),
    stuckSince: timestamp('stuck_since', { withTimezone: true, mode: 'string' }),
    stuckDetail: text('stuck_detail'),
    flags: jsonb('flags').$type<OrderFlag[]>().notNull().default([]),
    timeline: jsonb('timeline').$type<TimelineEntry[]>().notNull().default([]),
    statusSince: timestamp('status_since', { withTimezone: true, mode: 'string' }).notNull(),
    /** When the current wait began (status entered or retried); deadlines count from here. */
    waitingSince: timestamp('waiting_since', { withTimezone: true, mode: 'string' }).notNull(),
    createdAt: createdAt(),
    updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'string' }).notNull().defaultNow(),
    /**
     * When the personal data of this closed order was purged (PERSONAL_DATA_DAYS, db/retention.ts);
     * null = never. Once set it stays: a later projection of the order is redacted again as it is
     * written, and the order is never served to ShipStation again.
     */
    personalDataPurgedAt: timestamp('personal_data_purged_at', { withTimezone: true, mode: 'string' }),
  },
  (t) => [
    uniqueIndex('orders_merchant_number_idx').on(t.merchantId, t.orderNumber),
    index('orders_merchant_last_modified_idx').on(t.merchantId, t.lastModified, t.orderId),
    index('orders_merchant_status_idx').on(t.merchantId, t.status),
    index('orders_stuck_idx').on(t.stuckReason).where(sql`${t.stuckReason} is not null`),
    // The purge's work list: closed (TERMINAL_STATUSES), not yet purged, oldest closure first. Purged
    // and open orders are not in it, so a run with nothing due costs one probe of a small index. The
    // purge's query repeats this predicate literally (db/retention.ts) so the planner can use it.
    index('orders_personal_data_due_idx')
      .on(t.statusSince)
      .where(sql`${t.personalDataPurgedAt} is null and ${t.status} in ('confirmed', 'canceled')`),
  ],
);

export const orderLines = pgTable(
  'order_lines',
  {
    orderId: text('order_id')
      .notNull()
      .references(() => orders.orderId, { onDelete: 'cascade' }),
    lineId: text('line_id').notNull(),
    position: integer('position').notNull(),
    sku: text('sku').notNull(),
    name: text('name').notNull(),
    quantity: integer('quantity').notNull(),
    shippedQuantity: integer('shipped_quantity').notNull().default(0),
    unitPrice: money('unit_price').notNull(),
    weightValue: numeric('weight_value', { precision: 12, scale: 4 }),
    weightUnit: text('weight_unit'),
    imageUrl: text('image_url'),
    location: text('location'),
    options: jsonb('options').$type<{ name: string; value: string }[]>().notNull().default([]),
    adjustment: boolean('adjustment').notNull().default(false),
  },
  (t) => [primaryKey({ columns: [t.orderId, t.lineId] })],
);

export const shipments = pgTable(
  'shipments',
  {
    /**
     * The pickup cursor. New shipments of one merchant are inserted one transaction at a time
     * (db/orders.ts), so ids commit in order and a reader walking `id > cursor` never skips one.
     */
    id: bigint('id', { mode: 'number' }).notNull().unique().generatedAlwaysAsIdentity(),
    orderId: text('order_id')
      .notNull()
      .references(() => orders.orderId, { onDelete: 'cascade' }),
    shipmentKey: text('shipment_key').notNull(),
    carrier: text('carrier').notNull(),
    service: text('service'),
    trackingNumber: text('tracking_number'),
    shipDate: text('ship_date'),
    labelCreatedAt: timestamp('label_created_at', { withTimezone: true, mode: 'string' }),
    shippingCost: money('shipping_cost'),
    lines: jsonb('lines').$type<ShipmentLine[]>().notNull(),
    /** Everything else the notice said: recipient, notify flag, notes, custom fields, warehouse. */
    details: jsonb('details').$type<ShipmentNoticeDetails>(),
    /** Units the notice reported that no line took (yet): a replay matches them again. */
    unmatched: jsonb('unmatched').$type<{ lineId?: string; sku?: string; quantity: number }[]>(),
    reportedVia: text('reported_via').notNull(),
    recordedAt: timestamp('recorded_at', { withTimezone: true, mode: 'string' }).notNull(),
    confirmationDeliveredAt: timestamp('confirmation_delivered_at', { withTimezone: true, mode: 'string' }),
    deliveryRejected: text('delivery_rejected'),
    /** The requested items of the notice that recorded it, so a repeat under its key with other items is flagged even after a reopen. */
    itemsFingerprint: text('items_fingerprint'),
  },
  // Ops find an order by its tracking number (the console's orders filter).
  (t) => [primaryKey({ columns: [t.orderId, t.shipmentKey] }), index('shipments_tracking_idx').on(t.trackingNumber)],
);

/**
 * How far ShipStation has read each merchant's orders: the latest end of an export window served.
 * A change committed after an export must be stamped beyond it, or ShipStation never sees it
 * (db/export-windows.ts explains the locking).
 */
export const exportWatermarks = pgTable('export_watermarks', {
  merchantId: text('merchant_id')
    .primaryKey()
    .references(() => merchants.id),
  servedUntil: timestamp('served_until', { withTimezone: true, mode: 'string', precision: 6 }).notNull(),
});

/**
 * A ShipStation Custom Store connection: what one ShipStation store polls. Its scope is the
 * merchant's whole account (source null) or one order source; scopes of a merchant never overlap.
 */
export const connections = pgTable(
  'connections',
  {
    id: text('id').primaryKey(),
    merchantId: text('merchant_id')
      .notNull()
      .references(() => merchants.id),
    source: text('source'),
    username: text('username').notNull().unique(),
    /** Keyed digest of the generated password (shown once), as for merchants.api_key_hash. */
    passwordHash: text('password_hash').notNull(),
    passwordRotatedAt: timestamp('password_rotated_at', { withTimezone: true, mode: 'string' }),
    disabledAt: timestamp('disabled_at', { withTimezone: true, mode: 'string' }),
    disabledReason: text('disabled_reason'),
    lastExportAt: timestamp('last_export_at', { withTimezone: true, mode: 'string' }),
    lastShipnotifyAt: timestamp('last_shipnotify_at', { withTimezone: true, mode: 'string' }),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('connections_whole_account_idx').on(t.merchantId).where(sql`${t.source} is null`),
    uniqueIndex('connections_source_idx').on(t.merchantId, t.source).where(sql`${t.source} is not null`),
  ],
);

/** The ordered ids one export window matched, so pages 1..N of that window never shift. */
export const exportSnapshots = pgTable(
  'export_snapshots',
  {
    id: text('id').primaryKey(),
    connectionId: text('connection_id')
      .notNull()
      .references(() => connections.id, { onDelete: 'cascade' }),
    windowStart: timestamp('window_start', { withTimezone: true, mode: 'string', precision: 3 }).notNull(),
    windowEnd: timestamp('window_end', { withTimezone: true, mode: 'string', precision: 3 }).notNull(),
    orderIds: jsonb('order_ids').$type<string[]>().notNull(),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'string', precision: 6 }).notNull().defaultNow(),
  },
  (t) => [index('export_snapshots_window_idx').on(t.connectionId, t.windowStart, t.windowEnd, t.createdAt)],
);

/** Every ShipStation call of a connection, secrets left out, kept REQUEST_LOG_DAYS days. */
export const connectionRequests = pgTable(
  'connection_requests',
  {
    id: integer('id').primaryKey().generatedAlwaysAsIdentity(),
    connectionId: text('connection_id')
      .notNull()
      .references(() => connections.id, { onDelete: 'cascade' }),
    at: timestamp('at', { withTimezone: true, mode: 'string', precision: 3 }).notNull().defaultNow(),
    action: text('action').notNull(),
    windowStart: timestamp('window_start', { withTimezone: true, mode: 'string', precision: 3 }),
    windowEnd: timestamp('window_end', { withTimezone: true, mode: 'string', precision: 3 }),
    page: integer('page'),
    orderNumber: text('order_number'),
    status: integer('status').notNull(),
    durationMs: integer('duration_ms').notNull(),
    error: text('error'),
    /** Small facts about the answer: orders served, pages, shipment key... */
    detail: jsonb('detail').$type<Record<string, unknown>>(),
  },
  (t) => [index('connection_requests_recent_idx').on(t.connectionId, t.at)],
);

/** The raw shipnotify notices as received (query with secrets masked), for later replay. */
export const shipmentNotices = pgTable(
  'shipment_notices',
  {
    connectionId: text('connection_id')
      .notNull()
      .references(() => connections.id, { onDelete: 'cascade' }),
    orderId: text('order_id')
      .notNull()
      .references(() => orders.orderId, { onDelete: 'cascade' }),
    shipmentKey: text('shipment_key').notNull(),
    receivedAt: timestamp('received_at', { withTimezone: true, mode: 'string' }).notNull().defaultNow(),
    timesReceived: integer('times_received').notNull().default(1),
    query: text('query').notNull(),
    contentType: text('content_type'),
    body: text('body').notNull(),
  },
  (t) => [primaryKey({ columns: [t.connectionId, t.orderId, t.shipmentKey] })],
);

/**
 * Facts waiting to reach their order's workflow, and those that did (the outbox of
 * runtime/fact-relay.ts). A ShipStation call writes its facts here in the same statement as the rest
 * of what it records and is answered; the relay forwards each fact, oldest first per order. Kept
 * after delivery for REQUEST_LOG_DAYS (what reached an order, and when), with personal data in the
 * payload removed once the order's personal data is purged.
 */
export const orderFacts = pgTable(
  'order_facts',
  {
    /** Arrival order: facts of one order are inserted one transaction at a time (db/order-facts.ts). */
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    orderId: text('order_id')
      .notNull()
      .references(() => orders.orderId, { onDelete: 'cascade' }),
    kind: text('kind').$type<OrderFactKind>().notNull(),
    fact: jsonb('fact').$type<OrderFact>().notNull(),
    /** Repeats of one fact under this key are stored once (domain/facts.ts); null = never collapsed. */
    dedupeKey: text('dedupe_key'),
    /** Who reported it: shipnotify, export, pickup ack, ops replay. */
    via: text('via').notNull(),
    receivedAt: timestamp('received_at', { withTimezone: true, mode: 'string', precision: 3 }).notNull().defaultNow(),
    state: text('state').$type<FactState>().notNull().default('pending'),
    /** Failed deliveries (an unreachable Temporal does not count: the relay pauses instead). */
    attempts: integer('attempts').notNull().default(0),
    /** Not tried again before this time (the fact's own backoff after it failed). */
    nextAttemptAt: timestamp('next_attempt_at', { withTimezone: true, mode: 'string', precision: 3 }).notNull().defaultNow(),
    /** A relay is delivering it until then; afterwards another may take it over. */
    leaseUntil: timestamp('lease_until', { withTimezone: true, mode: 'string', precision: 3 }),
    lastError: text('last_error'),
    /** When it left `pending` (delivered, not needed or discarded). */
    settledAt: timestamp('settled_at', { withTimezone: true, mode: 'string', precision: 3 }),
    /** Delivered by a signal to the running order, or by reopening the closed one (its new run id). */
    outcome: text('outcome'),
    reopenedRunId: text('reopened_run_id'),
    discardReason: text('discard_reason'),
  },
  (t) => [
    // The relay's work list: pending facts by order, oldest first. Small: delivered ones leave it.
    index('order_facts_pending_idx').on(t.orderId, t.id).where(sql`${t.state} = 'pending'`),
    // A discarded fact no longer counts: the same ack or page mark may be stored (and delivered) again.
    uniqueIndex('order_facts_dedupe_idx').on(t.orderId, t.dedupeKey).where(sql`${t.dedupeKey} is not null and ${t.state} <> 'discarded'`),
    index('order_facts_settled_idx').on(t.settledAt).where(sql`${t.settledAt} is not null`),
    index('order_facts_order_idx').on(t.orderId, t.id),
  ],
);

export type FactState = 'pending' | 'delivered' | 'not_needed' | 'discarded';

/**
 * How shipment confirmations reach an order source: pickup (the default: the source reads
 * GET /api/shipments and acks) or push (a signed webhook). Per merchant, optionally per source.
 */
export const confirmationTargets = pgTable(
  'confirmation_targets',
  {
    merchantId: text('merchant_id')
      .notNull()
      .references(() => merchants.id),
    /** '' = every source of the merchant without a target of its own. */
    source: text('source').notNull().default(''),
    mode: text('mode').$type<'pickup' | 'push'>().notNull(),
    webhookUrl: text('webhook_url'),
    /**
     * The webhook signing secret: `whsec_` + base64 of the HMAC-SHA256 key (Standard Webhooks). Kept in clear, unlike API keys and passwords: the
     * service must have it to sign every delivery, and a digest cannot sign.
     */
    signingSecret: text('signing_secret'),
    /**
     * The secret exactly as issued when it predates the Standard Webhooks encoding (base64url): the
     * deprecated X-Signature header is keyed with that string, so receivers checking it keep working.
     * Null for secrets issued since (X-Signature then uses signing_secret as issued).
     */
    legacySignatureKey: text('legacy_signature_key'),
    /** The secret before the last rotation: it keeps signing beside the new one until `previousSecretExpiresAt`. */
    previousSigningSecret: text('previous_signing_secret'),
    previousSecretExpiresAt: timestamp('previous_secret_expires_at', { withTimezone: true, mode: 'string' }),
    secretRotatedAt: timestamp('secret_rotated_at', { withTimezone: true, mode: 'string' }),
    updatedAt: timestamp('updated_at', { withTimezone: true, mode: 'string' }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.merchantId, t.source] })],
);

/**
 * Failed credential attempts per (identity, client address): the ShipStation username, or a fixed
 * identity for bearer keys ('(api key)', '(admin)'). Shared by every API process through the
 * database; a row counts the failures of one fixed window (api/credential-throttle.ts). Rows whose
 * window ended are worth nothing and are deleted by the hourly request-log purge.
 */
export const credentialFailures = pgTable(
  'credential_failures',
  {
    /** Capped in length: the username is whatever the caller sent. */
    identity: text('identity').notNull(),
    clientAddress: text('client_address').notNull(),
    failures: integer('failures').notNull(),
    windowStartedAt: timestamp('window_started_at', { withTimezone: true, mode: 'string', precision: 3 }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.identity, t.clientAddress] }), index('credential_failures_window_idx').on(t.windowStartedAt)],
);

export type ConfirmationTargetRow = typeof confirmationTargets.$inferSelect;
export type ConnectionRow = typeof connections.$inferSelect;
export type MerchantRow = typeof merchants.$inferSelect;
export type OrderRow = typeof orders.$inferSelect;
export type OrderLineRow = typeof orderLines.$inferSelect;
export type ShipmentRow = typeof shipments.$inferSelect;
export type OrderFactRow = typeof orderFacts.$inferSelect;
export type ShipmentNoticeRow = typeof shipmentNotices.$inferSelect;

/**
 * Signed-in ops console sessions (api/console/sessions.ts): server-side, so signing out or expiry
 * ends a session everywhere and several API processes share them. Only a digest of the cookie's
 * token is kept; the form token (CSRF) belongs to the session.
 */
export const consoleSessions = pgTable(
  'console_sessions',
  {
    tokenDigest: text('token_digest').primaryKey(),
    /** Self-declared at sign-in (behind the shared admin token); shown on order timelines. */
    name: text('name'),
    formToken: text('form_token').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true, mode: 'string', precision: 3 }).notNull().defaultNow(),
    expiresAt: timestamp('expires_at', { withTimezone: true, mode: 'string', precision: 3 }).notNull(),
    /** The outcome of the last action, shown once by the page it redirects to (never a secret). */
    flash: jsonb('flash').$type<{ kind: 'status' | 'alert'; text: string }>(),
  },
  (t) => [index('console_sessions_expires_idx').on(t.expiresAt)],
);
export type ConsoleSessionRow = typeof consoleSessions.$inferSelect;
