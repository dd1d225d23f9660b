/** The custom search attributes the Web UI and ops filter orders by (registered by `make dev`/tests). */
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const OrderStatusKey = defineSearchAttributeKey('OrderStatus', SearchAttributeType.KEYWORD);
export const MerchantIdKey = defineSearchAttributeKey('MerchantId', SearchAttributeType.KEYWORD);
export const OrderNumberKey = defineSearchAttributeKey('OrderNumber', SearchAttributeType.KEYWORD);
export const OrderSourceKey = defineSearchAttributeKey('OrderSource', SearchAttributeType.KEYWORD);
/** Set while the order is stuck, to the reason; absent otherwise. */
export const StuckReasonKey = defineSearchAttributeKey('StuckReason', SearchAttributeType.KEYWORD);
export const OrderStuckKey = defineSearchAttributeKey('OrderStuck', SearchAttributeType.BOOL);

export const ORDER_SEARCH_ATTRIBUTES = [
  OrderStatusKey,
  MerchantIdKey,
  OrderNumberKey,
  OrderSourceKey,
  StuckReasonKey,
  OrderStuckKey,
];
